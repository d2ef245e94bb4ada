/**
 * The play-info API Tencent's players call with an appId, a fileId and a Psign
 * (`GET /getplayinfo/v4/{appId}/{fileId}?psign=…`, host playvideo.qcloud.com; docs/vod-protocol/player-signature.md
 * §11). The Psign is checked with the play key (`playKey` option) the way the doc defines it: HS256 only,
 * the claims' names and types, the app and file it names, its expiry. The answer carries only what
 * `contentInfo` allows, with every URL signed for Key hotlink protection from `urlAccessInfo` when the
 * emulator's CDN checks signatures (`hotlinkKey`).
 *
 * Tencent documents no error codes for this API (§11.2): the codes below are the emulator's, stable,
 * each with a 4xx status and a message naming the problem.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jwtVerify, errors as joseErrors } from 'jose';
import { signPlaybackUrl } from '#lib/playback-url-signer';
import type { EmulatorContext } from './context.ts';
import { newRequestId, preflight, sendJson } from './http-front.ts';
import type { DerivedEntry, MediaRecord } from './state.ts';

export const PLAY_INFO_CODES = {
  OK: 0,
  InvalidParameter: 4000,
  PsignMissing: 4001,
  PsignInvalid: 4002,
  PsignExpired: 4003,
  PsignMismatch: 4004,
  AppNotFound: 4040,
  FileNotFound: 4041,
  ContentNotFound: 4042,
  PlayKeyNotSet: 4030,
} as const;

type Code = keyof typeof PLAY_INFO_CODES;

class PlayInfoError extends Error {
  constructor(
    readonly code: Code,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const AUDIO_VIDEO_TYPES = ['RawAdaptive', 'ProtectedAdaptive', 'Transcode', 'Original'];
/** The default sub-stream names of the doc (ResolutionNameInfo), by short edge. */
const DEFAULT_RESOLUTION_NAMES = [
  { MinEdgeLength: 240, Name: '240P' },
  { MinEdgeLength: 480, Name: '480P' },
  { MinEdgeLength: 720, Name: '720P' },
  { MinEdgeLength: 1080, Name: '1080P' },
  { MinEdgeLength: 1440, Name: '2K' },
  { MinEdgeLength: 2160, Name: '4K' },
  { MinEdgeLength: 4320, Name: '8K' },
];

