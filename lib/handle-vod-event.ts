/**
 * What a VOD event does to an upload. One code path for PUSH callbacks (functions/vod-events) and
 * PULL events (the cleanup function's event pump):
 *
 * 1. Optionally confirm the event with the VOD API first (a leaked callback token must not be enough
 *    to fake a result): the API's view of the media or task replaces the pushed payload. Confirming never
 *    runs past the caller's deadline: a 503 then, with nothing applied.
 * 2. In one transaction: claim the event's de-dupe key, then move the upload forward. A duplicate does
 *    nothing; state only moves forward, so late or reordered events cannot undo progress.
 * 3. After the commit, start processing (ProcessMedia, lib/start-processing.ts) for a newly UPLOADED
 *    file and the content review (ReviewAudioVideo, lib/start-review.ts) for a file that has none yet,
 *    forbid a newly BLOCKED upload's media (lib/blocked-media.ts), and send the webhooks the change queued.
 * The review's rules (REVIEW_MODE) are lib/review-gate.ts; its verdicts are applied by lib/review-events.ts.
 */
import type { Config } from '#lib/config';
import type { Database, Queryable } from '#lib/db';
import { claimEventForUpload, recordOutcome, type EventOutcome, type UploadKeys } from '#lib/event-store';
import type { Logger } from '#lib/log';
import { mediaRejection } from '#lib/processing-plan';
import { decodeUploadContext } from '#lib/upload-context';
import { isFinal, UploadStatus } from '#lib/upload-lifecycle';
import { findUploadForEvent, type StatusCause, type Upload, updateUpload, type UploadMedia } from '#lib/upload-store';
import { forbidBlockedMedia } from '#lib/blocked-media';
import { applyReviewComplete, reviewStartPatch } from '#lib/review-events';
import { startProcessing } from '#lib/start-processing';
import { startReview } from '#lib/start-review';
import { applyProcedureStateChanged } from '#lib/processing-events';
import { vodApi, type VodApi, type VodCalls } from '#lib/vod-api';
import { eventDedupeKey, type FileDeletedEvent, type NewFileUploadEvent, type VodEvent } from '#lib/vod-event';
import { confirmWithVod } from '#lib/confirm-event';
import { quotaTrueUp } from '#lib/quota-true-up';
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

  const result = await deps.db.transaction(async (tx) => {
    // The claim also finds and locks the event's upload (one statement; FileDeleted finds its own).
    const record = { dedupeKey, eventType: eventType(trusted), ...eventIds(trusted), outcome: 'pending' as const };
    const claim = await claimEventForUpload(tx, record, uploadKeys(trusted));
    if (!claim.claimed) return undefined;
    const cause: StatusCause = {
      source: 'vod-event',
      detail: eventType(trusted),
      via: options.via,
      ...eventIds(trusted),
      requestId: options.requestId,
    };
    const applied = await apply(tx, deps, trusted, claim.upload, cause);
    await recordOutcome(tx, dedupeKey, applied);
    return applied;
  });

  const handled: HandledEvent = {
    kind: event.kind,
    dedupeKey,
    duplicate: result === undefined,
    outcome: result?.outcome ?? 'duplicate',
    uploadId: result?.uploadId,
  };
  deps.log.info('vod event', { ...handled, eventType: eventType(event) });
  // Each never throws; what fails is left for the reconciler (processing, review) or the cleanup (forbid).
  await Promise.all([
    result?.toProcess && startProcessing(deps, result.toProcess),
    result?.toReview && startReview(deps, result.toReview),
    result?.toForbid && forbidBlockedMedia(deps, result.toForbid),
  ]);
  // After the commit, within the caller's deadline; what is not sent now the cleanup sends.
  if (result?.uploadId) await sendPendingWebhooks(deps, result.uploadId);
  return handled;
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

function apply(
  tx: Queryable,
  deps: VodEventDeps,
  event: VodEvent,
  upload: Upload | undefined,
  cause: StatusCause,
): Promise<Applied> {
  switch (event.kind) {
    case 'NewFileUpload':
      return applyNewFileUpload(tx, deps, event, upload, cause);
    case 'ProcedureStateChanged':
      return applyProcedureStateChanged(tx, deps.config, event, upload, cause);
    case 'FileDeleted':
      return applyFileDeleted(tx, event, cause);
    case 'ReviewAudioVideoComplete':
      return applyReviewComplete(tx, deps.config, event, upload, cause);
    case 'Ignored':
      return Promise.resolve({ outcome: 'ignored' });
    case 'Unknown':
      return Promise.resolve({ outcome: 'unknown-event-type' });
  }
}

