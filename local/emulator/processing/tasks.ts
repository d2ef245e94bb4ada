/** What a processing task is made of: its id, its subtasks, and the task sets they come from. */
import { randomBytes } from 'node:crypto';
import { MEDIA_PROCESS_TASK_SETS } from '#contract';
import type { SubtaskRecord, SubtaskType } from '../state.ts';

/** `MediaProcessTask.<X>TaskSet` → subtask type. */
export const TASK_SETS: Readonly<Record<string, SubtaskType>> = MEDIA_PROCESS_TASK_SETS;

/** New task id: `<appId>-procedurev2-<32 hex>t0` (ProcessMedia) or `<appId>-Procedure-…` (procedures). */
export function newTaskId(appId: number, procedure: boolean): string {
  return `${appId}-${procedure ? 'Procedure' : 'procedurev2'}-${randomBytes(16).toString('hex')}t0`;
}

export function newSubtask(type: SubtaskType, input: Record<string, unknown>): SubtaskRecord {
  return {
    type,
    input,
    status: 'PROCESSING',
    started: false,
    errCode: 0,
    errCodeExt: '',
    message: '',
    progress: 0,
    output: null,
    beginProcessTime: '',
    finishTime: '',
  };
}
