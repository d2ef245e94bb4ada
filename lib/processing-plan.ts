/**
 * The processing pipeline as a ProcessMedia request (docs/vod-protocol/media-api.md §5.1), and the checks an uploaded
 * file must pass before it is processed. The pipeline is configuration with a version: the version goes
 * into the SessionId, and VOD refuses a SessionId it saw in the last three days
 * (`InvalidParameterValue.SessionId`), so a retried trigger for the same file and pipeline within three
 * days starts no second job; the reconciler then finds the first task with DescribeTasks, which lists
 * only the last three days' tasks too. After three days nothing at VOD prevents a second job: what keeps
 * an upload from being retried that late is the first task's own ProcedureStateChanged (its
 * SessionContext names the upload) moving it out of UPLOADED. A new pipeline version may process the
 * file again on purpose.
 */
import { createHash } from 'node:crypto';
import type { MediaRules, ProcessingPipeline } from '#lib/config';
import { encodeUploadContext } from '#lib/upload-context';
import type { MediaBasicInfo, MediaMetaData } from '#lib/vod-event';

/** VOD's limit on SessionId. */
const MAX_SESSION_ID_LENGTH = 50;

export function processingSessionId(fileId: string, pipelineVersion: string): string {
  const plain = `${fileId}-${pipelineVersion}`;
  if (plain.length <= MAX_SESSION_ID_LENGTH) return plain;
  return `h-${createHash('sha256')
    .update(plain)
    .digest('hex')
    .slice(0, MAX_SESSION_ID_LENGTH - 2)}`;
}

type Watermark = { Definition: number; TextContent?: string };

function watermarks(pipeline: ProcessingPipeline): Watermark[] {
  const set: Watermark[] = [];
  if (pipeline.watermarkDefinition !== undefined) set.push({ Definition: pipeline.watermarkDefinition });
  if (pipeline.watermarkText && pipeline.textWatermarkDefinition !== undefined) {
    set.push({ Definition: pipeline.textWatermarkDefinition, TextContent: pipeline.watermarkText });
  }
  return set;
}

function position(value: string): { PositionType: 'Time' | 'Percent'; PositionValue: number } {
  return value.endsWith('%')
    ? { PositionType: 'Percent', PositionValue: Number(value.slice(0, -1)) }
    : { PositionType: 'Time', PositionValue: Number(value.slice(0, -1)) };
}

export interface ProcessMediaInput {
  fileId: string;
  uploadId: string;
}

/** The ProcessMedia request body for one file, exactly as the SDK sends it (the VOD adapter adds the sub-app). */
export function processMediaRequest(pipeline: ProcessingPipeline, input: ProcessMediaInput) {
  const watermarkSet = watermarks(pipeline);
  const withWatermarks = watermarkSet.length > 0 ? { WatermarkSet: watermarkSet } : {};
  const task: Record<string, unknown[]> = {};
  if (pipeline.transcodeDefinitions.length > 0) {
    task.TranscodeTaskSet = pipeline.transcodeDefinitions.map((definition) => ({ Definition: definition, ...withWatermarks }));
  }
  if (pipeline.snapshotDefinition > 0 && pipeline.snapshotOffsets.length > 0) {
    task.SnapshotByTimeOffsetTaskSet = [{ Definition: pipeline.snapshotDefinition, ExtTimeOffsetSet: pipeline.snapshotOffsets }];
  }
  if (pipeline.coverDefinition > 0) {
    task.CoverBySnapshotTaskSet = [{ Definition: pipeline.coverDefinition, ...position(pipeline.coverPosition) }];
  }
  if (pipeline.spriteDefinition > 0) task.ImageSpriteTaskSet = [{ Definition: pipeline.spriteDefinition }];
  if (pipeline.gifDefinition > 0) {
    task.AnimatedGraphicTaskSet = [{ Definition: pipeline.gifDefinition, StartTimeOffset: 0, EndTimeOffset: 3 }];
  }
  if (pipeline.adaptiveDefinition > 0) {
    task.AdaptiveDynamicStreamingTaskSet = [{ Definition: pipeline.adaptiveDefinition, ...withWatermarks }];
  }
  return {
    FileId: input.fileId,
    MediaProcessTask: task,
    TasksPriority: pipeline.taskPriority,
    TasksNotifyMode: pipeline.notifyMode,
    SessionContext: encodeUploadContext({ uploadId: input.uploadId }),
    SessionId: processingSessionId(input.fileId, pipeline.version),
  };
}

/** Why an uploaded file is refused, or undefined when it may be processed. */
export function mediaRejection(
  rules: MediaRules,
  media: { basicInfo?: MediaBasicInfo; metaData?: MediaMetaData },
): string | undefined {
  const meta = media.metaData;
  if (meta === undefined) return undefined; // VOD may omit metadata; processing will report a broken file.
  if (meta.size !== undefined && meta.size > rules.maxSizeBytes) {
    return `The file is ${meta.size} bytes; at most ${rules.maxSizeBytes} are accepted`;
  }
  if (meta.duration !== undefined && meta.duration > rules.maxDurationSeconds) {
    return `The video lasts ${Math.round(meta.duration)} s; at most ${rules.maxDurationSeconds} s are accepted`;
  }
  if (meta.videoStreams.length === 0 && (rules.minWidth > 0 || rules.minHeight > 0 || rules.allowedVideoCodecs.length > 0)) {
    return 'The file has no video stream';
  }
  // Rotation swaps what a viewer sees; judge the displayed size.
  const rotated = meta.rotate === 90 || meta.rotate === 270;
  const width = rotated ? meta.height : meta.width;
  const height = rotated ? meta.width : meta.height;
  if ((width !== undefined && width < rules.minWidth) || (height !== undefined && height < rules.minHeight)) {
    return `The video is ${width}x${height}; at least ${rules.minWidth}x${rules.minHeight} is required`;
  }
  const container = (media.basicInfo?.type ?? '').toLowerCase();
  if (rules.allowedContainers.length > 0 && container && !rules.allowedContainers.includes(container)) {
    return `The container ${container} is not accepted; use ${rules.allowedContainers.join(', ')}`;
  }
  if (rules.allowedVideoCodecs.length > 0) {
    const refused = meta.videoStreams
      .map((s) => (s.codec ?? '').toLowerCase())
      .find((codec) => !rules.allowedVideoCodecs.includes(codec));
    if (refused !== undefined)
      return `The video codec ${refused || 'unknown'} is not accepted; use ${rules.allowedVideoCodecs.join(', ')}`;
  }
  return undefined;
}

/** The error code of an upload REJECTED because its file is not a video VOD can read. */
export const NOT_MEDIA = 'NotMedia';

/**
 * Whether processing failed because VOD could not read the file as video: a subtask error of the
 * `SourceFileError` family (docs/vod-protocol/error-codes.md §9.3: the source is not a media file, or has
 * no video stream). Such a file never becomes playable, so it is rejected and deleted, not kept as a
 * FAILED upload for the retention period. Only when nothing playable came out.
 */
export function unreadableAsVideo(summary: {
  failures: Array<{ errCodeExt: string }>;
  renditions: unknown[];
  adaptiveStreams: unknown[];
}): boolean {
  if (summary.renditions.length + summary.adaptiveStreams.length > 0) return false;
  return summary.failures.some((f) => /^SourceFileError(\.|$)/.test(f.errCodeExt));
}
