/**
 * The owner's view of one upload (GET /uploads/{uploadId}): status, timestamps, the media's basic
 * facts, every produced file, and errors, in a stable shape. Media URLs go through `signUrl`, which
 * adds hotlink-protection signatures when a key is configured.
 */
import type { Config } from '#lib/config';
import { newHotlinkId, signPlaybackUrl } from '#lib/playback-url-signer';
import type { Upload, UploadResult } from '#lib/upload-store';

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

export function uploadView(upload: Upload, signUrl: SignUrl = (url) => url) {
  // A deleted upload's media is gone from VOD (or about to be): its view hands out no URL.
  const deleted = upload.status === 'DELETED';
  const result: UploadResult = deleted ? {} : (upload.result ?? {});
  const media = upload.media ? (deleted ? { ...upload.media, mediaUrl: undefined } : upload.media) : undefined;
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
    ...(upload.status === 'PROCESSING' ? { progress: result.progress ?? 0 } : {}),
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
  };
}
