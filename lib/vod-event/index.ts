/**
 * The VOD event model (vod-protocol.md §4): parse the v3 events VOD delivers — PUSH callback bodies
 * and PULL `EventSet` entries alike — into normalised domain objects, key them for de-dupe, and
 * summarise what a finished procedure produced.
 *
 *   parseVodEvent(body)          → VodEvent (a discriminated union on `kind`), or throws VodEventError (400)
 *   parsePullEventsResponse(res) → one entry per pulled event, each parsed or failed on its own
 *   eventDedupeKey(event)        → the key its effects are recorded under exactly once
 *   summariseProcessing(event)   → renditions, cover, snapshots, sprite, … and SUCCESS | FAIL | PROCESSING
 *
 * Callback authenticity (the URL token and `Sign`/`T`) is `#lib/callback-auth`; check it before acting
 * on anything parsed here.
 */
import { VodEventError } from './error.ts';
import { isObject, parseEvent } from './wire.ts';
import type { VodEvent } from './events.ts';

export * from './events.ts';
export * from './media.ts';
export * from './subtasks.ts';
export { VodEventError } from './error.ts';
export { eventDedupeKey } from './dedupe.ts';
export { summariseProcessing, MISSING_OUTPUT, UNFINISHED_SUBTASK } from './summary.ts';
export type { ProcessingFailure, ProcessingOutcome, ProcessingSummary } from './summary.ts';

/**
 * One event, already decoded from JSON. Known types the backend does not act on come back as
 * `{ kind: 'Ignored' }` and types newer than this code as `{ kind: 'Unknown' }`: both are to be
 * acknowledged, never rejected. Top-level `Sign`/`T` (callback signing) are ignored here.
 */
export function parseVodEvent(input: unknown): VodEvent {
  return guard(() => parseEvent(input, []));
}

/** The raw body of a PUSH callback; malformed JSON is a VodEventError like any other bad event. */
export function parseVodEventJson(body: string | Uint8Array): VodEvent {
  return parseVodEvent(decodeJson(body));
}

export type PulledEvent =
  | { ok: true; event: VodEvent; eventHandle?: string }
  /** Keep the handle: whether to confirm a poison event (so it stops coming back) is the caller's call. */
  | { ok: false; error: VodEventError; eventHandle?: string };

export interface PulledEvents {
  requestId?: string;
  events: PulledEvent[];
}

/**
 * A `PullEvents` response, either as the API returns it (`{ Response: { EventSet, RequestId } }`) or as
 * the SDK resolves it (`{ EventSet, RequestId }`). `EventSet` may be null (no events). One malformed
 * entry does not stop the others from being processed.
 */
export function parsePullEventsResponse(input: unknown): PulledEvents {
  return guard(() => {
    const base = isObject(input) && isObject(input.Response) ? ['Response'] : [];
    const response = isObject(input) && isObject(input.Response) ? input.Response : input;
    if (!isObject(response)) throw new VodEventError('A PullEvents response must be a JSON object');
    const eventSet = response.EventSet ?? [];
    if (!Array.isArray(eventSet)) throw new VodEventError('must be an array or null', [...base, 'EventSet']);
    const events = eventSet.map((entry: unknown, i): PulledEvent => {
      const eventHandle = isObject(entry) && typeof entry.EventHandle === 'string' && entry.EventHandle !== '' ? entry.EventHandle : undefined;
      try {
        return { ok: true, event: guard(() => parseEvent(entry, [...base, 'EventSet', i])), eventHandle };
      } catch (error) {
        if (error instanceof VodEventError) return { ok: false, error, eventHandle };
        throw error;
      }
    });
    const requestId = typeof response.RequestId === 'string' ? response.RequestId : undefined;
    return { requestId, events };
  });
}

function decodeJson(body: string | Uint8Array): unknown {
  const text = typeof body === 'string' ? body : new TextDecoder('utf-8', { fatal: false }).decode(body);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new VodEventError('The request body is not valid JSON');
  }
}

/** Absurdly deep or cyclic input overflows the stack somewhere; that is a bad event, not a crash. */
function guard<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof RangeError) throw new VodEventError('The event is nested too deeply to read');
    throw error;
  }
}
