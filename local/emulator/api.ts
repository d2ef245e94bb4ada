/**
 * API 3.0 endpoint (`POST /` with X-TC-Action, vod-protocol.md §6): TC3-HMAC-SHA256 verification,
 * the error envelope (HTTP 200, `Response.Error.{Code,Message}`, `RequestId`) and a table of action
 * handlers (media processing actions are in process-api.ts). To add an action, add an entry to
 * `API_ACTIONS` (or pass `actions` to `startEmulator`): a handler gets the JSON parameters and returns
 * the Response fields without RequestId, or throws `ApiError(code, message)`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorContext } from './context.ts';
import { mediaUrl } from './context.ts';
import { BodyTooLargeError, newRequestId, readBody, sendJson } from './http-util.ts';
import { ApiError } from './api/error.ts';
import { verifyTc3 } from './tc3.ts';
import { applyUpload, commitUpload, deleteMediaFiles, findSession, UploadError } from './uploads.ts';
import { MAX_EVENTS_PER_PULL } from './events.ts';
import { PROCESSING_ACTIONS } from './process-api.ts';
import { deleteDerived } from './processing.ts';
import type { DerivedKind, MediaRecord } from './state.ts';
import type { EventConfig } from './options.ts';
import { MAX_SOURCE_CONTEXT_LENGTH, MAX_SESSION_CONTEXT_LENGTH } from '#lib/upload-signature';

export const API_VERSION = '2018-07-17';

export interface ActionContext {
  ctx: EmulatorContext;
  /** The application the call is for: `SubAppId` when given, else the primary AppId. */
  appId: number;
  requestId: string;
  region: string | undefined;
  /** Aborted when the client goes away (long polls stop early). */
  signal: AbortSignal;
}

export type ActionHandler = (call: ActionContext, params: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>;

// ---- parameter helpers (VOD answers MissingParameter / InvalidParameterValue) ----

export function requireString(params: Record<string, unknown>, name: string): string {
  const v = params[name];
  if (v === undefined || v === null || v === '') throw new ApiError('MissingParameter', `The parameter ${name} is required.`);
  if (typeof v !== 'string') throw new ApiError('InvalidParameterValue', `${name} must be a string.`);
  return v;
}

export function optionalString(params: Record<string, unknown>, name: string, maxLength = Infinity, code = 'InvalidParameterValue'): string | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ApiError('InvalidParameterValue', `${name} must be a string.`);
  if ([...v].length > maxLength) throw new ApiError(code, `${name} is longer than ${maxLength} characters.`);
  return v;
}

export function optionalInteger(params: Record<string, unknown>, name: string): number | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ApiError('InvalidParameterValue', `${name} must be an integer.`);
  return v;
}

function optionalSwitch(params: Record<string, unknown>, name: string): 'ON' | 'OFF' | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (v !== 'ON' && v !== 'OFF') throw new ApiError('InvalidParameterValue', `${name} must be ON or OFF.`);
  return v;
}

function fromUploadError(error: UploadError): ApiError {
  switch (error.kind) {
    case 'InvalidParameter':
      return new ApiError('InvalidParameterValue', error.message);
    case 'SessionNotFound':
      return new ApiError('InvalidParameterValue.VodSessionKey', error.message);
    case 'FileNotFound':
      return new ApiError('ResourceNotFound.FileNotExist', error.message);
    case 'ObjectMissing':
    case 'SizeMismatch':
      return new ApiError('FailedOperation', error.message);
  }
}

async function uploadCall<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof UploadError) throw fromUploadError(error);
    throw error;
  }
}

const MEDIA_INFO_FILTERS = [
  'basicInfo',
  'metaData',
  'transcodeInfo',
  'animatedGraphicsInfo',
  'imageSpriteInfo',
  'snapshotByTimeOffsetInfo',
  'sampleSnapshotInfo',
  'keyFrameDescInfo',
  'adaptiveDynamicStreamingInfo',
  'miniProgramReviewInfo',
  'subtitleInfo',
  'reviewInfo',
  'mpsAiMediaInfo',
  'knowledgeBasesInfo',
];

// ---- the actions ----

/** Processing outputs of one kind, in definition order (DescribeMediaInfos). */
function derivedItems(media: MediaRecord, kind: DerivedKind): Record<string, unknown>[] {
  return (media.derived ?? []).filter((d) => d.kind === kind).sort((a, b) => a.definition - b.definition).map((d) => d.item);
}

