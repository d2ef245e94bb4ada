/**
 * The VOD event model (docs/vod-protocol/events.md §4): parse the v3 events VOD delivers — PUSH callback bodies
 * and PULL `EventSet` entries alike — into normalised domain objects, key them for de-dupe, and
 * summarise what a finished procedure produced.
 *
 *   parseVodEvent(body)          → VodEvent (a discriminated union on `kind`), or throws VodEventError (400)
 *   parsePullEventsResponse(res) → one entry per pulled event, each parsed or failed on its own
 *   eventDedupeKey(event)        → the key its effects are recorded under exactly once
 *   summariseProcessing(event)   → renditions, cover, snapshots, sprite, … and SUCCESS | FAIL | PROCESSING
 *   newFileUploadFromMediaInfo(media), procedureStateChangedFromTaskDetail(detail)
 *                                → the event VOD's API answer stands for, when the backend asks VOD itself
 *   reviewVerdict(event), reviewCompleteFromTaskDetail(detail)
 *                                → what a ReviewAudioVideoComplete decides; the same event from DescribeTaskDetail
 *
 * The domain types are in `events.ts`, `media.ts` and `subtasks.ts`; the wire format (PascalCase,
 * nulls, PUSH and PULL forms) only in `wire/`. Callback authenticity (the URL token and `Sign`/`T`) is
 * `#lib/callback-auth`; check it before acting on anything parsed here.
 */
export { IGNORED_EVENT_TYPES } from './events.ts';
export type { FileDeletedEvent, NewFileUploadEvent, ProcedureStateChangedEvent, VodEvent } from './events.ts';
export type { MediaBasicInfo, MediaMetaData } from './media.ts';
export { MEDIA_PROCESS_TASK_FIELDS } from './subtasks.ts';
export { VodEventError } from './error.ts';
export { eventDedupeKey } from './dedupe.ts';
export { summariseProcessing, MISSING_OUTPUT, TASK_ABORTED, UNFINISHED_SUBTASK } from './summary.ts';
export { parsePullEventsResponse, parseVodEvent, parseVodEventJson } from './wire/envelope.ts';
export { newFileUploadFromMediaInfo, procedureStateChangedFromTaskDetail } from './wire/api-answers.ts';
export { MAX_FILES_PER_DELETION } from './wire/payloads.ts';
export { reviewVerdict } from './review.ts';
export type { ReviewAudioVideoCompleteEvent, ReviewOutput, ReviewSegment, ReviewVerdict } from './review.ts';
export { reviewCompleteFromTaskDetail } from './wire/review.ts';
