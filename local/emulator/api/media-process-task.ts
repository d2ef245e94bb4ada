/**
 * A `MediaProcessTask` (of ProcessMedia, or of a procedure template) read into subtasks, with the
 * API's checks: malformed task sets → `InvalidParameterValue`, a missing Definition → `MissingParameter`.
 */
import { newSubtask, TASK_SETS } from '../processing/tasks.ts';
import type { SubtaskRecord } from '../state.ts';
import { ApiError } from './error.ts';
import { optionalNumber, optionalString } from './params.ts';

type Params = Record<string, unknown>;

function watermarkSet(value: unknown, where: string): Record<string, unknown>[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ApiError('InvalidParameterValue', `${where}.WatermarkSet must be an array.`);
  if (value.length > 10) throw new ApiError('InvalidParameterValue', `${where}.WatermarkSet may hold at most 10 watermarks.`);
  return value.map((w: unknown, i) => {
    const item = (w ?? {}) as Params;
    const at = `${where}.WatermarkSet.${i}`;
    const definition = optionalNumber(item.Definition, `${at}.Definition`);
    if (definition === undefined) throw new ApiError('MissingParameter', `${at}.Definition is required.`);
    const out: Record<string, unknown> = { Definition: definition };
    const text = optionalString(item, 'TextContent', 100);
    if (text !== undefined) out.TextContent = text;
    const svg = optionalString(item, 'SvgContent', 2_000_000);
    if (svg !== undefined) out.SvgContent = svg;
    const start = optionalNumber(item.StartTimeOffset, `${at}.StartTimeOffset`, false);
    if (start !== undefined) out.StartTimeOffset = start;
    const end = optionalNumber(item.EndTimeOffset, `${at}.EndTimeOffset`, false);
    if (end !== undefined) out.EndTimeOffset = end;
    return out;
  });
}

/** `MediaProcessTask` → the subtasks, in VOD's result order, with each input as it is echoed back. */
export function subtasksOf(task: unknown): SubtaskRecord[] {
  if (task === undefined || task === null) return [];
  if (typeof task !== 'object' || Array.isArray(task))
    throw new ApiError('InvalidParameterValue', 'MediaProcessTask must be an object.');
  const subtasks: SubtaskRecord[] = [];
  for (const [setName, value] of Object.entries(task as Params)) {
    const type = TASK_SETS[setName];
    if (!type) {
      if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) continue;
      throw new ApiError(
        'InvalidParameterValue',
        `MediaProcessTask.${setName} is not supported by the emulator (supported: ${Object.keys(TASK_SETS).join(', ')}).`,
      );
    }
    if (value === null || value === undefined) continue;
    if (!Array.isArray(value)) throw new ApiError('InvalidParameterValue', `MediaProcessTask.${setName} must be an array.`);
    value.forEach((raw: unknown, i) => {
      const item = (raw ?? {}) as Params;
      const at = `MediaProcessTask.${setName}.${i}`;
      const definition = optionalNumber(item.Definition, `${at}.Definition`);
      if (definition === undefined) throw new ApiError('MissingParameter', `${at}.Definition is required.`);
      const input: Record<string, unknown> = { Definition: definition };
      switch (type) {
        case 'Transcode':
        case 'AdaptiveDynamicStreaming':
          input.WatermarkSet = watermarkSet(item.WatermarkSet, at);
          if (type === 'Transcode') {
            for (const name of ['StartTimeOffset', 'EndTimeOffset'] as const) {
              const v = optionalNumber(item[name], `${at}.${name}`, false);
              if (v !== undefined) input[name] = v;
            }
          }
          break;
        case 'SnapshotByTimeOffset': {
          const ext = item.ExtTimeOffsetSet;
          const legacy = item.TimeOffsetSet;
          if (ext !== undefined && ext !== null && (!Array.isArray(ext) || ext.some((v) => typeof v !== 'string'))) {
            throw new ApiError('InvalidParameterValue', `${at}.ExtTimeOffsetSet must be strings like "3.5s" or "10%".`);
          }
          if (
            legacy !== undefined &&
            legacy !== null &&
            (!Array.isArray(legacy) || legacy.some((v) => typeof v !== 'number' || v < 0))
          ) {
            throw new ApiError('InvalidParameterValue', `${at}.TimeOffsetSet must be non-negative numbers (ms).`);
          }
          input.ExtTimeOffsetSet = ext ?? [];
          input.TimeOffsetSet = legacy ?? [];
          input.WatermarkSet = watermarkSet(item.WatermarkSet, at);
          break;
        }
        case 'SampleSnapshot':
          input.WatermarkSet = watermarkSet(item.WatermarkSet, at);
          break;
        case 'ImageSprites':
          break;
        case 'CoverBySnapshot': {
          const positionType = item.PositionType;
          if (positionType !== 'Time' && positionType !== 'Percent')
            throw new ApiError('InvalidParameterValue', `${at}.PositionType must be Time or Percent.`);
          const value = optionalNumber(item.PositionValue, `${at}.PositionValue`, false);
          if (value === undefined || value < 0 || (positionType === 'Percent' && value > 100)) {
            throw new ApiError('InvalidParameterValue', `${at}.PositionValue must be seconds (Time) or 0-100 (Percent).`);
          }
          Object.assign(input, {
            PositionType: positionType,
            PositionValue: value,
            WatermarkSet: watermarkSet(item.WatermarkSet, at),
          });
          break;
        }
        case 'AnimatedGraphics': {
          const start = optionalNumber(item.StartTimeOffset, `${at}.StartTimeOffset`, false);
          const end = optionalNumber(item.EndTimeOffset, `${at}.EndTimeOffset`, false);
          if (start === undefined || end === undefined)
            throw new ApiError('MissingParameter', `${at}.StartTimeOffset and EndTimeOffset are required.`);
          Object.assign(input, { StartTimeOffset: start, EndTimeOffset: end });
          break;
        }
      }
      subtasks.push(newSubtask(type, input));
    });
  }
  return subtasks;
}
