/**
 * What a ProcedureStateChanged event does to its upload (lib/handle-vod-event.ts reads or locks the upload,
 * then writes what this decides): progress while PROCESSING, then READY with what processing produced, FAILED
 * with why, or REJECTED for a file VOD cannot read as video. With the content review on (REVIEW_MODE,
 * lib/review-gate.ts) success is READY only as the review allows: else PROCESSING (processed, waiting for
 * the verdict), IN_REVIEW or BLOCKED.
 */
import type { Config } from '#lib/config';
import type { Applied } from '#lib/handle-vod-event';
import { mediaRejection, unreadableAsVideo, NOT_MEDIA } from '#lib/processing-plan';
import { reviewStartPatch } from '#lib/review-events';
import { statusAfterProcessing } from '#lib/review-gate';
import { canTransition, isFinal, UploadStatus } from '#lib/upload-lifecycle';
import type { StatusCause, Upload, UploadPatch, UploadWrite } from '#lib/upload-store';
import { summariseProcessing, type ProcedureStateChangedEvent } from '#lib/vod-event';

export function decideProcedureStateChanged(
  config: Config,
  event: ProcedureStateChangedEvent,
  upload: Upload | undefined,
  cause: StatusCause,
): Applied {
  if (!upload) return { outcome: 'unknown-upload' };
  const uploadId = upload.uploadId;
  // Another file's processing (a signature used twice, a client's retry): it never touches this upload,
  // whatever the order of events; its file is an orphan, as its NewFileUpload records too.
  if (upload.fileId && upload.fileId !== event.fileId) return { outcome: 'extra-file', uploadId };
  // Processed already (REVIEW_MODE gate: PROCESSING until the review decides): nothing may replace the result.
  if (isFinal(upload.status) || upload.processedAt) return { outcome: 'stale', uploadId };

  // Processing may report before NewFileUpload (a procedure): the media limits still apply.
  if (!upload.media && event.metaData) {
    const rejection = mediaRejection(config.mediaRules, { metaData: event.metaData });
    if (rejection) {
      const error = { code: 'MediaRejected', message: rejection };
      const patch = { status: UploadStatus.REJECTED, fileId: event.fileId, taskId: event.taskId, error };
      return { outcome: UploadStatus.REJECTED, uploadId, writes: [{ patch, cause }] };
    }
  }
  const summary = summariseProcessing(event);
  const common = { fileId: event.fileId, taskId: event.taskId };
  // A lost NewFileUpload never skips the review: the first processing event begins it.
  const review = reviewStartPatch(config, upload);
  const toReview = review && { uploadId, fileId: event.fileId };
  if (summary.outcome === 'PROCESSING') {
    const status = canTransition(upload.status, UploadStatus.PROCESSING) ? UploadStatus.PROCESSING : undefined;
    // Progress events may arrive out of order: the bar never moves back.
    const progress = Math.max(summary.progress, upload.result?.progress ?? 0);
    const patch = { ...common, status, result: { progress }, ...review };
    return { outcome: `progress:${progress}`, uploadId, writes: [{ patch, cause }], toReview };
  }
  const { outcome, failures, ...results } = summary;
  if (outcome === 'SUCCESS' && summary.renditions.length + summary.adaptiveStreams.length > 0) {
    const target = statusAfterProcessing(config.review.mode, review?.review ?? upload.review);
    const success: UploadPatch = { ...common, result: results, error: null, processedAt: new Date(), ...review };
    if (target === UploadStatus.PROCESSING) {
      // Processed; the gate waits for the review's verdict (lib/review-events.ts moves it on).
      const status = canTransition(upload.status, target) ? target : undefined;
      const patch = { ...success, status, result: { ...results, progress: 100 } };
      return { outcome: 'awaiting-review', uploadId, writes: [{ patch, cause }], toReview };
    }
    const writes: UploadWrite[] = [{ patch: { ...success, status: target }, cause }];
    if (target === UploadStatus.BLOCKED && !canTransition(upload.status, target)) {
      // Blocked by a verdict that came before any file event (ISSUED): processed first, then blocked.
      writes.unshift({ patch: { ...success, status: UploadStatus.PROCESSING }, cause });
    }
    const toForbid = target === UploadStatus.BLOCKED ? { uploadId, fileId: event.fileId } : undefined;
    return { outcome: target, uploadId, writes, toReview, toForbid };
  }
  if (unreadableAsVideo(summary)) {
    // Not a video VOD can read (random bytes named .mp4): REJECTED, so the next cleanup deletes the media.
    const message = `VOD cannot read the file as video: ${failures.map((f) => `${f.type}: ${f.message || f.errCodeExt}`).join('; ')}`;
    const patch = { ...common, status: UploadStatus.REJECTED, result: results, error: { code: NOT_MEDIA, message, failures } };
    return { outcome: UploadStatus.REJECTED, uploadId, writes: [{ patch, cause }] };
  }
  const reasons =
    failures.length > 0
      ? failures
      : [{ type: 'Procedure', errCode: 0, errCodeExt: 'NoOutput', message: 'Processing finished without a playable rendition' }];
  const error = {
    code: 'ProcessingFailed',
    message: reasons.map((f) => `${f.type}: ${f.message || f.errCodeExt}`).join('; '),
    failures: reasons,
  };
  const patch = { ...common, status: UploadStatus.FAILED, result: results, error };
  return { outcome: UploadStatus.FAILED, uploadId, writes: [{ patch, cause }] };
}
