/**
 * The owner's view of one upload (GET /uploads/{uploadId}): status, timestamps, the media's basic
 * facts, every produced file, errors and the content review, in a stable shape. Media URLs go through
 * `signUrl`, which adds hotlink-protection signatures when a key is configured; the owner gets them only
 * as the review allows (`ownerMaySeeMedia`), a reviewer always.
 */
import type { Config } from '#lib/config';
import { newHotlinkId, signPlaybackUrl } from '#lib/playback-url-signer';
import type { HistoryEntry, UploadStatus } from '#contract';
import type { StatusCause, Upload, UploadResult, UploadReview } from '#lib/upload-store';

type SignUrl = (url: string) => string;

/**
 * With Key hotlink protection configured, every URL handed out is signed for `urlTtlSeconds` plus the
 * video's duration (so a viewer who starts late can still finish), with one fresh `us` per answer.
 */
export function playbackUrlSigner(hotlink: Config['hotlink'], durationSeconds: number | undefined, nowMs = Date.now()): SignUrl {
  if (!hotlink) return (url) => url;
  const expiresAt = Math.floor(nowMs / 1000) + hotlink.urlTtlSeconds + Math.ceil(durationSeconds ?? 0);
  const us = newHotlinkId();
  return (url) =>
    signPlaybackUrl(url, { key: hotlink.key, expiresAt, us, rlimit: hotlink.rlimit, exper: hotlink.previewSeconds });
}

/**
 * Whether the owner's view may carry the media's URLs: once READY, or (no review: REVIEW_MODE off, or an
 * upload from before it) in every status but BLOCKED and DELETED. Nothing the review has not allowed is
 * handed out (lib/review-gate.ts).
 */
export function ownerMaySeeMedia(upload: Pick<Upload, 'status' | 'review'>): boolean {
  if (upload.status === 'READY') return true;
  return upload.review === null && upload.status !== 'BLOCKED' && upload.status !== 'DELETED';
}

/** Who the view is for: the owner (and webhooks), or a reviewer (a service token, GET /uploads/{uploadId}). */
export type ViewAudience = 'owner' | 'reviewer';

/** The review as the audience sees it: its state and label; a reviewer also who decided, why, and VOD's failure. */
function reviewView(review: UploadReview, audience: ViewAudience) {
  if (audience === 'owner') return { state: review.state, label: review.label };
  const { state, label, suggestion, form, failure, decidedBy, reason, decidedAt, taskId } = review;
  return { state, label, suggestion, form, failure, decidedBy, reason, decidedAt, taskId };
}

export function uploadView(upload: Upload, signUrl: SignUrl = (url) => url, audience: ViewAudience = 'owner') {
  // A deleted upload's media is gone from VOD (or about to be), a BLOCKED one's is forbidden: no view hands
  // out their URLs. A reviewer sees the URLs of any other upload, to watch it before deciding.
  const gone = upload.status === 'DELETED' || upload.status === 'BLOCKED';
  const withUrls = !gone && (audience === 'reviewer' || ownerMaySeeMedia(upload));
  const result: UploadResult = withUrls ? (upload.result ?? {}) : {};
  const media = upload.media ? (withUrls ? upload.media : { ...upload.media, mediaUrl: undefined }) : undefined;
  const error = upload.error ?? undefined;
  const sign = (url: string | undefined) => (url ? signUrl(url) : undefined);
  return {
    uploadId: upload.uploadId,
    status: upload.status,
    fileId: upload.fileId,
    fileName: upload.fileName,
    createdAt: upload.createdAt.toISOString(),
    updatedAt: upload.updatedAt.toISOString(),
    statusChangedAt: upload.statusChangedAt.toISOString(),
    ...(upload.status === 'ISSUED' ? { signatureExpiresAt: upload.signatureExpiresAt.toISOString() } : {}),
    ...(upload.status === 'PROCESSING' ? { progress: upload.result?.progress ?? 0 } : {}),
    media: media && {
      type: media.type,
      size: media.size,
      duration: media.duration,
      width: media.width,
      height: media.height,
      url: sign(media.mediaUrl),
    },
    renditions: (result.renditions ?? []).map((r) => ({ ...r, url: signUrl(r.url) })),
    adaptiveStreams: (result.adaptiveStreams ?? []).map((s) => ({ ...s, url: signUrl(s.url) })),
    // Only the pipeline's own cover: VOD's CoverUrl can be replaced by any holder of a signature (README).
    cover: result.cover ? { url: signUrl(result.cover.url) } : null,
    snapshots: (result.snapshots ?? []).map((s) => ({ ...s, url: signUrl(s.url) })),
    sampleSnapshots: (result.sampleSnapshots ?? []).map((s) => ({ ...s, imageUrls: s.imageUrls.map(signUrl) })),
    sprite: result.sprite
      ? { ...result.sprite, imageUrls: result.sprite.imageUrls.map(signUrl), webVttUrl: sign(result.sprite.webVttUrl) }
      : null,
    animatedGraphics: (result.animatedGraphics ?? []).map((g) => ({ ...g, url: signUrl(g.url) })),
    error: error ? { code: error.code, message: error.message } : null,
    ...(upload.review ? { review: reviewView(upload.review, audience) } : {}),
  };
}

/** What the owner reads of why the status changed: a few words, no internal ids. */
function historyReason(status: string, cause: StatusCause | null): string {
  const found = cause?.via === 'reconcile' || cause?.source === 'reconcile' ? ' (found by the backend asking VOD)' : '';
  switch (status) {
    case 'ISSUED':
      return 'Upload signature issued';
    case 'UPLOADED':
      return `VOD received the file${found}`;
    case 'PROCESSING':
      return `Processing started${found}`;
    case 'IN_REVIEW':
      return `Held for a person to review${found}`;
    case 'READY':
      if (cause?.source === 'reviewer') return 'Allowed by a reviewer';
      if (cause?.detail === 'ReviewAudioVideoComplete') return `The content review passed${found}`;
      return `Processing finished${found}`;
    case 'BLOCKED':
      // Never who decided: the owner reads that a reviewer did, and the reason given.
      if (cause?.source === 'reviewer') return cause.reason ? `Blocked by a reviewer: ${cause.reason}` : 'Blocked by a reviewer';
      return `Blocked by the content review${found}`;
    case 'FAILED':
      return `Processing failed${found}`;
    case 'REJECTED':
      return `The file was refused${found}`;
    case 'EXPIRED':
      return 'No file arrived before the upload window closed';
    case 'DELETED':
      if (cause?.source === 'cleanup') return 'The unused media was deleted';
      if (cause?.source === 'user') return 'Deleted by its owner';
      if (cause?.source === 'operator') return "Deleted by the app's service";
      return 'The media was deleted';
    default:
      return status;
  }
}

/** `history` of GET /uploads/{uploadId}: the timeline's time, status and a short reason. */
export function historyView(timeline: ReadonlyArray<{ at: Date; to: string; cause: StatusCause | null }>): HistoryEntry[] {
  return timeline.map((entry) => ({
    at: entry.at.toISOString(),
    status: entry.to as UploadStatus,
    reason: historyReason(entry.to, entry.cause),
  }));
}
