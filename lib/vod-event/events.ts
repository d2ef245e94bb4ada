/**
 * The normalised, camel-cased VOD events the rest of the backend works with (docs/vod-protocol/events.md §4).
 * Wire names (PascalCase, nulls, "" for "none") stay inside the wire module; nothing else should
 * need to know them.
 *
 * Conventions (here and in `media.ts`, `subtasks.ts`): an optional field is `undefined` when Tencent
 * sent it missing, null or "" (for strings where "" means "none", e.g. `ProcedureTaskId: ""`); lists
 * are always arrays (null → []).
 */
import type { TaskNotifyMode } from '#contract';
import type { VodEventError } from './error.ts';
import type { MediaBasicInfo, MediaMetaData } from './media.ts';
import type { MediaProcessResult } from './subtasks.ts';
import type { ReviewAudioVideoCompleteEvent } from './review.ts';

/**
 * Every v3 EventType of docs/vod-protocol/events.md §4.1 but the three this backend acts on (NewFileUpload,
 * ProcedureStateChanged, FileDeleted) and ReviewAudioVideoComplete (parsed, see `review.ts`), plus
 * `ReduceMediaBitrateComplete`, which has its own doc page: recognised, acknowledged, logged, never acted on.
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

export type VodEvent =
  | NewFileUploadEvent
  | ProcedureStateChangedEvent
  | FileDeletedEvent
  | IgnoredVodEvent
  | UnknownVodEvent
  | ReviewAudioVideoCompleteEvent;

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

/**
 * `ABORTED` is documented only as a task status (DescribeTaskDetail, DescribeTasks), not in the event
 * model; an event saying it is read the same: the task ended and did not succeed.
 */
export const PROCEDURE_STATUSES = ['PROCESSING', 'FINISH', 'ABORTED'] as const;
type ProcedureStatus = (typeof PROCEDURE_STATUSES)[number];

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
   * True when the whole media went: no `DeleteParts` (DeleteMedia's default; VOD reports `[]`) or every
   * part type. False when only some parts did (e.g. `TranscodeFiles`, or `OriginalFiles` alone: the SDK
   * model says the transcodes may outlive the original), in which case the media still exists.
   */
  entireMedia: boolean;
  parts: Array<{ type: string; definition: number }>;
}

/** A known EventType this backend does not act on. */
interface IgnoredVodEvent extends EventEnvelope {
  kind: 'Ignored';
  eventType: IgnoredEventType;
  /** For logs, when the payload has one. */
  taskId?: string;
  /** Digest of the body (key order, nulls, Sign/T/EventHandle ignored): the de-dupe key's content part. */
  contentDigest: string;
}

/** An EventType newer than this code: acknowledged and reported, never an error. */
interface UnknownVodEvent extends EventEnvelope {
  kind: 'Unknown';
  eventType: string;
  contentDigest: string;
}

/** One entry of a `PullEvents` response. */
export type PulledEvent =
  | { ok: true; event: VodEvent; eventHandle?: string }
  /** Keep the handle: whether to confirm a poison event (so it stops coming back) is the caller's call. */
  | { ok: false; error: VodEventError; eventHandle?: string };

export interface PulledEvents {
  requestId?: string;
  events: PulledEvent[];
}