const describeMediaInfos: ActionHandler = ({ ctx, appId }, params) => {
  const ids = params.FileIds;
  if (!Array.isArray(ids) || ids.length === 0) throw new ApiError('MissingParameter', 'The parameter FileIds is required.');
  if (ids.length > 20) throw new ApiError('InvalidParameterValue.FileIds', 'FileIds may hold at most 20 ids.');
  const filters = params.Filters === undefined ? MEDIA_INFO_FILTERS : params.Filters;
  if (!Array.isArray(filters) || filters.some((f) => typeof f !== 'string' || !MEDIA_INFO_FILTERS.includes(f))) {
    throw new ApiError('InvalidParameterValue.Filters', `Filters must be a subset of ${MEDIA_INFO_FILTERS.join(', ')}.`);
  }
  const wants = (name: string) => (filters as string[]).includes(name);
  const MediaInfoSet: Record<string, unknown>[] = [];
  const NotExistFileIdSet: string[] = [];
  for (const id of ids) {
    const media = typeof id === 'string' ? ctx.store.doc.media[id] : undefined;
    if (!media || media.appId !== appId) {
      NotExistFileIdSet.push(String(id));
      continue;
    }
    MediaInfoSet.push({
      FileId: media.fileId,
      BasicInfo: wants('basicInfo') ? media.basicInfo : null,
      MetaData: wants('metaData') ? media.metaData : null,
      TranscodeInfo: wants('transcodeInfo') ? { TranscodeSet: derivedItems(media, 'transcode') } : null,
      AnimatedGraphicsInfo: wants('animatedGraphicsInfo') ? { AnimatedGraphicsSet: derivedItems(media, 'animatedGraphics') } : null,
      SampleSnapshotInfo: wants('sampleSnapshotInfo') ? { SampleSnapshotSet: derivedItems(media, 'sampleSnapshot') } : null,
      ImageSpriteInfo: wants('imageSpriteInfo') ? { ImageSpriteSet: derivedItems(media, 'imageSprite') } : null,
      SnapshotByTimeOffsetInfo: wants('snapshotByTimeOffsetInfo') ? { SnapshotByTimeOffsetSet: derivedItems(media, 'snapshotByTimeOffset') } : null,
      KeyFrameDescInfo: null,
      AdaptiveDynamicStreamingInfo: wants('adaptiveDynamicStreamingInfo') ? { AdaptiveDynamicStreamingSet: derivedItems(media, 'adaptiveDynamicStreaming') } : null,
      MiniProgramReviewInfo: null,
      SubtitleInfo: null,
      ReviewInfo: null,
    });
  }
  return { MediaInfoSet, NotExistFileIdSet };
};

/** VOD answers at most this far into a search (Offset + Limit). */
const SEARCH_MAX_WINDOW = 5000;

/**
 * SearchMedia (the subset the backend's reconciler uses): filters FileIds, Names, Categories,
 * SourceTypes and the CreateTime range (`After` inclusive, `Before` exclusive, ISO 8601); Sort on
 * CreateTime (default newest first); Offset/Limit paging within the first 5 000 results; Filters as in
 * DescribeMediaInfos.
 */
