/**
 * The reviews step (after reconcile, on the same switch): what makes the content review lose nothing
 * when VOD's events or our own calls go missing (docs/content-review.md "The cleanup").
 *  - A pending review whose `review_check_after` has come: without a task, ReviewAudioVideo is called
 *    (its SessionId makes a repeat harmless: one task per file); with one, DescribeTaskDetail says how
 *    it ended and the verdict goes through the event path; still running, or VOD not reachable: asked
 *    again later (each wait doubling, at most PROCESSING_DEADLINE_SECONDS). A task VOD no longer knows
 *    is not restarted: the review is held for a person (nothing is published unreviewed).
 *  - BLOCKED uploads whose media VOD was not yet told to stop serving: ForbidMediaDistribution again.
 */
import { forbidBlockedMedia } from '#lib/blocked-media';
import { handleVodEvent } from '#lib/handle-vod-event';
import { startReview } from '#lib/start-review';
import { deferReviewCheck, type LeasedUpload } from '#lib/upload-batches';
import { UploadStatus } from '#lib/upload-lifecycle';
import { holdPendingReview } from '#lib/review-events';
import { getUpload, type StatusCause, updateUpload } from '#lib/upload-store';
import { isFinalTaskStatus, isUnknownTaskError } from '#lib/vod-api';
import { reviewCompleteFromTaskDetail } from '#lib/vod-event';
import { inBatches, type CleanupRun, type CleanupSummary } from './run.ts';

/** The failure recorded when VOD no longer knows the review task (it keeps tasks for three days). */
export const FORGOTTEN_REVIEW_TASK = 'TaskNotFound';

function defer(deps: CleanupRun, upload: LeasedUpload): Promise<void> {
  const settings = deps.config.cleanup;
  return deferReviewCheck(deps.db, upload.uploadId, new Date(deps.clock()), {
    minSeconds: Math.max(1, settings.uploadedRetryAfterSeconds),
    maxSeconds: settings.processingCheck.maxSeconds,
  });
}

/** Where a review still decides something; past them (FAILED, BLOCKED, DELETED…) it is moot. */
const UNDER_REVIEW: ReadonlySet<string> = new Set([
  UploadStatus.UPLOADED,
  UploadStatus.PROCESSING,
  UploadStatus.IN_REVIEW,
  UploadStatus.READY,
]);

/** One pending review: started, settled from VOD's answer, held, or looked at again later. */
async function reconcileReview(deps: CleanupRun, summary: CleanupSummary, upload: LeasedUpload): Promise<void> {
  // Nothing will be published: no review to start or ask about, and the row leaves the selection.
  if (!UNDER_REVIEW.has(upload.status)) {
    await updateUpload(deps.db, upload.uploadId, { reviewCheckAfter: null }, upload.status);
    return;
  }
  const review = upload.review;
  if (review?.state !== 'pending' || upload.fileId === null) return defer(deps, upload);
  const { log } = deps;
  if (review.taskId === undefined) {
    // The trigger was lost (or VOD was down then). A refusal holds the review inside startReview.
    const start = await startReview(deps, { uploadId: upload.uploadId, fileId: upload.fileId });
    if (!start.started && start.reason === 'refused') summary.reviewsResolved++;
    else if (start.started || (start.reason === 'session-exists' && start.taskId !== undefined)) summary.reviewsStarted++;
    else await defer(deps, upload);
    return;
  }
  let detail: Awaited<ReturnType<CleanupRun['vodApi']['taskDetail']>>;
  try {
    detail = await deps.vodApi.taskDetail(review.taskId);
  } catch (error) {
    if (isUnknownTaskError(error)) {
      const cause: StatusCause = {
        source: 'reconcile',
        detail: 'DescribeTaskDetail: review task unknown',
        taskId: review.taskId,
      };
      if (await holdPendingReview(deps.db, deps.config, upload.uploadId, FORGOTTEN_REVIEW_TASK, cause)) summary.reviewsResolved++;
      log.warn('review task unknown to VOD; the upload is held for a person', {
        uploadId: upload.uploadId,
        taskId: review.taskId,
      });
      return;
    }
    log.warn('could not ask VOD about a review; asked again later', { uploadId: upload.uploadId, taskId: review.taskId, error });
    return defer(deps, upload);
  }
  const event = isFinalTaskStatus(detail.Status) ? reviewCompleteFromTaskDetail(detail) : undefined;
  if (event) {
    const handled = await handleVodEvent(deps, event, { confirmWithVod: false, via: 'reconcile' });
    log.info('review verdict found by asking VOD', {
      uploadId: upload.uploadId,
      taskId: review.taskId,
      outcome: handled.outcome,
    });
  }
  // Settled when the event path recorded a verdict (it clears review_check_after); else look again later.
  const after = await getUpload(deps.db, upload.uploadId);
  if (event && after?.review?.state !== 'pending') summary.reviewsResolved++;
  else await defer(deps, upload);
}

/** The step. */
export async function reconcileReviews(deps: CleanupRun, summary: CleanupSummary): Promise<void> {
  await inBatches(deps, summary, { kind: 'review-due' }, (upload) => reconcileReview(deps, summary, upload));
  // BLOCKED, but ForbidMediaDistribution failed after the commit that blocked it: repeat it.
  await inBatches(deps, summary, { kind: 'blocked-unforbidden' }, async (upload) => {
    if (await forbidBlockedMedia(deps, upload)) summary.blockedForbidden++;
  });
}
