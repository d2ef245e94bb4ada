/** Views of a task: the ProcedureTask of events and DescribeTaskDetail, TaskSimpleInfo of DescribeTasks. */
import { MEDIA_PROCESS_TASK_FIELDS } from '#contract';
import type { EmulatorContext } from '../context.ts';
import { isoTime } from '../times.ts';
import type { ProcessingTask, SubtaskRecord, SubtaskType } from '../state.ts';

/** `MediaProcessResultSet[].Type` → the field holding its result (the same table the backend parses with). */
const RESULT_FIELDS: Record<SubtaskType, string> = MEDIA_PROCESS_TASK_FIELDS;

function subtaskView(subtask: SubtaskRecord): Record<string, unknown> {
  const entry: Record<string, unknown> = { Type: subtask.type };
  for (const field of Object.values(RESULT_FIELDS)) entry[field] = null;
  entry[RESULT_FIELDS[subtask.type]] = {
    Status: subtask.status,
    ErrCodeExt: subtask.errCodeExt,
    ErrCode: subtask.errCode,
    Message: subtask.message,
    Input: subtask.input,
    Output: subtask.output,
    Progress: subtask.progress,
    BeginProcessTime: subtask.beginProcessTime,
    FinishTime: subtask.finishTime,
  };
  return entry;
}

/** `ProcedureTask` (same shape in ProcedureStateChanged and DescribeTaskDetail). */
export function procedureTaskView(ctx: EmulatorContext, task: ProcessingTask, forEvent: boolean): Record<string, unknown> {
  const media = ctx.store.doc.media[task.fileId];
  // ProcedureTask.Status is PROCESSING | FINISH in the SDK model: an aborted task is finished here, and
  // only the task's own Status (DescribeTaskDetail, DescribeTasks) says ABORTED.
  const status = task.status === 'FINISH' || task.status === 'ABORTED' ? 'FINISH' : forEvent ? 'PROCESSING' : task.status;
  return {
    TaskId: task.taskId,
    Status: status,
    ErrCode: 0,
    Message: '',
    FileId: task.fileId,
    FileName: media ? String(media.basicInfo.Name ?? '') : '',
    FileUrl: media ? String(media.basicInfo.MediaUrl ?? '') : '',
    MetaData: media?.metaData ?? null,
    MediaProcessResultSet: task.subtasks.map(subtaskView),
    AiContentReviewResultSet: [],
    AiAnalysisResultSet: [],
    AiRecognitionResultSet: [],
    TasksPriority: task.priority,
    TasksNotifyMode: task.notifyMode,
    SessionContext: task.sessionContext,
    SessionId: task.sessionId,
    Operator: '',
    OperationType: '',
  };
}

const timeOrEmpty = (ms: number | undefined) => (ms === undefined ? '' : isoTime(ms));

export function taskTimes(task: ProcessingTask) {
  return {
    CreateTime: isoTime(task.createdAt),
    BeginProcessTime: timeOrEmpty(task.beginAt),
    FinishTime: timeOrEmpty(task.finishAt),
  };
}

export function taskSimpleInfo(task: ProcessingTask): Record<string, unknown> {
  return {
    TaskId: task.taskId,
    Status: task.status,
    FileId: task.fileId,
    TaskType: 'Procedure',
    ...taskTimes(task),
    SessionId: task.sessionId,
    SessionContext: task.sessionContext,
  };
}