const searchMedia: ActionHandler = (call, params) => {
  const { ctx, appId } = call;
  const offset = params.Offset === undefined ? 0 : params.Offset;
  const limit = params.Limit === undefined ? 10 : params.Limit;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) throw new ApiError('InvalidParameterValue.Offset', 'Offset must be a non-negative integer.');
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) throw new ApiError('InvalidParameterValue.Limit', 'Limit must be a positive integer.');
  if (offset + limit > SEARCH_MAX_WINDOW) throw new ApiError('InvalidParameterValue.Limit', `Offset + Limit must be at most ${SEARCH_MAX_WINDOW}.`);
  const list = (name: string): string[] | undefined => {
    const value = params[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new ApiError(`InvalidParameterValue.${name}`, `${name} must be a list of strings.`);
    return value as string[];
  };
  const time = (value: unknown, name: string): number | undefined => {
    if (value === undefined || value === null || value === '') return undefined;
    const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms)) throw new ApiError('InvalidParameterValue.CreateTime', `CreateTime.${name} must be an ISO 8601 time.`);
    return ms;
  };
  const range = (params.CreateTime ?? {}) as Record<string, unknown>;
  const after = time(range.After, 'After');
  const before = time(range.Before, 'Before');
  const [fileIds, names, categories, sourceTypes] = [list('FileIds'), list('Names'), list('Categories'), list('SourceTypes')];
  const sort = (params.Sort ?? { Field: 'CreateTime', Order: 'Desc' }) as Record<string, unknown>;
  if (sort.Field !== 'CreateTime' || (sort.Order !== 'Asc' && sort.Order !== 'Desc')) {
    throw new ApiError('InvalidParameterValue.Sort', 'Sort must be { Field: "CreateTime", Order: "Asc" | "Desc" }.');
  }
  const created = (media: { basicInfo: Record<string, unknown> }) => Date.parse(String(media.basicInfo.CreateTime));
  const matches = Object.values(ctx.store.doc.media)
    .filter((media) => media.appId === appId)
    .filter((media) => {
      const basic = media.basicInfo as Record<string, unknown>;
      const source = (basic.SourceInfo ?? {}) as Record<string, unknown>;
      const at = created(media);
      return (
        (!fileIds || fileIds.includes(media.fileId)) &&
        (!names || names.includes(String(basic.Name))) &&
        (!categories || categories.includes(String(basic.Category))) &&
        (!sourceTypes || sourceTypes.includes(String(source.SourceType))) &&
        (after === undefined || at >= after) &&
        (before === undefined || at < before)
      );
    })
    .sort((a, b) => (created(a) - created(b) || a.fileId.localeCompare(b.fileId)) * (sort.Order === 'Asc' ? 1 : -1));
  const page = matches.slice(offset, offset + limit).map((media) => media.fileId);
  const MediaInfoSet: unknown[] = [];
  // DescribeMediaInfos takes 20 ids at a time.
  for (let i = 0; i < page.length; i += 20) {
    const described = describeMediaInfos(call, { Filters: params.Filters, FileIds: page.slice(i, i + 20) }) as { MediaInfoSet: unknown[] };
    MediaInfoSet.push(...described.MediaInfoSet);
  }
  return { TotalCount: Math.min(matches.length, SEARCH_MAX_WINDOW), MediaInfoSet };
};

const DELETE_PART_TYPES = ['OriginalFiles', 'TranscodeFiles', 'AdaptiveDynamicStreamingFiles', 'WechatPublishFiles', 'WechatMiniProgramPublishFiles'];

const deleteMedia: ActionHandler = ({ ctx, appId }, params) => {
  const fileId = requireString(params, 'FileId');
  const media = ctx.store.doc.media[fileId];
  if (!media || media.appId !== appId) throw new ApiError('ResourceNotFound.FileNotExist', `The media ${fileId} does not exist.`);
  const parts = params.DeleteParts ?? [];
  if (!Array.isArray(parts)) throw new ApiError('InvalidParameterValue', 'DeleteParts must be an array.');
  const deleteParts = parts.map((p: unknown) => {
    const part = (p ?? {}) as Record<string, unknown>;
    if (typeof part.Type !== 'string' || !DELETE_PART_TYPES.includes(part.Type)) {
      throw new ApiError('InvalidParameterValue', `DeleteParts.Type must be one of ${DELETE_PART_TYPES.join(', ')}.`);
    }
    return { Type: part.Type, Definition: typeof part.Definition === 'number' ? part.Definition : 0 };
  });
  const whole = deleteParts.length === 0;
  for (const part of deleteParts) {
    const kind: DerivedKind | undefined = part.Type === 'TranscodeFiles' ? 'transcode' : part.Type === 'AdaptiveDynamicStreamingFiles' ? 'adaptiveDynamicStreaming' : undefined;
    if (kind) deleteDerived(ctx, media, (e) => e.kind === kind && (part.Definition === 0 || e.definition === part.Definition));
  }
  if (whole || deleteParts.some((p) => p.Type === 'OriginalFiles')) deleteMediaFiles(ctx, media, !whole);
  ctx.events.emitVodEvent(appId, 'FileDeleted', 'FileDeleteEvent', {
    FileIdSet: [fileId],
    FileDeleteResultInfo: [{ FileId: fileId, DeleteParts: whole ? DELETE_PART_TYPES.map((Type) => ({ Type, Definition: 0 })) : deleteParts }],
  });
  return {};
};

const pullEvents: ActionHandler = async ({ ctx, appId, signal }) => {
  const events = await ctx.events.pull(appId, signal);
  // VOD returns EventSet null when there is nothing (the SDK model says "may be null").
  return { EventSet: events.length > 0 ? events : null };
};

