/**
 * What a VOD event does to an upload. One code path for PUSH callbacks (functions/vod-events) and
 * PULL events (the cleanup function's event pump):
 *
 * 1. Optionally confirm the event with the VOD API first (a leaked callback token must not be enough
 *    to fake a result): the API's view of the media or task replaces the pushed payload. Confirming never
 *    runs past the caller's deadline: a 503 then, with nothing applied.
 * 2. Claim the event's de-dupe key and move the upload forward, atomically. A duplicate does nothing; state
 *    only moves forward, so late or reordered events cannot undo progress. An event that changes one upload
 *    in one step takes two statements: read the upload, then claim and write only if the upload is still the
 *    version that was read (else read and decide again). The others (FileDeleted, a quota true-up, two
 *    steps in a row), or an upload changing under every attempt, take a transaction that locks the row.
 * 3. After the commit, start processing (ProcessMedia, lib/start-processing.ts) for a newly UPLOADED
 *    file and the content review (ReviewAudioVideo, lib/start-review.ts) for a file that has none yet,
 *    forbid a newly BLOCKED upload's media (lib/blocked-media.ts), and send the webhooks the change queued.
 * The review's rules (REVIEW_MODE) are lib/review-gate.ts; its verdicts are applied by lib/review-events.ts.
 */
import type { Config } from '#lib/config';
import type { Database, Queryable } from '#lib/db';
import {
  claimAndWrite,
  claimEventForUpload,
  type EventOutcome,
  type EventRecord,
  readEventUpload,
  recordOutcome,
  type UploadKeys,
} from '#lib/event-store';
import type { Logger } from '#lib/log';
import { decodeUploadContext } from '#lib/upload-context';
import { UploadStatus } from '#lib/upload-lifecycle';
import {
  findUploadForEvent,
  type StatusCause,
  type Upload,
  updateUpload,
  type UploadMedia,
  type UploadWrite,
} from '#lib/upload-store';
import { forbidBlockedMedia } from '#lib/blocked-media';
import { decideReviewComplete } from '#lib/review-events';
import { decideNewFileUpload } from '#lib/new-file-events';
import { startProcessing } from '#lib/start-processing';
import { startReview } from '#lib/start-review';
import { decideProcedureStateChanged } from '#lib/processing-events';
import { vodApi, type VodApi, type VodCalls } from '#lib/vod-api';
import { eventDedupeKey, type FileDeletedEvent, type VodEvent } from '#lib/vod-event';
import { confirmWithVod } from '#lib/confirm-event';
import { quotaTrueUp } from '#lib/quota-true-up';
import { truesUp } from '#lib/quota';
import { sendPendingWebhooks } from '#lib/webhooks';

export interface VodEventDeps {
  config: Config;
  db: Database;
  vod: VodCalls;
  log: Logger;
  /** Epoch ms by which the caller must answer; VOD retries stop before it. */
  deadline?: number;
}

/** VOD as the handling of one event asks it: in the configured sub-app, retried until the deadline. */
function vodFor(deps: VodEventDeps): VodApi {
  return vodApi(deps.vod, { subAppId: deps.config.vod.subAppId, deadline: deps.deadline });
}

export interface HandledEvent {
  kind: VodEvent['kind'];
  dedupeKey: string;
  duplicate: boolean;
  /** What the event did, for logs and the pump's summary; `duplicate` when it had been handled already. */
  outcome: EventOutcome | 'duplicate';
  uploadId?: string;
}

export interface Applied {
  outcome: EventOutcome;
  uploadId?: string;
  /** What the event writes to that upload, in order (one step, two for a block that skips a status). */
  writes?: UploadWrite[];
  /** Upload that became UPLOADED and should be processed now. */
  toProcess?: { uploadId: string; fileId: string };
  /** Upload whose review this transaction began (pending): ReviewAudioVideo now. */
  toReview?: { uploadId: string; fileId: string };
  /** Upload that became BLOCKED: its media must stop playing. */
  toForbid?: { uploadId: string; fileId: string | null };
}

