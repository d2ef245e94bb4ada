/**
 * The normalised, camel-cased VOD events the rest of the backend works with (vod-protocol.md §4).
 * Wire names (PascalCase, nulls, "" for "none") stay inside `#lib/vod-event/wire`; nothing else should
 * need to know them.
 *
 * Conventions: an optional field is `undefined` when Tencent sent it missing, null or "" (for strings
 * where "" means "none", e.g. `ProcedureTaskId: ""`); lists are always arrays (null → []).
 */
import type { TaskNotifyMode } from '#lib/upload-signature';

export type { TaskNotifyMode };

/** The three event types this backend acts on. */
export const ACTED_ON_EVENT_TYPES = ['NewFileUpload', 'ProcedureStateChanged', 'FileDeleted'] as const;
export type ActedOnEventType = (typeof ACTED_ON_EVENT_TYPES)[number];

/**
 * Every other v3 EventType of vod-protocol.md §4.1 (plus `ReduceMediaBitrateComplete`, which has its own
 * doc page): recognised, acknowledged, logged, never acted on.
 */
export const IGNORED_EVENT_TYPES = [
  'RestoreMediaComplete',
  'PullComplete',
  'EditMediaComplete',
  'SplitMediaComplete',
  'ComposeMediaComplete',
  'WechatPublishComplete',
  'WechatMiniProgramPublishComplete',
  'RemoveWatermark',
  'RebuildMediaComplete',
  'ReviewAudioVideoComplete',
  'ExtractTraceWatermarkComplete',
  'ExtractCopyRightWatermarkComplete',
  'ExtractBlindWatermarkComplete',
  'DescribeFileAttributesComplete',
  'QualityInspectComplete',
  'QualityEnhanceComplete',
  'MediaCastStatusChanged',
  'PersistenceComplete',
  'ComplexAdaptiveDynamicStreamingComplete',
  'ProcessMediaByMPSComplete',
  'AigcImageTaskComplete',
  'AigcVideoTaskComplete',
  'SceneAigcImageCompleteEvent',
  'ProcessImageAsyncCompleteEvent',
  'CreateAigcAdvancedCustomElementCompleteEvent',
  'CreateAigcCustomVoiceCompleteEvent',
  'DescribeAigcFaceInfoAsyncComplete',
  'ReduceMediaBitrateComplete',
  // 2017-compatible events
  'TranscodeComplete',
  'ConcatComplete',
  'ClipComplete',
  'CreateImageSpriteComplete',
  'CreateSnapshotByTimeOffsetComplete',
] as const;
export type IgnoredEventType = (typeof IGNORED_EVENT_TYPES)[number];

export type VodEvent = NewFileUploadEvent | ProcedureStateChangedEvent | FileDeletedEvent | IgnoredVodEvent | UnknownVodEvent;
export type VodEventKind = VodEvent['kind'];

interface EventEnvelope {
  /**
   * Present only on PULL (`PullEvents`) entries; confirm it with ConfirmEvents within 30 s. A receipt
   * for this delivery, not an id of the event: a redelivery may carry a new one.
   */
  eventHandle?: string;
}

/** `NewFileUpload` → `FileUploadEvent` (§4.2). */
export interface NewFileUploadEvent extends EventEnvelope {
  kind: 'NewFileUpload';
  fileId: string;
  /** The upload signature's `sourceContext`: how the event finds its upload. */
  sourceContext?: string;
  /** Set when a `procedure` in the signature already started processing. */
  procedureTaskId?: string;
  reviewAudioVideoTaskId?: string;
  media: MediaBasicInfo;
  metaData?: MediaMetaData;
}

export interface MediaBasicInfo {
  name?: string;
  description?: string;
  createTime?: string;
  updateTime?: string;
  /** ISO 8601; `9999-12-31T23:59:59Z` means never. */
  expireTime?: string;
  classId?: number;
  className?: string;
  classPath?: string;
  coverUrl?: string;
  /** Container, e.g. `mp4`. */
  type?: string;
  mediaUrl?: string;
  /** `Upload`, `Record`, `VideoProcessing`, … */
  sourceType?: string;
  storageRegion?: string;
  storagePath?: string;
  tagSet: string[];
  vid?: string;
  /** `Video`, `Audio` or `Image`. */
  category?: string;
  /** `Normal` or `Forbidden`. */
  status?: string;
  storageClass?: string;
}

