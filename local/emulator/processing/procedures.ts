/** Procedures (task-flow templates): a named MediaProcessTask started on a media. */
import { ApiError } from '../api/error.ts';
import { subtasksOf } from '../api/media-process-task.ts';
import type { EmulatorContext } from '../context.ts';
import type { MediaRecord, ProcessingTask } from '../state.ts';
import { newTaskId } from './tasks.ts';

/** The settings of a task besides its subtasks: TasksPriority, TasksNotifyMode, SessionContext, SessionId. */
export interface TaskSettings {
  priority: number;
  notifyMode: ProcessingTask['notifyMode'];
  sessionContext: string;
  sessionId: string;
}

/** Starts a procedure task for a media (also used by commit when the signature names a procedure). */
export function startProcedure(
  ctx: EmulatorContext,
  media: MediaRecord,
  name: string,
  settings: TaskSettings,
  sessionKey?: string,
  taskId = newTaskId(media.appId, true),
): ProcessingTask {
  const template = ctx.options.procedures[name] ?? ctx.options.procedures.LongVideoPreset;
  if (!template) throw new ApiError('InvalidParameter.ProcedureNameNotExist', `The task-flow template ${name} does not exist.`);
  return ctx.processing.submit(
    {
      taskId,
      appId: media.appId,
      fileId: media.fileId,
      procedureName: name,
      ...settings,
      subtasks: subtasksOf(template.MediaProcessTask),
    },
    sessionKey,
  );
}
