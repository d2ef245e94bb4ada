/**
 * De-dupe keys: the same event, retried, pulled again or delivered in the other mode, must map to the
 * same key; two different updates must not.
 */
import { createHash } from 'node:crypto';
import type { VodEvent } from './events.ts';
import { reviewVerdict } from './review.ts';
import type { MediaProcessResult } from './subtasks.ts';

/** Top-level fields that change from one delivery of an event to the next. */
const DELIVERY_FIELDS = new Set(['EventHandle', 'Sign', 'T']);

/**
 * JSON with sorted keys and null/undefined members dropped, so that key order and null-vs-missing
 * (PULL sends nulls, PUSH omits them) do not change it.
 */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .sort()
      .filter((key) => record[key] !== null && record[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${members.join(',')}}`;
  }
  // undefined, functions and symbols cannot come from JSON; map them like JSON.stringify does in arrays.
  return JSON.stringify(value) ?? 'null';
}

/** 128 bits of SHA-256: plenty to tell events apart, short enough for a key column. */
function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** Digest of a raw event body, ignoring the per-delivery fields. */
export function contentDigest(body: Record<string, unknown>): string {
  const content = Object.fromEntries(Object.entries(body).filter(([key]) => !DELIVERY_FIELDS.has(key)));
  return digest(canonicalJson(content));
}

/**
 * The key under which an event's effects are recorded once. It is built from what the event says,
 * never from its EventHandle: an EventHandle behaves like a receipt handle (an event not confirmed
 * within 30 s "can be fetched again", and the emulator hands out a fresh handle each time), so a
 * handle-based key would let a redelivered event through twice. The content key is also the same for
 * the PUSH and the PULL form of an event.
 * - `NewFileUpload:<fileId>`;
 * - `ProcedureStateChanged:<taskId>:<status>`; a PROCESSING (Change-mode partial) update also carries a
 *   digest of its subtask states, so two different partial updates are not collapsed into one;
 * - `FileDeleted:<digest of the files and parts deleted>`;
 * - `ReviewAudioVideoComplete:<taskId>:<status>`, and for FINISH `:<verdict>` (pass, review, block, failed):
 *   the same task with the same verdict is one event, a different verdict (a re-review) is not;
 * - `<EventType>:<digest of the body>` for ignored and unknown events.
 */
export function eventDedupeKey(event: VodEvent): string {
  switch (event.kind) {
    case 'NewFileUpload':
      return `NewFileUpload:${event.fileId}`;
    case 'ProcedureStateChanged': {
      const key = `ProcedureStateChanged:${event.taskId}:${event.status}`;
      return event.status === 'PROCESSING' ? `${key}:${digest(subtaskStates(event.results))}` : key;
    }
    case 'FileDeleted': {
      const deletions = event.deletions
        .map(
          (d) =>
            `${d.fileId}=${d.parts
              .map((p) => `${p.type}/${p.definition}`)
              .sort()
              .join('+')}`,
        )
        .sort();
      return `FileDeleted:${digest(deletions.join(','))}`;
    }
    case 'Ignored':
    case 'Unknown':
      return `${event.eventType}:${event.contentDigest}`;
    case 'ReviewAudioVideoComplete': {
      const key = `ReviewAudioVideoComplete:${event.taskId}:${event.status}`;
      return event.status === 'FINISH' ? `${key}:${reviewVerdict(event).outcome}` : key;
    }
  }
}

function subtaskStates(results: readonly MediaProcessResult[]): string {
  return results
    .map((r) =>
      r.type === 'Unknown'
        ? [r.rawType, '', r.status ?? '', r.progress, r.errCodeExt].join('|')
        : [r.type, r.input.definition ?? '', r.status, r.progress, r.errCodeExt].join('|'),
    )
    .sort()
    .join(',');
}
