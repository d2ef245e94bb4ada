/**
 * `MediaProcessResultSet` of the wire format (rules in `fields.ts`): one entry per subtask, its state
 * and its output, the output under the field that its `Type` names.
 */
import * as z from 'zod';
import { VodEventError, type EventPath } from '../error.ts';
import {
  MEDIA_PROCESS_TASK_FIELDS,
  SUBTASK_STATUSES,
  type MediaProcessResult,
  type MediaProcessTaskType,
  type SubtaskState,
  type SubtaskStatus,
  type TaskInput,
  type UnknownTaskResult,
} from '../subtasks.ts';
import { isObject, list, numberOrZero, optionalNumber, optionalText, parseAt, text, timestamp } from './fields.ts';
import { adaptiveStream, animatedGraphic, cover, imageSprite, rendition, sampleSnapshotSet, snapshotSet } from './media.ts';

const taskInput = z
  .object({
    Definition: optionalNumber.catch(undefined),
    WatermarkSet: list(z.looseObject({ Definition: optionalNumber })).catch([]),
  })
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
    .transform((t): SubtaskState & { output: Exclude<z.output<O>, null> | undefined } => ({
      status: t.Status,
      errCode: t.ErrCode,
      errCodeExt: t.ErrCodeExt,
      message: t.Message,
      progress: progressOf(t.Status, t.Progress),
      beginProcessTime: t.BeginProcessTime,
      finishTime: t.FinishTime,
      input: t.Input,
      output: (t.Output ?? undefined) as Exclude<z.output<O>, null> | undefined,
    }));
}

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

export function parseResult(item: { Type: string } & Record<string, unknown>, path: EventPath): MediaProcessResult {
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

function subtaskAt<K extends MediaProcessTaskType>(
  type: K,
  item: Record<string, unknown>,
  path: EventPath,
): z.output<(typeof SUBTASK_SCHEMAS)[K]> {
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
