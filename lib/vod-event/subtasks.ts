/**
 * The subtasks of a procedure (`MediaProcessResultSet`, docs/vod-protocol/events.md §4.3; conventions in
 * `events.ts`): their states, and the output each type produces.
 */
import type { AdaptiveStream, AnimatedGraphic, Cover, ImageSprite, Rendition, SampleSnapshotSet, SnapshotSet } from './media.ts';

export const SUBTASK_STATUSES = ['PROCESSING', 'SUCCESS', 'FAIL'] as const;
export type SubtaskStatus = (typeof SUBTASK_STATUSES)[number];

export { MEDIA_PROCESS_TASK_FIELDS, type MediaProcessTaskType } from '#contract';

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

interface TranscodeResult extends SubtaskState {
  type: 'Transcode';
  output?: Rendition;
}
interface AnimatedGraphicsResult extends SubtaskState {
  type: 'AnimatedGraphics';
  output?: AnimatedGraphic;
}
interface SnapshotByTimeOffsetResult extends SubtaskState {
  type: 'SnapshotByTimeOffset';
  output?: SnapshotSet;
}
interface SampleSnapshotResult extends SubtaskState {
  type: 'SampleSnapshot';
  output?: SampleSnapshotSet;
}
interface ImageSpritesResult extends SubtaskState {
  type: 'ImageSprites';
  output?: ImageSprite;
}
interface CoverBySnapshotResult extends SubtaskState {
  type: 'CoverBySnapshot';
  output?: Cover;
}
interface AdaptiveDynamicStreamingResult extends SubtaskState {
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