export interface MediaMetaData {
  /** Bytes (for HLS: playlist plus segments). */
  size?: number;
  container?: string;
  /** bps, video + audio. */
  bitrate?: number;
  height?: number;
  width?: number;
  /** Seconds. */
  duration?: number;
  rotate?: number;
  videoDuration?: number;
  audioDuration?: number;
  md5?: string;
  videoStreams: VideoStream[];
  audioStreams: AudioStream[];
}

export interface VideoStream {
  bitrate?: number;
  height?: number;
  width?: number;
  codec?: string;
  fps?: number;
  codecTag?: string;
}

export interface AudioStream {
  bitrate?: number;
  samplingRate?: number;
  codec?: string;
}

/** `ProcedureStateChanged` → `ProcedureStateChangeEvent` (§4.3). */
export interface ProcedureStateChangedEvent extends EventEnvelope {
  kind: 'ProcedureStateChanged';
  taskId: string;
  status: ProcedureStatus;
  fileId: string;
  fileName?: string;
  fileUrl?: string;
  /** Procedure-level error (deprecated by Tencent in favour of per-task errors; 0 = none). */
  errCode: number;
  message: string;
  metaData?: MediaMetaData;
  /** What ProcessMedia was given as `SessionContext`: the upload id. */
  sessionContext?: string;
  sessionId?: string;
  tasksPriority?: number;
  /** Undefined when VOD sent "" or a value outside Finish|Change|None (a doc example has ""). */
  tasksNotifyMode?: TaskNotifyMode;
  results: MediaProcessResult[];
}

export const PROCEDURE_STATUSES = ['PROCESSING', 'FINISH'] as const;
export type ProcedureStatus = (typeof PROCEDURE_STATUSES)[number];

export const SUBTASK_STATUSES = ['PROCESSING', 'SUCCESS', 'FAIL'] as const;
export type SubtaskStatus = (typeof SUBTASK_STATUSES)[number];

/** `MediaProcessResultSet[].Type` values, each with the field that carries its result. */
export const MEDIA_PROCESS_TASK_FIELDS = {
  Transcode: 'TranscodeTask',
  AnimatedGraphics: 'AnimatedGraphicTask',
  SnapshotByTimeOffset: 'SnapshotByTimeOffsetTask',
  SampleSnapshot: 'SampleSnapshotTask',
  ImageSprites: 'ImageSpriteTask',
  CoverBySnapshot: 'CoverBySnapshotTask',
  AdaptiveDynamicStreaming: 'AdaptiveDynamicStreamingTask',
} as const;
export type MediaProcessTaskType = keyof typeof MEDIA_PROCESS_TASK_FIELDS;

/** What every subtask reports. */
export interface SubtaskState {
  status: SubtaskStatus;
  /** Deprecated numeric code; 0 = success. */
  errCode: number;
  /** "" = success; otherwise a code from Tencent's media-processing error list. */
  errCodeExt: string;
  message: string;
  /** 0–100. A finished subtask (SUCCESS or FAIL) always reads 100: VOD often sends 0 there. */
  progress: number;
  beginProcessTime?: string;
  finishTime?: string;
  input: TaskInput;
}

/** The part of a subtask's input this backend needs: which template ran, with which watermarks. */
export interface TaskInput {
  /** Undefined when VOD's echo of the input is not a number (doc examples are not always well-formed). */
  definition?: number;
  watermarkDefinitions: number[];
}

export type MediaProcessResult =
  | TranscodeResult
  | AnimatedGraphicsResult
  | SnapshotByTimeOffsetResult
  | SampleSnapshotResult
  | ImageSpritesResult
  | CoverBySnapshotResult
  | AdaptiveDynamicStreamingResult
  | UnknownTaskResult;

export interface TranscodeResult extends SubtaskState {
  type: 'Transcode';
  output?: Rendition;
}
export interface AnimatedGraphicsResult extends SubtaskState {
  type: 'AnimatedGraphics';
  output?: AnimatedGraphic;
}
export interface SnapshotByTimeOffsetResult extends SubtaskState {
  type: 'SnapshotByTimeOffset';
  output?: SnapshotSet;
}
export interface SampleSnapshotResult extends SubtaskState {
  type: 'SampleSnapshot';
  output?: SampleSnapshotSet;
}
export interface ImageSpritesResult extends SubtaskState {
  type: 'ImageSprites';
  output?: ImageSprite;
}
export interface CoverBySnapshotResult extends SubtaskState {
  type: 'CoverBySnapshot';
  output?: Cover;
}
export interface AdaptiveDynamicStreamingResult extends SubtaskState {
  type: 'AdaptiveDynamicStreaming';
  output?: AdaptiveStream;
}

