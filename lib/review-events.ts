/**
 * What the content review does in the event path (REVIEW_MODE gate or async; rules in lib/review-gate.ts):
 * an upload's review begins (`pending`) in the transaction that gives it its file, and a
 * ReviewAudioVideoComplete event records VOD's verdict and moves the status as the gate says. The
 * verdict's upload is the one its SessionContext names (startReview sets it), else the one holding its file.
 */
import type { Config } from '#lib/config';
import type { Database } from '#lib/db';
import type { Applied } from '#lib/handle-vod-event';
import { initialReview, reviewAfterVerdict, statusAfterReview } from '#lib/review-gate';
import { UploadStatus } from '#lib/upload-lifecycle';
import { getUpload, type StatusCause, type Upload, type UploadPatch, type UploadReview, updateUpload } from '#lib/upload-store';
import { reviewVerdict, type ReviewAudioVideoCompleteEvent } from '#lib/vod-event';

/** Statuses a verdict can no longer matter to: the upload failed, was refused, expired or is gone. */
const PAST_REVIEW = new Set<UploadStatus>([
  UploadStatus.FAILED,
  UploadStatus.REJECTED,
  UploadStatus.EXPIRED,
  UploadStatus.DELETED,
]);

/**
 * The patch that begins an upload's review when it has none (gate, async): `pending`, and when the
 * reconciler is to look at it if no verdict came (UPLOADED_RETRY_AFTER_SECONDS). Undefined: nothing to begin.
 */
export function reviewStartPatch(config: Config, upload: Upload): Pick<UploadPatch, 'review' | 'reviewCheckAfter'> | undefined {
  const review = upload.review === null ? initialReview(config.review.mode) : null;
  if (!review) return undefined;
  return { review, reviewCheckAfter: new Date(Date.now() + config.cleanup.uploadedRetryAfterSeconds * 1000) };
}

/** What a review verdict does (lib/handle-vod-event.ts writes it): the review, then the status the gate allows. */
export function decideReviewComplete(
  config: Config,
  event: ReviewAudioVideoCompleteEvent,
  upload: Upload | undefined,
  cause: StatusCause,
): Applied {
  // REVIEW_MODE off: a review nobody asked for (or asked for before the mode changed) decides nothing.
  if (config.review.mode === 'off') return { outcome: 'ignored' };
  if (!upload) return { outcome: 'unknown-upload' };
  const uploadId = upload.uploadId;
  if (upload.fileId && upload.fileId !== event.fileId) return { outcome: 'other-file', uploadId };
  if (PAST_REVIEW.has(upload.status)) {
    // Nothing to publish any more: the reconciler need not ask about this review again.
    return { outcome: 'stale', uploadId, writes: [{ patch: { reviewCheckAfter: null } }] };
  }
  const change = reviewAfterVerdict(upload.review, reviewVerdict(event), event.taskId);
  if (!change.changed) return { outcome: change.reason, uploadId };
  const status = statusAfterReview(config.review.mode, upload.status, upload.processedAt !== null, change.review);
  return {
    outcome: status ?? `review:${change.review.state}`,
    uploadId,
    writes: [{ patch: { review: change.review, reviewCheckAfter: null, status }, cause }],
    toForbid: status === UploadStatus.BLOCKED ? { uploadId, fileId: upload.fileId } : undefined,
  };
}

/**
 * Holds a still-pending review for a person when VOD cannot give a verdict (it refused the review, or forgot
 * its task), in one transaction on the locked row: nothing is published unreviewed. In gate mode an upload
 * whose processing already finished then waits as IN_REVIEW (before that, processing success finds the
 * review held). True when it did.
 */
export async function holdPendingReview(
  db: Database,
  config: Config,
  uploadId: string,
  failure: string,
  cause: StatusCause,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const upload = await getUpload(tx, uploadId, { forUpdate: true });
    if (upload?.review?.state !== 'pending') return false;
    const review: UploadReview = { ...upload.review, state: 'held', failure };
    const status = statusAfterReview(config.review.mode, upload.status, upload.processedAt !== null, review);
    const patch: UploadPatch = { review, reviewCheckAfter: null, ...(status ? { status } : {}) };
    return updateUpload(tx, uploadId, patch, upload.status, cause);
  });
}
