/**
 * The player signature (Psign) that Tencent's players take with an appId and a fileId instead of a URL
 * (docs/vod-protocol/player-signature.md; Tencent doc 266/38099 intl, "Player Signature"). It is a JWT,
 * HS256 with the sub-application's play key (not the hotlink KEY), whose claims say what the viewer may
 * play: which output (contentInfo), until when (expireTimeStamp), and how its URLs are signed
 * (urlAccessInfo, the Key hotlink parameters of docs/vod-protocol/hotlink.md).
 */
import { SignJWT } from 'jose';
import type { Config, PlaybackSettings } from '#lib/config';
import { newHotlinkId } from '#lib/playback-url-signer';
import type { Upload, UploadResult } from '#lib/upload-store';
import type { PlaybackCredential } from '#contract';

/** `contentInfo.audioVideoType`: the doc's four values. */
export type AudioVideoType = 'RawAdaptive' | 'ProtectedAdaptive' | 'Transcode' | 'Original';

export interface ContentInfo {
  audioVideoType: AudioVideoType;
  /** Required with RawAdaptive: the clear adaptive-streaming template. */
  rawAdaptiveDefinition?: number;
  /** Required with Transcode: the transcoding template. */
  transcodeDefinition?: number;
  /** The image-sprite template for timeline thumbnails. */
  imageSpriteDefinition?: number;
}

/** `urlAccessInfo`: t is hexadecimal Unix seconds (a string), exper/rlimit integers, us a string. */
export interface UrlAccessInfo {
  t?: string;
  exper?: number;
  rlimit?: number;
  us?: string;
  domain?: string;
  scheme?: 'HTTP' | 'HTTPS' | 'Default';
}

export interface PsignClaims {
  appId: number;
  fileId: string;
  contentInfo: ContentInfo;
  currentTimeStamp: number;
  expireTimeStamp?: number;
  urlAccessInfo?: UrlAccessInfo;
}

/**
 * The content a viewer is allowed: the adaptive stream when processing made one (clear HLS: the
 * doc's `RawAdaptive`; `ProtectedAdaptive` is for encrypted output, which this pipeline does not make),
 * else the best transcode, else the original. The sprite's template rides along when there is a sprite.
 * Stored results may lack a template id (older rows); the configured pipeline's id fills in.
 */
export function contentInfoFor(
  result: UploadResult,
  pipeline: Pick<Config['pipeline'], 'adaptiveDefinition' | 'spriteDefinition'>,
): ContentInfo {
  const sprite = result.sprite && pipeline.spriteDefinition > 0 ? { imageSpriteDefinition: pipeline.spriteDefinition } : {};
  const adaptive = (result.adaptiveStreams ?? []).find((s) => (s.definition ?? pipeline.adaptiveDefinition) > 0);
  if (adaptive)
    return {
      audioVideoType: 'RawAdaptive',
      rawAdaptiveDefinition: adaptive.definition ?? pipeline.adaptiveDefinition,
      ...sprite,
    };
  const renditions = result.renditions ?? [];
  if (renditions.length > 0) {
    const best = renditions.reduce((a, b) => ((b.width ?? 0) * (b.height ?? 0) > (a.width ?? 0) * (a.height ?? 0) ? b : a));
    return { audioVideoType: 'Transcode', transcodeDefinition: best.definition, ...sprite };
  }
  return { audioVideoType: 'Original', ...sprite };
}

/** The playback domain and scheme of a media URL, for urlAccessInfo (`undefined` for a path). */
function domainOf(url: string | undefined): Pick<UrlAccessInfo, 'domain' | 'scheme'> {
  if (!url || !/^https?:\/\//i.test(url)) return {};
  const parsed = new URL(url);
  return { domain: parsed.host, scheme: parsed.protocol === 'https:' ? 'HTTPS' : 'HTTP' };
}

export interface PsignOptions {
  /** A preview: urlAccessInfo.exper = HOTLINK_PREVIEW_SECONDS. */
  preview?: boolean;
  nowMs?: number;
  /** The link id; fresh per answer (the same one the answer's URLs carry). */
  us?: string;
}

/** The claims for one upload, exactly the doc's names and types. */
export function psignClaims(
  upload: Upload,
  config: Pick<Config, 'pipeline' | 'hotlink'> & { playback: PlaybackSettings },
  options: PsignOptions = {},
): PsignClaims {
  if (!upload.fileId) throw new Error('psignClaims: the upload has no fileId');
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const result = upload.result ?? {};
  const claims: PsignClaims = {
    appId: config.playback.appId,
    fileId: upload.fileId,
    contentInfo: contentInfoFor(result, config.pipeline),
    currentTimeStamp: now,
    expireTimeStamp: now + config.playback.ttlSeconds,
  };
  const hotlink = config.hotlink;
  if (hotlink) {
    // The same expiry as the answer's own signed URLs (upload-view.ts): TTL plus the video's duration.
    const urlExpiry = now + hotlink.urlTtlSeconds + Math.ceil(upload.media?.duration ?? 0);
    const sample = result.adaptiveStreams?.[0]?.url ?? result.renditions?.[0]?.url ?? upload.media?.mediaUrl;
    claims.urlAccessInfo = {
      t: urlExpiry.toString(16),
      ...(options.preview && hotlink.previewSeconds ? { exper: hotlink.previewSeconds } : {}),
      ...(hotlink.rlimit ? { rlimit: hotlink.rlimit } : {}),
      us: options.us ?? newHotlinkId(),
      ...domainOf(sample),
    };
  }
  return claims;
}

/** HS256 over the claims with the play key; the header is the doc's fixed `{ alg: HS256, typ: JWT }`. */
export function signPsign(claims: PsignClaims, playKey: string): Promise<string> {
  return new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(playKey));
}

export async function playbackCredential(
  upload: Upload,
  config: Pick<Config, 'pipeline' | 'hotlink'> & { playback: PlaybackSettings },
  options: PsignOptions = {},
): Promise<PlaybackCredential> {
  const claims = psignClaims(upload, config, options);
  return {
    appId: claims.appId,
    fileId: claims.fileId,
    psign: await signPsign(claims, config.playback.key),
    expiresAt: new Date(claims.expireTimeStamp! * 1000).toISOString(),
  };
}