const confirmEvents: ActionHandler = ({ ctx, appId }, params) => {
  const handles = params.EventHandles;
  if (!Array.isArray(handles) || handles.length === 0) throw new ApiError('MissingParameter', 'The parameter EventHandles is required.');
  if (handles.length > MAX_EVENTS_PER_PULL) throw new ApiError('InvalidParameterValue', `EventHandles may hold at most ${MAX_EVENTS_PER_PULL} handles.`);
  if (handles.some((h) => typeof h !== 'string')) throw new ApiError('InvalidParameterValue', 'EventHandles must be strings.');
  const bad = ctx.events.confirm(appId, handles as string[]);
  if (bad.length > 0) {
    throw new ApiError('InvalidParameterValue.EventHandle', `Unknown, already confirmed or expired (older than 30 s) event handles: ${bad.join(', ')}`);
  }
  return {};
};

const modifyEventConfig: ActionHandler = ({ ctx, appId }, params) => {
  const change: Partial<EventConfig> = {};
  const mode = params.Mode;
  if (mode !== undefined && mode !== null) {
    if (mode !== 'PUSH' && mode !== 'PULL') throw new ApiError('InvalidParameterValue', 'Mode must be PUSH or PULL.');
    change.Mode = mode;
  }
  const url = optionalString(params, 'NotificationUrl', 1024);
  if (url !== undefined) {
    if (url !== '' && !/^https?:\/\/[^\s]+$/.test(url)) throw new ApiError('InvalidParameterValue', 'NotificationUrl must be an http(s) URL, or "" to clear it.');
    change.NotificationUrl = url;
  }
  for (const name of ['UploadMediaCompleteEventSwitch', 'DeleteMediaCompleteEventSwitch', 'PersistenceCompleteEventSwitch'] as const) {
    const value = optionalSwitch(params, name);
    if (value) change[name] = value;
  }
  const signKey = optionalString(params, 'SignKey');
  if (signKey !== undefined) {
    if (signKey !== '' && !/^[A-Za-z0-9]{1,32}$/.test(signKey)) throw new ApiError('InvalidParameterValue', 'SignKey must be letters and digits, at most 32.');
    change.SignKey = signKey;
  }
  ctx.events.setConfig(appId, change);
  return {};
};

const describeEventConfig: ActionHandler = ({ ctx, appId }) => {
  const c = ctx.events.config(appId);
  // SignKey is write-only: VOD's DescribeEventConfig response has no such field.
  return {
    Mode: c.Mode,
    NotificationUrl: c.NotificationUrl,
    UploadMediaCompleteEventSwitch: c.UploadMediaCompleteEventSwitch,
    DeleteMediaCompleteEventSwitch: c.DeleteMediaCompleteEventSwitch,
    PersistenceCompleteEventSwitch: c.PersistenceCompleteEventSwitch,
  };
};

const applyUploadAction: ActionHandler = ({ ctx, appId }, params) =>
  uploadCall(() => {
    const mediaType = requireString(params, 'MediaType');
    const region = optionalString(params, 'StorageRegion') ?? ctx.options.region;
    if (!ctx.options.storageRegions.includes(region)) {
      throw new ApiError('InvalidParameterValue.StorageRegion', `StorageRegion ${region} is not a storage region of this application.`);
    }
    const coverType = optionalString(params, 'CoverType');
    const { session, credential } = applyUpload(ctx, {
      appId,
      subAppId: appId === ctx.options.appId ? undefined : appId,
      region,
      video: { name: optionalString(params, 'MediaName') ?? 'media', type: mediaType },
      cover: coverType ? { name: 'cover', type: coverType } : undefined,
      classId: optionalInteger(params, 'ClassId'),
      procedure: optionalString(params, 'Procedure'),
      sourceContext: optionalString(params, 'SourceContext', MAX_SOURCE_CONTEXT_LENGTH),
      sessionContext: optionalString(params, 'SessionContext', MAX_SESSION_CONTEXT_LENGTH, 'InvalidParameterValue.SessionContextTooLong'),
      mediaExpireTime: optionalString(params, 'ExpireTime'),
      via: 'api',
    });
    return {
      StorageBucket: session.bucket,
      StorageRegion: session.region,
      VodSessionKey: session.vodSessionKey,
      MediaStoragePath: session.video?.storagePath ?? null,
      CoverStoragePath: session.cover?.storagePath ?? null,
      TempCertificate: {
        SecretId: credential.secretId,
        SecretKey: credential.secretKey,
        Token: credential.token,
        ExpiredTime: credential.expiredTime,
      },
    };
  });

