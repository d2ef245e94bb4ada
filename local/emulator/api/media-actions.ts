/** API 3.0 actions on media files: DescribeMediaInfos, SearchMedia, DeleteMedia (ForbidMediaDistribution: forbid-actions.ts). */
import { MEDIA_DELETE_PART_TYPES } from '#contract';
import { deleteDerived } from '../processing/publish.ts';
import type { DerivedKind, MediaRecord } from '../state.ts';
import { deleteMediaFiles } from '../uploads.ts';
import type { ActionHandler } from './endpoint.ts';
import { ApiError } from './error.ts';
import { mediaStatus } from './forbid-actions.ts';
import { requireString } from './params.ts';

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

/** Processing outputs of one kind, in definition order (DescribeMediaInfos). */
function derivedItems(media: MediaRecord, kind: DerivedKind): Record<string, unknown>[] {
  return (media.derived ?? [])
    .filter((d) => d.kind === kind)
    .sort((a, b) => a.definition - b.definition)
    .map((d) => d.item);
}

export const describeMediaInfos: ActionHandler = ({ ctx, appId }, params) => {
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
      BasicInfo: wants('basicInfo') ? { ...media.basicInfo, Status: mediaStatus(media) } : null,
      MetaData: wants('metaData') ? media.metaData : null,
      TranscodeInfo: wants('transcodeInfo') ? { TranscodeSet: derivedItems(media, 'transcode') } : null,
      AnimatedGraphicsInfo: wants('animatedGraphicsInfo')
        ? { AnimatedGraphicsSet: derivedItems(media, 'animatedGraphics') }
        : null,
      SampleSnapshotInfo: wants('sampleSnapshotInfo') ? { SampleSnapshotSet: derivedItems(media, 'sampleSnapshot') } : null,
      ImageSpriteInfo: wants('imageSpriteInfo') ? { ImageSpriteSet: derivedItems(media, 'imageSprite') } : null,
      SnapshotByTimeOffsetInfo: wants('snapshotByTimeOffsetInfo')
        ? { SnapshotByTimeOffsetSet: derivedItems(media, 'snapshotByTimeOffset') }
        : null,
      KeyFrameDescInfo: null,
      AdaptiveDynamicStreamingInfo: wants('adaptiveDynamicStreamingInfo')
        ? { AdaptiveDynamicStreamingSet: derivedItems(media, 'adaptiveDynamicStreaming') }
        : null,
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
export const searchMedia: ActionHandler = (call, params) => {
  const { ctx, appId } = call;
  const offset = params.Offset === undefined ? 0 : params.Offset;
  const limit = params.Limit === undefined ? 10 : params.Limit;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0)
    throw new ApiError('InvalidParameterValue.Offset', 'Offset must be a non-negative integer.');
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)
    throw new ApiError('InvalidParameterValue.Limit', 'Limit must be a positive integer.');
  if (offset + limit > SEARCH_MAX_WINDOW)
    throw new ApiError('InvalidParameterValue.Limit', `Offset + Limit must be at most ${SEARCH_MAX_WINDOW}.`);
  const list = (name: string): string[] | undefined => {
    const value = params[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
      throw new ApiError(`InvalidParameterValue.${name}`, `${name} must be a list of strings.`);
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
    const described = describeMediaInfos(call, { Filters: params.Filters, FileIds: page.slice(i, i + 20) }) as {
      MediaInfoSet: unknown[];
    };
    MediaInfoSet.push(...described.MediaInfoSet);
  }
  return { TotalCount: Math.min(matches.length, SEARCH_MAX_WINDOW), MediaInfoSet };
};

export const deleteMedia: ActionHandler = ({ ctx, appId }, params) => {
  const fileId = requireString(params, 'FileId');
  const media = ctx.store.doc.media[fileId];
  if (!media || media.appId !== appId) throw new ApiError('ResourceNotFound.FileNotExist', `The media ${fileId} does not exist.`);
  const parts = params.DeleteParts ?? [];
  if (!Array.isArray(parts)) throw new ApiError('InvalidParameterValue', 'DeleteParts must be an array.');
  const deleteParts = parts.map((p: unknown) => {
    const part = (p ?? {}) as Record<string, unknown>;
    if (typeof part.Type !== 'string' || !MEDIA_DELETE_PART_TYPES.includes(part.Type)) {
      throw new ApiError('InvalidParameterValue', `DeleteParts.Type must be one of ${MEDIA_DELETE_PART_TYPES.join(', ')}.`);
    }
    return { Type: part.Type, Definition: typeof part.Definition === 'number' ? part.Definition : 0 };
  });
  const whole = deleteParts.length === 0;
  for (const part of deleteParts) {
    const kind: DerivedKind | undefined =
      part.Type === 'TranscodeFiles'
        ? 'transcode'
        : part.Type === 'AdaptiveDynamicStreamingFiles'
          ? 'adaptiveDynamicStreaming'
          : undefined;
    if (kind) deleteDerived(ctx, media, (e) => e.kind === kind && (part.Definition === 0 || e.definition === part.Definition));
  }
  if (whole || deleteParts.some((p) => p.Type === 'OriginalFiles')) deleteMediaFiles(ctx, media, !whole);
  // A whole-media deletion reports `DeleteParts: []` (docs/vod-protocol/events.md, FileDeleted).
  ctx.events.emitVodEvent(appId, 'FileDeleted', 'FileDeleteEvent', {
    FileIdSet: [fileId],
    FileDeleteResultInfo: [{ FileId: fileId, DeleteParts: deleteParts }],
  });
  return {};
};
