/**
 * The v3 event wire format (docs/vod-protocol/events.md §4; field lists from tencentcloud-sdk-nodejs-vod's
 * `vod_models.d.ts`): the field primitives every part of it is read with. The other files of `wire/`
 * translate one part of the payload each into the domain types of the event model: `media.ts`
 * (MediaBasicInfo, metadata, outputs), `subtasks.ts` (MediaProcessResultSet), `payloads.ts` (one per
 * EventType), `envelope.ts` (the event itself, PUSH and PULL), `api-answers.ts` (events built from
 * VOD API answers).
 *
 * Lenient where Tencent is inconsistent, strict where a wrong value would be dangerous:
 * - null, missing and (for optional strings) "" all mean "absent": PUSH omits nulls, PULL sends them,
 *   and real PUSH bodies have been seen carrying nulls too. Unknown fields are ignored.
 * - Numbers are numbers in every doc example; a numeric string ("600") is still accepted and
 *   converted, since rejecting a whole event over the quoting of a size would help no one.
 * - A subtask's `Input` is only VOD's echo of our own request and doc examples show malformed ones
 *   (`"Definition": [3, 6, 9]`), so anything unreadable there becomes undefined instead of an error.
 * - Every text is made safe for the database here, once, as it is read: U+0000 and unpaired surrogates
 *   (a client names its video in ApplyUploadUGC, and VOD hands the name on) become U+FFFD. PostgreSQL
 *   refuses both in jsonb (`\u0000`, an invalid escape) and U+0000 in text, so one such name would
 *   otherwise fail every write of its event: a 500 on each delivery, for ever (events.md §4.2).
 * - Strict: ids (FileId/TaskId must be strings — a JSON number would already have lost digits),
 *   statuses (an unrecognised status must never be read as success), and every URL we may hand to a
 *   client (http or https only).
 */
import * as z from 'zod';
import { TASK_NOTIFY_MODES, type TaskNotifyMode } from '#contract';
import { VodEventError, type EventPath } from '../error.ts';

/** Tencent ids (`5285890784273533167`, `1256768367-Procedure-475b…t2`): no spaces, quotes or slashes. */
const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
const ID_RULE = 'must be 1-128 letters, digits, ".", "_" or "-"';

/** U+0000 and unpaired UTF-16 surrogates, the code units no PostgreSQL text or jsonb value may hold. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `value` with every unstorable code unit replaced by U+FFFD (the replacement character). */
export function storableText(value: string): string {
  return value.replace(UNSTORABLE, '\uFFFD');
}

/** Any string VOD (or a client through VOD) supplies, made storable. */
export const safeString = z.string({ error: 'must be a string' }).transform(storableText);

export function isId(value: string): boolean {
  return ID_PATTERN.test(value);
}

export const id = z.string({ error: 'is required and must be a string' }).regex(ID_PATTERN, ID_RULE);
export const optionalText = safeString.nullish().transform((v) => (v ? v : undefined));
export const optionalId = optionalText.refine((v) => v === undefined || ID_PATTERN.test(v), ID_RULE);
export const text = safeString.nullish().transform((v) => v ?? '');
const numeric = z.union(
  // Bounded digits: a 400-digit string would become Infinity.
  [
    z.number(),
    z
      .string()
      .regex(/^\s*-?\d{1,16}(\.\d{1,16})?\s*$/)
      .transform(Number),
  ],
  { error: 'must be a number' },
);
export const optionalNumber = numeric.nullish().transform((v) => v ?? undefined);
export const numberOrZero = numeric.nullish().transform((v) => v ?? 0);

function isHttpUrl(value: string): boolean {
  if (!/^https?:\/\//i.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}
export const optionalUrl = optionalText.refine((v) => v === undefined || isHttpUrl(v), 'must be an http(s) URL');
export const urlList = z
  .array(optionalUrl)
  .nullish()
  .transform((urls) => (urls ?? []).filter((u): u is string => u !== undefined));

export function list<T extends z.ZodType>(item: T) {
  return z
    .array(item)
    .nullish()
    .transform((v): z.output<T>[] => v ?? []);
}

/** Timestamps are informational; VOD sends `0000-00-00T00:00:00Z` for "not recorded". */
export const timestamp = z
  .unknown()
  .optional()
  .transform((v) => (typeof v === 'string' && !v.startsWith('0000') && !Number.isNaN(Date.parse(v)) ? v : undefined));

export const notifyMode = z
  .unknown()
  .optional()
  .transform((v) => ((TASK_NOTIFY_MODES as readonly unknown[]).includes(v) ? (v as TaskNotifyMode) : undefined));

export const watermarkDefinitions = list(numeric).catch([]);

export function parseAt<S extends z.ZodType>(schema: S, value: unknown, path: EventPath): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw VodEventError.fromZod(result.error, path);
  return result.data;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Absurdly deep or cyclic input overflows the stack somewhere; that is a bad event, not a crash. */
export function guardDepth<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof RangeError) throw new VodEventError('The event is nested too deeply to read');
    throw error;
  }
}