interface Claims {
  appId: number;
  fileId: string;
  contentInfo: {
    audioVideoType: string;
    rawAdaptiveDefinition?: number;
    transcodeDefinition?: number;
    imageSpriteDefinition?: number;
    resolutionNames?: Array<{ MinEdgeLength: number; Name: string }>;
  };
  currentTimeStamp: number;
  expireTimeStamp?: number;
  urlAccessInfo?: { t?: string; exper?: number; rlimit?: number; us?: string; domain?: string; scheme?: string };
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const invalid = (message: string) => new PlayInfoError('PsignInvalid', 403, message);

/** The doc's types, strictly: a string where an integer belongs is the doc's own "common error". */
function checkClaims(payload: Record<string, unknown>): Claims {
  if (!isInt(payload.appId)) throw invalid('psign: appId must be an integer');
  if (typeof payload.fileId !== 'string' || payload.fileId === '') throw invalid('psign: fileId must be a string');
  if (!isInt(payload.currentTimeStamp)) throw invalid('psign: currentTimeStamp must be an integer');
  if (payload.expireTimeStamp !== undefined && !isInt(payload.expireTimeStamp))
    throw invalid('psign: expireTimeStamp must be an integer');
  const content = payload.contentInfo as Record<string, unknown> | undefined;
  if (!content || typeof content !== 'object') throw invalid('psign: contentInfo is required');
  if (typeof content.audioVideoType !== 'string' || !AUDIO_VIDEO_TYPES.includes(content.audioVideoType)) {
    throw invalid(`psign: contentInfo.audioVideoType must be one of ${AUDIO_VIDEO_TYPES.join(', ')}`);
  }
  for (const name of ['rawAdaptiveDefinition', 'transcodeDefinition', 'imageSpriteDefinition']) {
    if (content[name] !== undefined && !isInt(content[name])) throw invalid(`psign: contentInfo.${name} must be an integer`);
  }
  if (content.audioVideoType === 'RawAdaptive' && content.rawAdaptiveDefinition === undefined)
    throw invalid('psign: RawAdaptive needs contentInfo.rawAdaptiveDefinition');
  if (content.audioVideoType === 'Transcode' && content.transcodeDefinition === undefined)
    throw invalid('psign: Transcode needs contentInfo.transcodeDefinition');
  const access = payload.urlAccessInfo as Record<string, unknown> | undefined;
  if (access !== undefined) {
    if (typeof access !== 'object' || access === null) throw invalid('psign: urlAccessInfo must be an object');
    if (access.t !== undefined && (typeof access.t !== 'string' || !/^[0-9a-f]{1,16}$/.test(access.t)))
      throw invalid('psign: urlAccessInfo.t must be a lower-case hexadecimal string');
    if (access.exper !== undefined && (!isInt(access.exper) || access.exper < 30))
      throw invalid('psign: urlAccessInfo.exper must be an integer of at least 30');
    if (access.rlimit !== undefined && (!isInt(access.rlimit) || access.rlimit < 1 || access.rlimit > 9))
      throw invalid('psign: urlAccessInfo.rlimit must be an integer from 1 to 9');
    if (access.us !== undefined && typeof access.us !== 'string') throw invalid('psign: urlAccessInfo.us must be a string');
    if (access.domain !== undefined && typeof access.domain !== 'string')
      throw invalid('psign: urlAccessInfo.domain must be a string');
    if (access.scheme !== undefined && !['HTTP', 'HTTPS', 'Default'].includes(access.scheme as string))
      throw invalid('psign: urlAccessInfo.scheme must be HTTP, HTTPS or Default');
  }
  return payload as unknown as Claims;
}

async function verifyPsign(psign: string, playKey: string): Promise<Claims> {
  try {
    const { payload } = await jwtVerify(psign, new TextEncoder().encode(playKey), { algorithms: ['HS256'] });
    return checkClaims(payload as Record<string, unknown>);
  } catch (error) {
    if (error instanceof PlayInfoError) throw error;
    if (error instanceof joseErrors.JOSEAlgNotAllowed) throw invalid('psign: the header must be {"alg":"HS256","typ":"JWT"}');
    if (error instanceof joseErrors.JWSSignatureVerificationFailed)
      throw invalid('psign: the signature does not match (signed with the play key of this application?)');
    throw invalid('psign: not a JWT');
  }
}

/** Rewrites the URL onto `urlAccessInfo`'s domain and scheme, then signs it as the CDN expects (§8). */
function urlFor(ctx: EmulatorContext, url: string, access: Claims['urlAccessInfo']): string {
  let out = url;
  if (access?.domain && access.domain !== 'Default') out = out.replace(/^(https?:\/\/)[^/]+/i, `$1${access.domain}`);
  if (access?.scheme === 'HTTP' || access?.scheme === 'HTTPS') out = out.replace(/^https?:/i, `${access.scheme.toLowerCase()}:`);
  const key = ctx.options.hotlinkKey;
  if (!key || !access?.t) return out;
  return signPlaybackUrl(out, {
    key,
    expiresAt: Number.parseInt(access.t, 16),
    exper: access.exper,
    rlimit: access.rlimit,
    us: access.us,
  });
}

function derived(media: MediaRecord, kind: DerivedEntry['kind'], definition: number): Record<string, unknown> | undefined {
  return (media.derived ?? []).find((d) => d.kind === kind && d.definition === definition)?.item;
}

function resolutionName(width: number, height: number, names: Claims['contentInfo']['resolutionNames']): string {
  const table =
    names && names.length > 0 ? [...names].sort((a, b) => a.MinEdgeLength - b.MinEdgeLength) : DEFAULT_RESOLUTION_NAMES;
  const edge = Math.min(width, height);
  return (table.filter((n) => n.MinEdgeLength <= edge).pop() ?? table[0]!).Name;
}

/** The `media` of the answer: basic info, then only the output `contentInfo` allows. */
function mediaAnswer(ctx: EmulatorContext, media: MediaRecord, claims: Claims): Record<string, unknown> {
  const sign = (url: unknown) => (typeof url === 'string' && url !== '' ? urlFor(ctx, url, claims.urlAccessInfo) : '');
  const basic = media.basicInfo;
  const meta = media.metaData ?? {};
  const answer: Record<string, unknown> = {
    basicInfo: {
      name: String(basic.Name ?? ''),
      description: String(basic.Description ?? ''),
      duration: Number(meta.Duration ?? 0),
      size: Number(meta.Size ?? 0),
      coverUrl: sign(basic.CoverUrl),
    },
  };
  const content = claims.contentInfo;
  if (content.audioVideoType === 'ProtectedAdaptive')
    throw new PlayInfoError('ContentNotFound', 404, 'psign: ProtectedAdaptive: the emulator makes no encrypted adaptive streams');
  if (content.audioVideoType === 'RawAdaptive') {
    const item = derived(media, 'adaptiveDynamicStreaming', content.rawAdaptiveDefinition!);
    if (!item || item.DrmType)
      throw new PlayInfoError(
        'ContentNotFound',
        404,
        `the file has no clear adaptive stream of template ${content.rawAdaptiveDefinition}`,
      );
    const subStreams = ((item.SubStreamSet ?? []) as Array<Record<string, number | string>>).map((s) => ({
      type: String(s.Type ?? 'video'),
      width: Number(s.Width),
      height: Number(s.Height),
      resolutionName: resolutionName(Number(s.Width), Number(s.Height), content.resolutionNames),
    }));
    Object.assign(answer, {
      audioVideoType: 'AdaptiveDynamicStream',
      streamingInfo: { plainOutput: { url: sign(item.Url), subStreams }, drmOutput: [], drmToken: '' },
    });
  } else if (content.audioVideoType === 'Transcode') {
    const item = derived(media, 'transcode', content.transcodeDefinition!);
    if (!item)
      throw new PlayInfoError('ContentNotFound', 404, `the file has no transcode of template ${content.transcodeDefinition}`);
    Object.assign(answer, {
      audioVideoType: 'Transcode',
      transcodeInfo: {
        url: sign(item.Url),
        definition: item.Definition,
        duration: item.Duration,
        size: item.Size,
        width: item.Width,
        height: item.Height,
      },
    });
  } else {
    if (!basic.MediaUrl) throw new PlayInfoError('ContentNotFound', 404, 'the original of this file was deleted');
    Object.assign(answer, {
      audioVideoType: 'Original',
      originalInfo: {
        url: sign(basic.MediaUrl),
        duration: Number(meta.Duration ?? 0),
        size: Number(meta.Size ?? 0),
        width: meta.Width,
        height: meta.Height,
      },
    });
  }
  if (content.imageSpriteDefinition !== undefined) {
    const sprite = derived(media, 'imageSprite', content.imageSpriteDefinition);
    if (sprite)
      answer.imageSpriteInfo = {
        webVttUrl: sign(sprite.WebVttUrl),
        imageUrls: ((sprite.ImageUrlSet ?? []) as string[]).map(sign),
      };
  }
  return answer;
}

async function playInfo(ctx: EmulatorContext, rawPath: string, rawQuery: string): Promise<Record<string, unknown>> {
  const match = /^\/getplayinfo\/v4\/([^/]+)\/([^/]+)$/.exec(rawPath);
  if (!match || !/^\d{1,10}$/.test(match[1]!) || !/^\d{1,32}$/.test(match[2]!)) {
    throw new PlayInfoError('InvalidParameter', 400, 'the path must be /getplayinfo/v4/{appId}/{fileId}, both decimal');
  }
  const appId = Number(match[1]);
  const fileId = match[2]!;
  const options = ctx.options;
  if (appId !== options.appId && !options.subAppIds.includes(appId))
    throw new PlayInfoError('AppNotFound', 404, `no application ${appId}`);
  const psign = new URLSearchParams(rawQuery).get('psign');
  if (!psign) throw new PlayInfoError('PsignMissing', 403, 'psign is required');
  if (!options.playKey)
    throw new PlayInfoError('PlayKeyNotSet', 403, 'this emulator has no play key (start it with the playKey option)');
  const claims = await verifyPsign(psign, options.playKey);
  if (claims.appId !== appId || claims.fileId !== fileId) {
    throw new PlayInfoError(
      'PsignMismatch',
      403,
      `psign is for app ${claims.appId}, file ${claims.fileId}, not for app ${appId}, file ${fileId}`,
    );
  }
  const now = Math.floor(ctx.now() / 1000);
  if (claims.expireTimeStamp !== undefined && now > claims.expireTimeStamp)
    throw new PlayInfoError('PsignExpired', 403, `psign expired at ${claims.expireTimeStamp}`);
  const media = ctx.store.doc.media[fileId];
  if (!media || media.appId !== appId) throw new PlayInfoError('FileNotFound', 404, `no file ${fileId} in application ${appId}`);
  return { code: 0, message: '', warning: '', version: 4, media: mediaAnswer(ctx, media, claims) };
}

/** `GET /getplayinfo/v4/{appId}/{fileId}?psign=…` (CORS: tcplayer.js calls it from the page). */
export async function handlePlayInfo(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  rawPath: string,
  rawQuery: string,
): Promise<void> {
  if (req.method === 'OPTIONS') return preflight(req, res);
  const requestId = newRequestId();
  if (req.method !== 'GET') {
    sendJson(req, res, 405, { code: PLAY_INFO_CODES.InvalidParameter, message: 'use GET', requestId });
    return;
  }
  try {
    sendJson(req, res, 200, { ...(await playInfo(ctx, rawPath, rawQuery)), requestId }, { 'cache-control': 'no-store' });
  } catch (error) {
    if (!(error instanceof PlayInfoError)) throw error;
    sendJson(
      req,
      res,
      error.status,
      { code: PLAY_INFO_CODES[error.code], message: error.message, requestId },
      { 'cache-control': 'no-store' },
    );
  }
}
