/**
 * The event envelope (docs/vod-protocol/events.md §4.1; rules in `fields.ts`): `EventType`, the payload field it
 * names, and `EventHandle`, in both delivery forms — a PUSH callback body, and a PULL `PullEvents`
 * response whose `EventSet` holds one such event per entry. Top-level `Sign`/`T` (callback signing)
 * are ignored here.
 */
import * as z from 'zod';
import { contentDigest } from '../dedupe.ts';
import { VodEventError, type EventPath } from '../error.ts';
import { IGNORED_EVENT_TYPES, type IgnoredEventType, type PulledEvent, type PulledEvents, type VodEvent } from '../events.ts';
import { guardDepth, isId, isObject, optionalText, parseAt } from './fields.ts';
import { readFileDeletion, readFileUpload, readProcedureState } from './payloads.ts';
import { readReviewTask } from './review.ts';

const EVENT_TYPE_PATTERN = /^[A-Za-z0-9_]{1,100}$/;

export const envelope = z.looseObject({
  EventType: z
    .string({ error: 'is required and must be a string' })
    .regex(EVENT_TYPE_PATTERN, 'must be 1-100 letters, digits or "_"'),
  EventHandle: optionalText,
});

/**
 * One event, already decoded from JSON. Known types the backend does not act on come back as
 * `{ kind: 'Ignored' }` and types newer than this code as `{ kind: 'Unknown' }`: both are to be
 * acknowledged, never rejected.
 */
export function parseVodEvent(input: unknown): VodEvent {
  return guardDepth(() => parseEvent(input, []));
}

/** The raw body of a PUSH callback; malformed JSON is a VodEventError like any other bad event. */
export function parseVodEventJson(body: string | Uint8Array): VodEvent {
  return parseVodEvent(decodeJson(body));
}

/**
 * A `PullEvents` response, either as the API returns it (`{ Response: { EventSet, RequestId } }`) or as
 * the SDK resolves it (`{ EventSet, RequestId }`). `EventSet` may be null (no events). One malformed
 * entry does not stop the others from being processed.
 */
export function parsePullEventsResponse(input: unknown): PulledEvents {
  return guardDepth(() => {
    const base = isObject(input) && isObject(input.Response) ? ['Response'] : [];
    const response = isObject(input) && isObject(input.Response) ? input.Response : input;
    if (!isObject(response)) throw new VodEventError('A PullEvents response must be a JSON object');
    const eventSet = response.EventSet ?? [];
    if (!Array.isArray(eventSet)) throw new VodEventError('must be an array or null', [...base, 'EventSet']);
    const events = eventSet.map((entry: unknown, i): PulledEvent => {
      const eventHandle =
        isObject(entry) && typeof entry.EventHandle === 'string' && entry.EventHandle !== '' ? entry.EventHandle : undefined;
      try {
        return { ok: true, event: guardDepth(() => parseEvent(entry, [...base, 'EventSet', i])), eventHandle };
      } catch (error) {
        if (error instanceof VodEventError) return { ok: false, error, eventHandle };
        throw error;
      }
    });
    const requestId = typeof response.RequestId === 'string' ? response.RequestId : undefined;
    return { requestId, events };
  });
}

/** Parse `input` (a decoded JSON value) as one v3 event: a PUSH body or a PULL `EventSet` entry. */
function parseEvent(input: unknown, path: EventPath): VodEvent {
  if (!isObject(input))
    throw path.length === 0
      ? new VodEventError('A VOD event must be a JSON object')
      : new VodEventError('must be a JSON object', path);
  const { EventType: eventType, EventHandle: eventHandle } = parseAt(envelope, input, path);

  switch (eventType) {
    case 'NewFileUpload':
      return { kind: 'NewFileUpload', eventHandle, ...payloadAt(readFileUpload, input, 'FileUploadEvent', eventType, path) };
    case 'ProcedureStateChanged':
      return {
        kind: 'ProcedureStateChanged',
        eventHandle,
        ...payloadAt(readProcedureState, input, 'ProcedureStateChangeEvent', eventType, path),
      };
    case 'FileDeleted':
      return { kind: 'FileDeleted', eventHandle, ...payloadAt(readFileDeletion, input, 'FileDeleteEvent', eventType, path) };
    case 'ReviewAudioVideoComplete':
      return {
        kind: 'ReviewAudioVideoComplete',
        eventHandle,
        ...payloadAt(readReviewTask, input, 'ReviewAudioVideoCompleteEvent', eventType, path),
      };
  }
  if ((IGNORED_EVENT_TYPES as readonly string[]).includes(eventType)) {
    return {
      kind: 'Ignored',
      eventType: eventType as IgnoredEventType,
      eventHandle,
      taskId: payloadTaskId(input),
      contentDigest: contentDigest(input),
    };
  }
  return { kind: 'Unknown', eventType, eventHandle, contentDigest: contentDigest(input) };
}

/** The payload field named for the EventType must be there: an event without it says nothing. */
function payloadAt<T>(
  read: (payload: unknown, path: EventPath) => T,
  input: Record<string, unknown>,
  field: string,
  eventType: string,
  path: EventPath,
): T {
  const payload = input[field];
  if (payload === null || payload === undefined)
    throw new VodEventError(`is required when EventType is ${eventType}`, [...path, field]);
  return read(payload, [...path, field]);
}

/** The task id of an event not acted on, when it is one: it is stored, so it must look like an id. */
function payloadTaskId(input: Record<string, unknown>): string | undefined {
  for (const value of Object.values(input)) {
    if (isObject(value) && typeof value.TaskId === 'string' && isId(value.TaskId)) return value.TaskId;
  }
  return undefined;
}

function decodeJson(body: string | Uint8Array): unknown {
  const text = typeof body === 'string' ? body : new TextDecoder('utf-8', { fatal: false }).decode(body);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new VodEventError('The request body is not valid JSON');
  }
}