export async function handleVodEvent(
  deps: VodEventDeps,
  event: VodEvent,
  options: { confirmWithVod: boolean; via?: StatusCause['via']; requestId?: string },
): Promise<HandledEvent> {
  const trusted = options.confirmWithVod ? await confirmWithVod({ ...deps, vod: vodFor(deps) }, event) : event;
  // Keyed on what is applied: two pushes that VOD confirms as the same state are one event.
  const dedupeKey = eventDedupeKey(trusted);

  const record: EventRecord = { dedupeKey, eventType: eventType(trusted), ...eventIds(trusted), outcome: 'pending' };
  const cause: StatusCause = {
    source: 'vod-event',
    detail: eventType(trusted),
    via: options.via,
    ...eventIds(trusted),
    requestId: options.requestId,
  };
  const result = (await applyUnlocked(deps, trusted, record, cause)) ?? (await applyLocked(deps, trusted, record, cause));

  const handled: HandledEvent = {
    kind: event.kind,
    dedupeKey,
    duplicate: result === DUPLICATE,
    outcome: result === DUPLICATE ? 'duplicate' : result.outcome,
    uploadId: result === DUPLICATE ? undefined : result.uploadId,
  };
  deps.log.info('vod event', { ...handled, eventType: eventType(event) });
  if (result === DUPLICATE) return handled;
  // Each never throws; what fails is left for the reconciler (processing, review) or the cleanup (forbid).
  await Promise.all([
    result.toProcess && startProcessing(deps, result.toProcess),
    result.toReview && startReview(deps, result.toReview),
    result.toForbid && forbidBlockedMedia(deps, result.toForbid),
  ]);
  // After the commit, within the caller's deadline; what is not sent now the cleanup sends.
  if (result.uploadId) await sendPendingWebhooks(deps, result.uploadId);
  return handled;
}

const DUPLICATE = Symbol('duplicate');

/** Reads before giving up on the unlocked path: each miss means the upload changed between read and write. */
const UNLOCKED_ATTEMPTS = 3;

/**
 * The event's effect without a transaction: read, decide, then claim and write in one statement while the
 * upload is as read. Undefined: the locked path must do it (see the file's header).
 */
async function applyUnlocked(
  deps: VodEventDeps,
  event: VodEvent,
  record: EventRecord,
  cause: StatusCause,
): Promise<Applied | typeof DUPLICATE | undefined> {
  if (event.kind === 'FileDeleted' || (event.kind === 'NewFileUpload' && truesUp(deps.config))) return undefined;
  // No quota to true up (checked above): the true-up answers without the database.
  const check: TrueUp = (upload, media) => quotaTrueUp(deps.db, deps.config, upload, media);
  for (let attempt = 0; attempt < UNLOCKED_ATTEMPTS; attempt++) {
    const read = await readEventUpload(deps.db, record.dedupeKey, uploadKeys(event));
    if (read.handled) return DUPLICATE;
    const decided = await decide(deps.config, check, event, read.seen?.upload, cause);
    const writes = decided.writes ?? [];
    if (writes.length > 1) return undefined;
    const outcome = { ...record, outcome: decided.outcome, uploadId: decided.uploadId };
    const written = await claimAndWrite(deps.db, outcome, read.seen, writes[0]);
    if (written === 'claimed') return decided;
    if (written === 'duplicate') return DUPLICATE;
  }
  return undefined;
}

