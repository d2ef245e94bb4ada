/**
 * The v3 event wire format (vod-protocol.md §4; field lists from tencentcloud-sdk-nodejs-vod's
 * `vod_models.d.ts`) and its translation into the domain types of the event model (`events.ts`,
 * `media.ts`, `subtasks.ts`).
 *
 * Lenient where Tencent is inconsistent, strict where a wrong value would be dangerous:
 * - null, missing and (for optional strings) "" all mean "absent": PUSH omits nulls, PULL sends them,
 *   and real PUSH bodies have been seen carrying nulls too. Unknown fields are ignored.
 * - Numbers are numbers in every doc example; a numeric string ("600") is still accepted and
 *   converted, since rejecting a whole event over the quoting of a size would help no one.
 * - A subtask's `Input` is only VOD's echo of our own request and doc examples show malformed ones
 *   (`"Definition": [3, 6, 9]`), so anything unreadable there becomes undefined instead of an error.
 * - Strict: ids (FileId/TaskId must be strings — a JSON number would already have lost digits),
 *   statuses (an unrecognised status must never be read as success), and every URL we may hand to a
 *   client (http or https only).
 */
import * as z from 'zod';
import { TASK_NOTIFY_MODES, type TaskNotifyMode } from '#lib/upload-signature';
import { contentDigest } from './dedupe.ts';
import { VodEventError, type EventPath } from './error.ts';
import {
  IGNORED_EVENT_TYPES,
  PROCEDURE_STATUSES,
  type FileDeletedEvent,
  type FileDeletion,
  type IgnoredEventType,
  type NewFileUploadEvent,
  type ProcedureStateChangedEvent,
  type VodEvent,
} from './events.ts';
import type {
  AdaptiveStream,
  AnimatedGraphic,
  AudioStream,
  Cover,
  ImageSprite,
  MediaBasicInfo,
  MediaMetaData,
  Rendition,
  SampleSnapshotSet,
  SnapshotSet,
  VideoStream,
} from './media.ts';
import {
  MEDIA_PROCESS_TASK_FIELDS,
  SUBTASK_STATUSES,
  type MediaProcessResult,
  type MediaProcessTaskType,
  type SubtaskState,
  type SubtaskStatus,
  type TaskInput,
  type UnknownTaskResult,
} from './subtasks.ts';

// ---------------------------------------------------------------------------------------------
// Field primitives

/** Tencent ids (`5285890784273533167`, `1256768367-Procedure-475b…t2`): no spaces, quotes or slashes. */
const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
const ID_RULE = 'must be 1-128 letters, digits, ".", "_" or "-"';
const EVENT_TYPE_PATTERN = /^[A-Za-z0-9_]{1,100}$/;

const id = z.string({ error: 'is required and must be a string' }).regex(ID_PATTERN, ID_RULE);
const optionalText = z
  .string({ error: 'must be a string' })
  .nullish()
  .transform((v) => (v ? v : undefined));
const optionalId = optionalText.refine((v) => v === undefined || ID_PATTERN.test(v), ID_RULE);
const text = z
  .string({ error: 'must be a string' })
  .nullish()
  .transform((v) => v ?? '');
const numeric = z.union(
  // Bounded digits: a 400-digit string would become Infinity.
  [z.number(), z.string().regex(/^\s*-?\d{1,16}(\.\d{1,16})?\s*$/).transform(Number)],
  { error: 'must be a number' },
);
const optionalNumber = numeric.nullish().transform((v) => v ?? undefined);
const numberOrZero = numeric.nullish().transform((v) => v ?? 0);

