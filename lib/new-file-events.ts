/**
 * What a NewFileUpload event does to the upload its SourceContext names (lib/handle-vod-event.ts reads or
 * locks that upload, then writes what this decides): the file arrives (UPLOADED, or PROCESSING when the
 * signature's procedure already runs), or it is refused for the media limits or the quotas (REJECTED), or
 * it belongs to nobody (an orphan the cleanup deletes). Processing may have reported first: then only the
 * file's metadata is kept.
 */
import type { Config } from '#lib/config';
import type { Applied, TrueUp } from '#lib/handle-vod-event';
import { mediaRejection } from '#lib/processing-plan';
import { reviewStartPatch } from '#lib/review-events';
import { decodeUploadContext } from '#lib/upload-context';
import { isFinal, UploadStatus } from '#lib/upload-lifecycle';
import type { StatusCause, Upload, UploadMedia } from '#lib/upload-store';
import type { NewFileUploadEvent } from '#lib/vod-event';

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

export async function decideNewFileUpload(
  config: Config,
  trueUp: TrueUp,
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
    const overQuota = settled ? undefined : await trueUp(upload, media);
    if (overQuota) {
      const error = { code: 'QuotaExceeded', message: overQuota };
      const patch = { status: UploadStatus.REJECTED, fileId: upload.fileId ?? event.fileId, media, error };
      return { outcome: UploadStatus.REJECTED, uploadId, writes: [{ patch, cause }] };
    }
    // Processing reported first and, with its review never begun (REVIEW_MODE turned on since), begins it now.
    const fileId = upload.fileId ?? event.fileId;
    const review = isFinal(upload.status) ? undefined : reviewStartPatch(config, upload);
    const writes = [{ patch: { fileId, media: upload.media ?? media, ...review } }];
    return { outcome: 'metadata', uploadId, writes, toReview: review && { uploadId, fileId } };
  }

  // Media outside the limits first; only a file within them is weighed against the quotas.
  const rejection = mediaRejection(config.mediaRules, { basicInfo: event.media, metaData: event.metaData });
  const overQuota = rejection ? undefined : await trueUp(upload, media);
  if (rejection || overQuota) {
    const error = rejection ? { code: 'MediaRejected', message: rejection } : { code: 'QuotaExceeded', message: overQuota! };
    const patch = { status: UploadStatus.REJECTED, fileId: event.fileId, media, error };
    return { outcome: UploadStatus.REJECTED, uploadId, writes: [{ patch, cause }] };
  }
  const review = reviewStartPatch(config, upload);
  const toReview = review && { uploadId, fileId: event.fileId };
  if (upload.review?.state === 'blocked') {
    // The review's block came before this event (its verdict found the ISSUED upload): blocked at once,
    // never processed.
    const writes = [
      { patch: { status: UploadStatus.UPLOADED, fileId: event.fileId, media }, cause },
      { patch: { status: UploadStatus.BLOCKED }, cause },
    ];
    return { outcome: UploadStatus.BLOCKED, uploadId, writes, toForbid: { uploadId, fileId: event.fileId } };
  }
  if (event.procedureTaskId) {
    // Started by the upload's procedure (the signature named one): processing, nothing to start.
    const patch = { status: UploadStatus.PROCESSING, fileId: event.fileId, taskId: event.procedureTaskId, media, ...review };
    return { outcome: UploadStatus.PROCESSING, uploadId, writes: [{ patch, cause }], toReview };
  }
  const patch = { status: UploadStatus.UPLOADED, fileId: event.fileId, media, ...review };
  return {
    outcome: UploadStatus.UPLOADED,
    uploadId,
    writes: [{ patch, cause }],
    toProcess: { uploadId, fileId: event.fileId },
    toReview,
  };
}