/** The event's effect in one transaction: claim the key and lock the upload, decide, write, record. */
function applyLocked(
  deps: VodEventDeps,
  event: VodEvent,
  record: EventRecord,
  cause: StatusCause,
): Promise<Applied | typeof DUPLICATE> {
  return deps.db.transaction(async (tx) => {
    const claim = await claimEventForUpload(tx, record, uploadKeys(event));
    if (!claim.claimed) return DUPLICATE;
    const check: TrueUp = (upload, media) => quotaTrueUp(tx, deps.config, upload, media);
    const applied =
      event.kind === 'FileDeleted'
        ? await applyFileDeleted(tx, event, cause)
        : await decide(deps.config, check, event, claim.upload, cause);
    for (const write of applied.writes ?? []) await updateUpload(tx, applied.uploadId!, write.patch, undefined, write.cause);
    await recordOutcome(tx, record.dedupeKey, applied);
    return applied;
  });
}

function eventType(event: VodEvent): string {
  return event.kind === 'Ignored' || event.kind === 'Unknown' ? event.eventType : event.kind;
}

function eventIds(event: VodEvent): { fileId?: string; taskId?: string } {
  switch (event.kind) {
    case 'NewFileUpload':
      return { fileId: event.fileId };
    case 'ReviewAudioVideoComplete':
    case 'ProcedureStateChanged':
      return { fileId: event.fileId, taskId: event.taskId };
    case 'FileDeleted':
      return { fileId: event.fileIds[0] };
    case 'Ignored':
      return { taskId: event.taskId };
    case 'Unknown':
      return {};
  }
}

/** The upload an event names, for the claim to find: none for FileDeleted (several) and the others. */
function uploadKeys(event: VodEvent): UploadKeys {
  switch (event.kind) {
    case 'NewFileUpload':
      return { uploadId: decodeUploadContext(event.sourceContext)?.uploadId };
    case 'ProcedureStateChanged':
      return { uploadId: decodeUploadContext(event.sessionContext)?.uploadId, fileId: event.fileId, taskId: event.taskId };
    case 'ReviewAudioVideoComplete':
      // Its task id is the review's, never an upload's task_id: the context, else the file.
      return { uploadId: decodeUploadContext(event.sessionContext)?.uploadId, fileId: event.fileId };
    default:
      return {};
  }
}

/** Why an arriving file does not fit its user's quotas, if it does not (lib/quota-true-up.ts). */
export type TrueUp = (upload: Upload, media: UploadMedia) => Promise<string | undefined>;

/** What an event does to the upload it names, as that upload is now: the outcome and the writes. */
function decide(
  config: Config,
  trueUp: TrueUp,
  event: Exclude<VodEvent, FileDeletedEvent>,
  upload: Upload | undefined,
  cause: StatusCause,
): Promise<Applied> {
  switch (event.kind) {
    case 'NewFileUpload':
      return decideNewFileUpload(config, trueUp, event, upload, cause);
    case 'ProcedureStateChanged':
      return Promise.resolve(decideProcedureStateChanged(config, event, upload, cause));
    case 'ReviewAudioVideoComplete':
      return Promise.resolve(decideReviewComplete(config, event, upload, cause));
    case 'Ignored':
      return Promise.resolve({ outcome: 'ignored' });
    case 'Unknown':
      return Promise.resolve({ outcome: 'unknown-event-type' });
  }
}

async function applyFileDeleted(tx: Queryable, event: FileDeletedEvent, cause: StatusCause): Promise<Applied> {
  const deleted: string[] = [];
  // Rows are locked in file-id order, so two events naming the same files never deadlock each other.
  const deletions = [...event.deletions].sort((a, b) => (a.fileId < b.fileId ? -1 : a.fileId > b.fileId ? 1 : 0));
  for (const deletion of deletions) {
    if (!deletion.entireMedia) continue; // only some derived files went; the media is still there
    const upload = await findUploadForEvent(tx, { fileId: deletion.fileId });
    if (!upload || upload.status === UploadStatus.DELETED) continue;
    await updateUpload(tx, upload.uploadId, { status: UploadStatus.DELETED }, undefined, cause);
    deleted.push(upload.uploadId);
  }
  return {
    outcome: deleted.length > 0 ? `${UploadStatus.DELETED}:${deleted.length}` : 'no-upload-deleted',
    uploadId: deleted[0],
  };
}