/** The metadata kept with an upload: what a viewer or an app needs, not VOD's whole record. */
function mediaSummary(event: NewFileUploadEvent): UploadMedia {
  const meta = event.metaData;
  const video = meta?.videoStreams[0];
  return {
    name: event.media.name,
    type: event.media.type,
    mediaUrl: event.media.mediaUrl,
    coverUrl: event.media.coverUrl || undefined,
    size: meta?.size,
    duration: meta?.duration,
    width: meta?.width,
    height: meta?.height,
    rotate: meta?.rotate,
    bitrate: meta?.bitrate,
    videoCodec: video?.codec,
    fps: video?.fps,
    audioCodec: meta?.audioStreams[0]?.codec,
  };
}

async function applyNewFileUpload(
  tx: Queryable,
  deps: VodEventDeps,
  event: NewFileUploadEvent,
  upload: Upload | undefined,
  cause: StatusCause,
): Promise<Applied> {
  if (!decodeUploadContext(event.sourceContext)) return { outcome: 'not-ours' };
  if (!upload) return { outcome: 'unknown-upload' };
  const uploadId = upload.uploadId;
  // A reusable signature can carry a second file into the same upload: that file is an orphan.
  if (upload.fileId && upload.fileId !== event.fileId) return { outcome: 'extra-file', uploadId };

  const media = mediaSummary(event);
  if (upload.status !== UploadStatus.ISSUED) {
    // Processing got here first (a procedure's events can overtake this one) or the upload expired.
    // A file for an upload its owner deleted is nobody's either: the cleanup deletes it as an orphan.
    if (upload.status === UploadStatus.EXPIRED || upload.status === UploadStatus.DELETED)
      return { outcome: 'late-upload', uploadId };
    // Processing reported first: the file's real size and duration still face the quotas.
    // (Processed and waiting for the review counts as finished, as READY does.)
    const settled = upload.media || isFinal(upload.status) || upload.processedAt;
    const overQuota = settled ? undefined : await quotaTrueUp(tx, deps.config, upload, media);
    if (overQuota) {
      await updateUpload(
        tx,
        uploadId,
        {
          status: UploadStatus.REJECTED,
          fileId: upload.fileId ?? event.fileId,
          media,
          error: { code: 'QuotaExceeded', message: overQuota },
        },
        undefined,
        cause,
      );
      return { outcome: UploadStatus.REJECTED, uploadId };
    }
    // Processing reported first and, with its review never begun (REVIEW_MODE turned on since), begins it now.
    const fileId = upload.fileId ?? event.fileId;
    const review = isFinal(upload.status) ? undefined : reviewStartPatch(deps.config, upload);
    await updateUpload(tx, uploadId, { fileId, media: upload.media ?? media, ...review });
    return { outcome: 'metadata', uploadId, toReview: review && { uploadId, fileId } };
  }

  // Media outside the limits first; only a file within them is weighed against the quotas.
  const rejection = mediaRejection(deps.config.mediaRules, { basicInfo: event.media, metaData: event.metaData });
  const overQuota = rejection ? undefined : await quotaTrueUp(tx, deps.config, upload, media);
  if (rejection || overQuota) {
    const error = rejection ? { code: 'MediaRejected', message: rejection } : { code: 'QuotaExceeded', message: overQuota! };
    await updateUpload(tx, uploadId, { status: UploadStatus.REJECTED, fileId: event.fileId, media, error }, undefined, cause);
    return { outcome: UploadStatus.REJECTED, uploadId };
  }
  const review = reviewStartPatch(deps.config, upload);
  const toReview = review && { uploadId, fileId: event.fileId };
  if (upload.review?.state === 'blocked') {
    // The review's block came before this event (its verdict found the ISSUED upload): blocked at once,
    // never processed.
    await updateUpload(tx, uploadId, { status: UploadStatus.UPLOADED, fileId: event.fileId, media }, undefined, cause);
    await updateUpload(tx, uploadId, { status: UploadStatus.BLOCKED }, undefined, cause);
    return { outcome: UploadStatus.BLOCKED, uploadId, toForbid: { uploadId, fileId: event.fileId } };
  }
  if (event.procedureTaskId) {
    await updateUpload(
      tx,
      uploadId,
      {
        status: UploadStatus.PROCESSING,
        fileId: event.fileId,
        taskId: event.procedureTaskId,
        media,
        ...review,
      },
      undefined,
      cause,
    );
    return { outcome: UploadStatus.PROCESSING, uploadId, toReview };
  }
  await updateUpload(tx, uploadId, { status: UploadStatus.UPLOADED, fileId: event.fileId, media, ...review }, undefined, cause);
  return { outcome: UploadStatus.UPLOADED, uploadId, toProcess: { uploadId, fileId: event.fileId }, toReview };
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