const commitUploadAction: ActionHandler = ({ ctx, appId }, params) =>
  uploadCall(async () => {
    const session = findSession(ctx, requireString(params, 'VodSessionKey'), appId);
    const media = await commitUpload(ctx, session);
    return {
      FileId: media.fileId,
      MediaUrl: media.videoKey ? mediaUrl(ctx, `/${media.videoKey}`) : null,
      CoverUrl: media.coverKey ? mediaUrl(ctx, `/${media.coverKey}`) : null,
    };
  });

/** The action table. */
export const API_ACTIONS: Record<string, ActionHandler> = {
  DescribeMediaInfos: describeMediaInfos,
  SearchMedia: searchMedia,
  DeleteMedia: deleteMedia,
  PullEvents: pullEvents,
  ConfirmEvents: confirmEvents,
  ModifyEventConfig: modifyEventConfig,
  DescribeEventConfig: describeEventConfig,
  ApplyUpload: applyUploadAction,
  CommitUpload: commitUploadAction,
  ...PROCESSING_ACTIONS,
};

function appIdFor(ctx: EmulatorContext, params: Record<string, unknown>): number {
  const sub = params.SubAppId;
  if (sub === undefined || sub === null || sub === 0 || sub === ctx.options.appId) return ctx.options.appId;
  if (typeof sub !== 'number' || !ctx.options.subAppIds.includes(sub)) {
    throw new ApiError('InvalidParameterValue.SubAppId', `SubAppId ${String(sub)} is not an application of this account.`);
  }
  return sub;
}

export function sendApiResponse(req: IncomingMessage, res: ServerResponse, requestId: string, body: Record<string, unknown>): void {
  sendJson(req, res, 200, { Response: { ...body, RequestId: requestId } });
}

export function sendApiError(req: IncomingMessage, res: ServerResponse, requestId: string, code: string, message: string): void {
  sendApiResponse(req, res, requestId, { Error: { Code: code, Message: message } });
}

/** Handles one API 3.0 request. Fault injection is applied by the caller (index.ts). */
export async function handleApi(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  actions: Record<string, ActionHandler>,
  body: Buffer,
  requestId: string,
): Promise<void> {
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  try {
    const action = req.headers['x-tc-action'];
    if (typeof action !== 'string' || action === '') throw new ApiError('MissingParameter', 'The X-TC-Action header is required.');
    const [path = '/', rawQuery = ''] = (req.url ?? '/').split('?', 2);
    verifyTc3({ method: req.method ?? 'POST', path: path.replace(/^https?:\/\/[^/]+/, '') || '/', rawQuery, headers: req.headers, body }, ctx.options.credentials, ctx.now());
    const version = req.headers['x-tc-version'];
    if (version !== API_VERSION) throw new ApiError('NoSuchVersion', `The API version ${String(version)} does not exist; use ${API_VERSION}.`);
    const handler = Object.hasOwn(actions, action) ? actions[action] : undefined;
    if (!handler) throw new ApiError('InvalidAction', `The action ${action} does not exist.`);
    let params: Record<string, unknown>;
    try {
      const parsed: unknown = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      params = parsed as Record<string, unknown>;
    } catch {
      throw new ApiError('InvalidParameter', 'The request body must be a JSON object.');
    }
    const regionHeader = req.headers['x-tc-region'];
    const result = await handler(
      { ctx, appId: appIdFor(ctx, params), requestId, region: typeof regionHeader === 'string' ? regionHeader : undefined, signal: abort.signal },
      params,
    );
    sendApiResponse(req, res, requestId, result);
  } catch (error) {
    if (error instanceof ApiError) return sendApiError(req, res, requestId, error.code, error.message);
    if (error instanceof BodyTooLargeError) return sendApiError(req, res, requestId, 'InvalidParameter', error.message);
    ctx.options.log(`API call failed: ${error instanceof Error ? error.stack : String(error)}`);
    sendApiError(req, res, requestId, 'InternalError', 'An internal error occurred.');
  }
}

/** Reads the body of an API call (bounded). */
export const readApiBody = (req: IncomingMessage) => readBody(req, 10 << 20);