function isHttpUrl(value: string): boolean {
  if (!/^https?:\/\//i.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}
const optionalUrl = optionalText.refine((v) => v === undefined || isHttpUrl(v), 'must be an http(s) URL');
const urlList = z
  .array(optionalUrl)
  .nullish()
  .transform((urls) => (urls ?? []).filter((u): u is string => u !== undefined));

function list<T extends z.ZodType>(item: T) {
  return z
    .array(item)
    .nullish()
    .transform((v): z.output<T>[] => v ?? []);
}

/** Timestamps are informational; VOD sends `0000-00-00T00:00:00Z` for "not recorded". */
const timestamp = z
  .unknown()
  .optional()
  .transform((v) => (typeof v === 'string' && !v.startsWith('0000') && !Number.isNaN(Date.parse(v)) ? v : undefined));

const notifyMode = z
  .unknown()
  .optional()
  .transform((v) => ((TASK_NOTIFY_MODES as readonly unknown[]).includes(v) ? (v as TaskNotifyMode) : undefined));

const watermarkDefinitions = list(numeric).catch([]);

// ---------------------------------------------------------------------------------------------
// Media description (NewFileUpload, ProcedureStateChanged.MetaData)

const videoStream = z
  .object({ Bitrate: optionalNumber, Height: optionalNumber, Width: optionalNumber, Codec: optionalText, Fps: optionalNumber, CodecTag: optionalText })
  .transform((s): VideoStream => ({ bitrate: s.Bitrate, height: s.Height, width: s.Width, codec: s.Codec, fps: s.Fps, codecTag: s.CodecTag }));

const audioStream = z
  .object({ Bitrate: optionalNumber, SamplingRate: optionalNumber, Codec: optionalText })
  .transform((s): AudioStream => ({ bitrate: s.Bitrate, samplingRate: s.SamplingRate, codec: s.Codec }));

const metaData = z
  .object({
    Size: optionalNumber,
    Container: optionalText,
    Bitrate: optionalNumber,
    Height: optionalNumber,
    Width: optionalNumber,
    Duration: optionalNumber,
    Rotate: optionalNumber,
    VideoStreamSet: list(videoStream),
    AudioStreamSet: list(audioStream),
    VideoDuration: optionalNumber,
    AudioDuration: optionalNumber,
    Md5: optionalText,
  })
  .nullish()
  .transform((m): MediaMetaData | undefined =>
    m
      ? {
          size: m.Size,
          container: m.Container,
          bitrate: m.Bitrate,
          height: m.Height,
          width: m.Width,
          duration: m.Duration,
          rotate: m.Rotate,
          videoDuration: m.VideoDuration,
          audioDuration: m.AudioDuration,
          md5: m.Md5,
          videoStreams: m.VideoStreamSet,
          audioStreams: m.AudioStreamSet,
        }
      : undefined,
  );

const mediaBasicInfo = z
  .object({
    Name: optionalText,
    Description: optionalText,
    CreateTime: optionalText,
    UpdateTime: optionalText,
    ExpireTime: optionalText,
    ClassId: optionalNumber,
    ClassName: optionalText,
    ClassPath: optionalText,
    CoverUrl: optionalUrl,
    Type: optionalText,
    MediaUrl: optionalUrl,
    SourceInfo: z.object({ SourceType: optionalText, SourceContext: optionalText }).nullish(),
    StorageRegion: optionalText,
    StoragePath: optionalText,
    TagSet: list(z.string()).catch([]),
    Vid: optionalText,
    Category: optionalText,
    Status: optionalText,
    StorageClass: optionalText,
  })
  .nullish()
  .transform((b) => ({
    sourceContext: b?.SourceInfo?.SourceContext,
    media: {
      name: b?.Name,
      description: b?.Description,
      createTime: b?.CreateTime,
      updateTime: b?.UpdateTime,
      expireTime: b?.ExpireTime,
      classId: b?.ClassId,
      className: b?.ClassName,
      classPath: b?.ClassPath,
      coverUrl: b?.CoverUrl,
      type: b?.Type,
      mediaUrl: b?.MediaUrl,
      sourceType: b?.SourceInfo?.SourceType,
      storageRegion: b?.StorageRegion,
      storagePath: b?.StoragePath,
      tagSet: b?.TagSet ?? [],
      vid: b?.Vid,
      category: b?.Category,
      status: b?.Status,
      storageClass: b?.StorageClass,
    } satisfies MediaBasicInfo,
  }));

// ---------------------------------------------------------------------------------------------
// Payloads

const fileUploadTask = z
  .object({
    FileId: id,
    MediaBasicInfo: mediaBasicInfo,
    ProcedureTaskId: optionalId,
    ReviewAudioVideoTaskId: optionalId,
    MetaData: metaData,
  })
  .transform(
    (t): Omit<NewFileUploadEvent, 'kind' | 'eventHandle'> => ({
      fileId: t.FileId,
      sourceContext: t.MediaBasicInfo.sourceContext,
      procedureTaskId: t.ProcedureTaskId,
      reviewAudioVideoTaskId: t.ReviewAudioVideoTaskId,
      media: t.MediaBasicInfo.media,
      metaData: t.MetaData,
    }),
  );

const procedureTask = z.object({
  TaskId: id,
  Status: z.enum(PROCEDURE_STATUSES, { error: `must be one of ${PROCEDURE_STATUSES.join(', ')}` }),
  ErrCode: numberOrZero,
  Message: text,
  FileId: id,
  FileName: optionalText,
  FileUrl: optionalUrl,
  MetaData: metaData,
  MediaProcessResultSet: list(z.looseObject({ Type: z.string({ error: 'is required and must be a string' }) })),
  TasksPriority: optionalNumber.catch(undefined),
  TasksNotifyMode: notifyMode,
  SessionContext: optionalText,
  SessionId: optionalText,
});

const fileDeleteTask = z.object({
  FileIdSet: list(id),
  FileDeleteResultInfo: list(
    z.object({
      FileId: id,
      DeleteParts: list(z.object({ Type: z.string({ error: 'is required and must be a string' }), Definition: numberOrZero })),
    }),
  ),
});

// ---------------------------------------------------------------------------------------------
// MediaProcessResultSet subtasks

const taskInput = z
  .object({ Definition: optionalNumber.catch(undefined), WatermarkSet: list(z.looseObject({ Definition: optionalNumber })).catch([]) })
  .nullish()
  .catch(undefined)
  .transform(
    (i): TaskInput => ({
      definition: i?.Definition,
      watermarkDefinitions: (i?.WatermarkSet ?? []).flatMap((w) => (w.Definition === undefined ? [] : [w.Definition])),
    }),
  );

/** A finished subtask reads 100 (VOD often reports 0 there); a running one is clamped to 0–100. */
function progressOf(status: SubtaskStatus | string | undefined, reported: number | undefined): number {
  if (status === 'SUCCESS' || status === 'FAIL') return 100;
  return Math.min(100, Math.max(0, reported ?? 0));
}

/** The common fields of every `MediaProcessTask*Result`, with its output schema. */
function subtask<O extends z.ZodType>(output: O) {
  return z
    .object({
      Status: z.enum(SUBTASK_STATUSES, { error: `must be one of ${SUBTASK_STATUSES.join(', ')}` }),
      ErrCode: numberOrZero,
      ErrCodeExt: text,
      Message: text,
      Progress: optionalNumber,
      BeginProcessTime: timestamp,
      FinishTime: timestamp,
      Input: taskInput,
      Output: output.nullish(),
    })
    .transform(
      (t): SubtaskState & { output: Exclude<z.output<O>, null> | undefined } => ({
        status: t.Status,
        errCode: t.ErrCode,
        errCodeExt: t.ErrCodeExt,
        message: t.Message,
        progress: progressOf(t.Status, t.Progress),
        beginProcessTime: t.BeginProcessTime,
        finishTime: t.FinishTime,
        input: t.Input,
        output: (t.Output ?? undefined) as Exclude<z.output<O>, null> | undefined,
      }),
    );
}

const rendition = z
  .object({
    Url: optionalUrl,
    Definition: optionalNumber,
    Bitrate: optionalNumber,
    Height: optionalNumber,
    Width: optionalNumber,
    Size: optionalNumber,
    Duration: optionalNumber,
    Md5: optionalText,
    Container: optionalText,
    VideoStreamSet: list(videoStream),
    AudioStreamSet: list(audioStream),
    DigitalWatermarkType: optionalText,
    FileId: optionalId,
  })
  .transform(
    (o): Rendition => ({
      url: o.Url,
      definition: o.Definition,
      width: o.Width,
      height: o.Height,
      bitrate: o.Bitrate,
      size: o.Size,
      duration: o.Duration,
      container: o.Container,
      md5: o.Md5,
      videoStreams: o.VideoStreamSet,
      audioStreams: o.AudioStreamSet,
      digitalWatermarkType: o.DigitalWatermarkType,
      fileId: o.FileId,
    }),
  );

const animatedGraphic = z
  .object({
    Url: optionalUrl,
    Definition: optionalNumber,
    Container: optionalText,
    Height: optionalNumber,
    Width: optionalNumber,
    Bitrate: optionalNumber,
    Size: optionalNumber,
    Md5: optionalText,
    StartTimeOffset: optionalNumber,
    EndTimeOffset: optionalNumber,
  })
  .transform(
    (o): AnimatedGraphic => ({
      url: o.Url,
      definition: o.Definition,
      container: o.Container,
      width: o.Width,
      height: o.Height,
      bitrate: o.Bitrate,
      size: o.Size,
      md5: o.Md5,
      startTimeOffset: o.StartTimeOffset,
      endTimeOffset: o.EndTimeOffset,
    }),
  );

const snapshotSet = z
  .object({
    Definition: optionalNumber,
    PicInfoSet: list(z.object({ TimeOffset: optionalNumber, Url: optionalUrl, WaterMarkDefinition: watermarkDefinitions })),
  })
  .transform(
    (o): SnapshotSet => ({
      definition: o.Definition,
      pictures: o.PicInfoSet.map((p) => ({ timeOffsetMs: p.TimeOffset, url: p.Url, watermarkDefinitions: p.WaterMarkDefinition })),
    }),
  );

const sampleSnapshotSet = z
  .object({
    Definition: optionalNumber,
    SampleType: optionalText,
    Interval: optionalNumber,
    ImageUrlSet: urlList,
    // One doc example lists the images as `PicInfoSet` (the time-offset shape); read it as a fallback.
    PicInfoSet: list(z.object({ Url: optionalUrl })).catch([]),
    WaterMarkDefinition: watermarkDefinitions,
  })
  .transform(
    (o): SampleSnapshotSet => ({
      definition: o.Definition,
      sampleType: o.SampleType,
      interval: o.Interval,
      imageUrls: o.ImageUrlSet.length > 0 ? o.ImageUrlSet : o.PicInfoSet.flatMap((p) => (p.Url === undefined ? [] : [p.Url])),
      watermarkDefinitions: o.WaterMarkDefinition,
    }),
  );

const imageSprite = z
  .object({
    Definition: optionalNumber,
    Height: optionalNumber,
    Width: optionalNumber,
    TotalCount: optionalNumber,
    ImageUrlSet: urlList,
    WebVttUrl: optionalUrl,
  })
  .transform(
    (o): ImageSprite => ({
      definition: o.Definition,
      width: o.Width,
      height: o.Height,
      totalCount: o.TotalCount,
      imageUrls: o.ImageUrlSet,
      webVttUrl: o.WebVttUrl,
    }),
  );

const cover = z.object({ CoverUrl: optionalUrl }).transform((o): Cover => ({ coverUrl: o.CoverUrl }));

const adaptiveStream = z
  .object({
    Definition: optionalNumber,
    Package: optionalText,
    DrmType: optionalText,
    Url: optionalUrl,
    Size: optionalNumber,
    DigitalWatermarkType: optionalText,
    SubStreamSet: list(z.object({ Type: optionalText, Width: optionalNumber, Height: optionalNumber, Size: optionalNumber })),
  })
  .transform(
    (o): AdaptiveStream => ({
      url: o.Url,
      definition: o.Definition,
      package: o.Package?.toUpperCase(),
      drmType: o.DrmType,
      size: o.Size,
      digitalWatermarkType: o.DigitalWatermarkType,
      subStreams: o.SubStreamSet.map((s) => ({ type: s.Type, width: s.Width, height: s.Height, size: s.Size })),
    }),
  );

/** Output schema per `MediaProcessResultSet[].Type`; the field each sits in is MEDIA_PROCESS_TASK_FIELDS. */
const SUBTASK_SCHEMAS = {
  Transcode: subtask(rendition),
  AnimatedGraphics: subtask(animatedGraphic),
  SnapshotByTimeOffset: subtask(snapshotSet),
  SampleSnapshot: subtask(sampleSnapshotSet),
  ImageSprites: subtask(imageSprite),
  CoverBySnapshot: subtask(cover),
  AdaptiveDynamicStreaming: subtask(adaptiveStream),
} as const satisfies Record<MediaProcessTaskType, z.ZodType>;

/** Whatever an unknown subtask type reports about itself, read without failing. */
const unknownSubtask = z
  .object({
    Status: optionalText.catch(undefined),
    ErrCode: numberOrZero.catch(0),
    ErrCodeExt: text.catch(''),
    Message: text.catch(''),
    Progress: optionalNumber.catch(undefined),
  })
  .catch({ Status: undefined, ErrCode: 0, ErrCodeExt: '', Message: '', Progress: undefined });

function parseResult(item: { Type: string } & Record<string, unknown>, path: EventPath): MediaProcessResult {
  // The API model's comment spells it "ImageSprite" once; every example says "ImageSprites".
  const type = item.Type === 'ImageSprite' ? 'ImageSprites' : item.Type;
  switch (type) {
    case 'Transcode':
      return { type, ...subtaskAt('Transcode', item, path) };
    case 'AnimatedGraphics':
      return { type, ...subtaskAt('AnimatedGraphics', item, path) };
    case 'SnapshotByTimeOffset':
      return { type, ...subtaskAt('SnapshotByTimeOffset', item, path) };
    case 'SampleSnapshot':
      return { type, ...subtaskAt('SampleSnapshot', item, path) };
    case 'ImageSprites':
      return { type, ...subtaskAt('ImageSprites', item, path) };
    case 'CoverBySnapshot':
      return { type, ...subtaskAt('CoverBySnapshot', item, path) };
    case 'AdaptiveDynamicStreaming':
      return { type, ...subtaskAt('AdaptiveDynamicStreaming', item, path) };
    default:
      return unknownResult(item);
  }
}

function subtaskAt<K extends MediaProcessTaskType>(type: K, item: Record<string, unknown>, path: EventPath): z.output<(typeof SUBTASK_SCHEMAS)[K]> {
  const field = MEDIA_PROCESS_TASK_FIELDS[type];
  const task = item[field];
  if (task === null || task === undefined) throw new VodEventError(`is required when Type is ${type}`, [...path, field]);
  return parseAt(SUBTASK_SCHEMAS[type], task, [...path, field]) as z.output<(typeof SUBTASK_SCHEMAS)[K]>;
}

function unknownResult(item: { Type: string } & Record<string, unknown>): UnknownTaskResult {
  // Tencent names every result field `<Something>Task`; take the one that is filled in.
  const task = Object.entries(item).find(([key, value]) => key.endsWith('Task') && isObject(value))?.[1];
  const t = unknownSubtask.parse(task ?? {});
  return {
    type: 'Unknown',
    rawType: item.Type,
    status: t.Status,
    errCode: t.ErrCode,
    errCodeExt: t.ErrCodeExt,
    message: t.Message,
    progress: progressOf(t.Status, t.Progress),
  };
}

// ---------------------------------------------------------------------------------------------
// Envelope

const envelope = z.looseObject({
  EventType: z.string({ error: 'is required and must be a string' }).regex(EVENT_TYPE_PATTERN, 'must be 1-100 letters, digits or "_"'),
  EventHandle: optionalText,
});

/** Parse `input` (a decoded JSON value) as one v3 event: a PUSH body or a PULL `EventSet` entry. */
export function parseEvent(input: unknown, path: EventPath): VodEvent {
  if (!isObject(input)) throw path.length === 0 ? new VodEventError('A VOD event must be a JSON object') : new VodEventError('must be a JSON object', path);
  const { EventType: eventType, EventHandle: eventHandle } = parseAt(envelope, input, path);

  switch (eventType) {
    case 'NewFileUpload':
      return { kind: 'NewFileUpload', eventHandle, ...payloadAt(fileUploadTask, input, 'FileUploadEvent', eventType, path) };
    case 'ProcedureStateChanged':
      return procedureStateChanged(input, eventHandle, path);
    case 'FileDeleted':
      return fileDeleted(input, eventHandle, path);
  }
  if ((IGNORED_EVENT_TYPES as readonly string[]).includes(eventType)) {
    return { kind: 'Ignored', eventType: eventType as IgnoredEventType, eventHandle, taskId: payloadTaskId(input), contentDigest: contentDigest(input) };
  }
  return { kind: 'Unknown', eventType, eventHandle, contentDigest: contentDigest(input) };
}

function procedureStateChanged(input: Record<string, unknown>, eventHandle: string | undefined, path: EventPath): ProcedureStateChangedEvent {
  const t = payloadAt(procedureTask, input, 'ProcedureStateChangeEvent', 'ProcedureStateChanged', path);
  const resultsPath = [...path, 'ProcedureStateChangeEvent', 'MediaProcessResultSet'];
  return {
    kind: 'ProcedureStateChanged',
    eventHandle,
    taskId: t.TaskId,
    status: t.Status,
    fileId: t.FileId,
    fileName: t.FileName,
    fileUrl: t.FileUrl,
    errCode: t.ErrCode,
    message: t.Message,
    metaData: t.MetaData,
    sessionContext: t.SessionContext,
    sessionId: t.SessionId,
    tasksPriority: t.TasksPriority,
    tasksNotifyMode: t.TasksNotifyMode,
    results: t.MediaProcessResultSet.map((item, i) => parseResult(item, [...resultsPath, i])),
  };
}

function fileDeleted(input: Record<string, unknown>, eventHandle: string | undefined, path: EventPath): FileDeletedEvent {
  const t = payloadAt(fileDeleteTask, input, 'FileDeleteEvent', 'FileDeleted', path);
  const deletions = new Map<string, FileDeletion>();
  for (const info of t.FileDeleteResultInfo) {
    const parts = info.DeleteParts.map((p) => ({ type: p.Type, definition: p.Definition }));
    deletions.set(info.FileId, { fileId: info.FileId, entireMedia: parts.length === 0, parts });
  }
  // A file named only in FileIdSet (the documented minimal form) was deleted as a whole.
  for (const fileId of t.FileIdSet) {
    if (!deletions.has(fileId)) deletions.set(fileId, { fileId, entireMedia: true, parts: [] });
  }
  if (deletions.size === 0) throw new VodEventError('must name at least one file', [...path, 'FileDeleteEvent', 'FileIdSet']);
  const fileIds = [...new Set([...t.FileIdSet, ...deletions.keys()])];
  return { kind: 'FileDeleted', eventHandle, fileIds, deletions: fileIds.map((fileId) => deletions.get(fileId)!) };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function parseAt<S extends z.ZodType>(schema: S, value: unknown, path: EventPath): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw VodEventError.fromZod(result.error, path);
  return result.data;
}

/** The payload field named for the EventType must be there: an event without it says nothing. */
function payloadAt<S extends z.ZodType>(schema: S, input: Record<string, unknown>, field: string, eventType: string, path: EventPath): z.output<S> {
  const payload = input[field];
  if (payload === null || payload === undefined) throw new VodEventError(`is required when EventType is ${eventType}`, [...path, field]);
  return parseAt(schema, payload, [...path, field]);
}

function payloadTaskId(input: Record<string, unknown>): string | undefined {
  for (const value of Object.values(input)) {
    if (isObject(value) && typeof value.TaskId === 'string' && value.TaskId !== '') return value.TaskId;
  }
  return undefined;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