/** A `Type` this code does not know: kept (and logged) rather than failing the whole event. */
export interface UnknownTaskResult {
  type: 'Unknown';
  rawType: string;
  /** The raw `Status`, when there was one to read. */
  status?: string;
  errCode: number;
  errCodeExt: string;
  message: string;
  progress: number;
}

/** `MediaTranscodeItem`. */
export interface Rendition {
  url?: string;
  /** Transcode template id (0 = the original file). */
  definition?: number;
  width?: number;
  height?: number;
  /** bps. */
  bitrate?: number;
  /** Bytes. */
  size?: number;
  /** Seconds. */
  duration?: number;
  container?: string;
  md5?: string;
  videoStreams: VideoStream[];
  audioStreams: AudioStream[];
  digitalWatermarkType?: string;
  /** Only when the rendition was written out as independent media. */
  fileId?: string;
}

/** `MediaAnimatedGraphicsItem`. */
export interface AnimatedGraphic {
  url?: string;
  definition?: number;
  /** `gif` or `webp`. */
  container?: string;
  width?: number;
  height?: number;
  bitrate?: number;
  size?: number;
  md5?: string;
  /** Seconds into the video. */
  startTimeOffset?: number;
  endTimeOffset?: number;
}

/** `MediaSnapshotByTimeOffsetItem`. */
export interface SnapshotSet {
  definition?: number;
  pictures: SnapshotPicture[];
}
export interface SnapshotPicture {
  /** Milliseconds per the API model (one doc example looks like seconds). */
  timeOffsetMs?: number;
  url?: string;
  watermarkDefinitions: number[];
}

/** `MediaSampleSnapshotItem`. */
export interface SampleSnapshotSet {
  definition?: number;
  /** `Percent` or `Time`. */
  sampleType?: string;
  interval?: number;
  imageUrls: string[];
  watermarkDefinitions: number[];
}

/** `MediaImageSpriteItem`. */
export interface ImageSprite {
  definition?: number;
  /** Size of one thumbnail inside a sprite sheet. */
  width?: number;
  height?: number;
  /** Thumbnails per sheet. */
  totalCount?: number;
  imageUrls: string[];
  /** Maps times to thumbnail positions. */
  webVttUrl?: string;
}

/** `CoverBySnapshotTaskOutput`. */
export interface Cover {
  coverUrl?: string;
}

/** `AdaptiveDynamicStreamingInfoItem`. */
export interface AdaptiveStream {
  url?: string;
  definition?: number;
  /** Upper-cased (`HLS`, `DASH`): doc examples also show `hls`. */
  package?: string;
  /** "" (clear) → undefined. */
  drmType?: string;
  size?: number;
  digitalWatermarkType?: string;
  subStreams: AdaptiveSubStream[];
}
export interface AdaptiveSubStream {
  /** `video`, `audio` or `subtitle`. */
  type?: string;
  width?: number;
  height?: number;
  size?: number;
}

/** `FileDeleted` → `FileDeleteEvent` (§4.4). */
export interface FileDeletedEvent extends EventEnvelope {
  kind: 'FileDeleted';
  /** Every file id the event names (`FileIdSet`, plus any only found in `FileDeleteResultInfo`). */
  fileIds: string[];
  deletions: FileDeletion[];
}

export interface FileDeletion {
  fileId: string;
  /**
   * True when the whole media went (no `DeleteParts`, as in DeleteMedia's default); false when only
   * some parts did (e.g. `TranscodeFiles`), in which case the media still exists.
   */
  entireMedia: boolean;
  parts: Array<{ type: string; definition: number }>;
}

/** A known EventType this backend does not act on. */
export interface IgnoredVodEvent extends EventEnvelope {
  kind: 'Ignored';
  eventType: IgnoredEventType;
  /** For logs, when the payload has one. */
  taskId?: string;
  /** Digest of the body (key order, nulls, Sign/T/EventHandle ignored): the de-dupe key's content part. */
  contentDigest: string;
}

/** An EventType newer than this code: acknowledged and reported, never an error. */
export interface UnknownVodEvent extends EventEnvelope {
  kind: 'Unknown';
  eventType: string;
  contentDigest: string;
}
