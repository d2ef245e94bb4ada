/**
 * API 3.0 actions of media processing (docs/vod-protocol/media-api.md §5.1–5.3): ProcessMedia, ProcessMediaByProcedure,
 * DescribeTaskDetail, DescribeTasks. The work itself is the processing engine, processing/.
 *
 * Request checks and their error codes: unknown FileId → `ResourceNotFound.FileNotExist` (as DescribeMediaInfos
 * and DeleteMedia); a SessionId used again within the window (3 days; 7 for ProcessMediaByProcedure) →
 * `InvalidParameterValue.SessionId`, one over 50 characters → `InvalidParameterValue.SessionIdTooLong`; an
 * unknown (or over 3 days old) task → `InvalidParameterValue.TaskId`; unknown procedure → `InvalidParameter.ProcedureNameNotExist` (both in
 * VOD's API error list); malformed task sets → `InvalidParameterValue`. Unknown template definitions
 * are accepted and fail their subtask with `InvalidInput.DefinitionNotExist`, as VOD reports them.
 */
import type { EmulatorContext } from '../context.ts';
import { startProcedure } from '../processing/procedures.ts';
import type { TaskSettings } from '../processing/procedures.ts';
import { newTaskId } from '../processing/tasks.ts';
import { procedureTaskView, taskSimpleInfo, taskTimes } from '../processing/task-views.ts';
import type { MediaRecord, ProcessingTask } from '../state.ts';
import { ApiError } from './error.ts';
import { subtasksOf } from './media-process-task.ts';
import { optionalNumber, optionalString } from './params.ts';
import { TASK_NOTIFY_MODES } from '#contract';

type Params = Record<string, unknown>;
type Handler = (call: { ctx: EmulatorContext; appId: number }, params: Params) => Record<string, unknown>;

/** The media a request names by FileId or MediaStoragePath, in the caller's app (ProcessMedia, ReviewAudioVideo). */
export function findNamedMedia(ctx: EmulatorContext, appId: number, params: Params): MediaRecord {
  const fileId = optionalString(params, 'FileId', 64);
  const storagePath = optionalString(params, 'MediaStoragePath', 1024);
  let media: MediaRecord | undefined;
  if (fileId) media = ctx.store.doc.media[fileId];
  else if (storagePath) media = Object.values(ctx.store.doc.media).find((m) => m.basicInfo.StoragePath === storagePath);
  else throw new ApiError('MissingParameter', 'The parameter FileId (or MediaStoragePath) is required.');
  if (!media || media.appId !== appId)
    throw new ApiError('ResourceNotFound.FileNotExist', `The media ${fileId ?? storagePath} does not exist.`);
  return media;
}

function findMedia(ctx: EmulatorContext, appId: number, params: Params): MediaRecord {
  const media = findNamedMedia(ctx, appId, params);
  if (!media.videoKey)
    throw new ApiError('FailedOperation', `The original file of ${media.fileId} was deleted; it cannot be processed.`);
  return media;
}

function commonParams(params: Params): TaskSettings {
  const priority = optionalNumber(params.TasksPriority, 'TasksPriority') ?? 0;
  if (priority < -10 || priority > 10) throw new ApiError('InvalidParameterValue', 'TasksPriority must be between -10 and 10.');
  const mode = params.TasksNotifyMode ?? 'Finish';
  if (!(TASK_NOTIFY_MODES as readonly unknown[]).includes(mode))
    throw new ApiError('InvalidParameterValue', `TasksNotifyMode must be one of ${TASK_NOTIFY_MODES.join(', ')}.`);
  return {
    priority,
    notifyMode: mode as TaskSettings['notifyMode'],
    sessionContext: optionalString(params, 'SessionContext', 1000, 'InvalidParameterValue.SessionContextTooLong') ?? '',
    sessionId: optionalString(params, 'SessionId', 50, 'InvalidParameterValue.SessionIdTooLong') ?? '',
  };
}

/** The de-dup key of a SessionId, or undefined; throws when it was used within the window. */
function checkSessionId(ctx: EmulatorContext, appId: number, sessionId: string, windowMs: number): string | undefined {
  if (!sessionId) return undefined;
  const key = `${appId}/${sessionId}`;
  const used = ctx.store.doc.sessionIds[key];
  if (used && ctx.now() - used.usedAt < windowMs) {
    throw new ApiError(
      'InvalidParameterValue.SessionId',
      `The SessionId ${sessionId} was already used (task ${used.taskId}) within the de-duplication window.`,
    );
  }
  return key;
}

const processMedia: Handler = ({ ctx, appId }, params) => {
  if (params.Url)
    throw new ApiError('InvalidParameterValue', 'Pulling a Url as new media is not supported by the emulator; give a FileId.');
  const media = findMedia(ctx, appId, params);
  const common = commonParams(params);
  const subtasks = subtasksOf(params.MediaProcessTask);
  if (subtasks.length === 0) {
    const other = ['AiContentReviewTask', 'AiAnalysisTask', 'AiRecognitionTask'].find(
      (n) => params[n] !== undefined && params[n] !== null,
    );
    throw new ApiError(
      'InvalidParameterValue',
      other ? `${other} is not supported by the emulator.` : 'MediaProcessTask must hold at least one task.',
    );
  }
  const sessionKey = checkSessionId(ctx, appId, common.sessionId, ctx.options.processing.sessionIdWindowMs);
  const task = ctx.processing.submit(
    { taskId: newTaskId(appId, false), appId, fileId: media.fileId, ...common, subtasks },
    sessionKey,
  );
  return { TaskId: task.taskId };
};

const processMediaByProcedure: Handler = ({ ctx, appId }, params) => {
  const name = optionalString(params, 'ProcedureName', 128);
  if (!name) throw new ApiError('MissingParameter', 'The parameter ProcedureName is required.');
  if (!Object.hasOwn(ctx.options.procedures, name))
    throw new ApiError('InvalidParameter.ProcedureNameNotExist', `The task-flow template ${name} does not exist.`);
  const media = findMedia(ctx, appId, params);
  const common = commonParams(params);
  const sessionKey = checkSessionId(ctx, appId, common.sessionId, ctx.options.processing.procedureSessionIdWindowMs);
  const task = startProcedure(ctx, media, name, common, sessionKey);
  return { TaskId: task.taskId, ReviewAudioVideoTaskId: '', ImportMediaKnowledgeTaskIdSet: [] };
};

function visibleTask(ctx: EmulatorContext, appId: number, taskId: unknown): ProcessingTask | undefined {
  const task = typeof taskId === 'string' ? ctx.store.doc.tasks[taskId] : undefined;
  if (!task || task.appId !== appId || ctx.now() - task.createdAt > ctx.options.processing.taskRetentionMs) return undefined;
  return task;
}

const describeTaskDetail: Handler = ({ ctx, appId }, params) => {
  const taskId = optionalString(params, 'TaskId', 128);
  if (!taskId) throw new ApiError('MissingParameter', 'The parameter TaskId is required.');
  const task = visibleTask(ctx, appId, taskId);
  // VOD's error list: InvalidParameterValue.TaskId, "the task ID does not exist" (docs/vod-protocol/error-codes.md).
  if (!task) throw new ApiError('InvalidParameterValue.TaskId', `The task ${taskId} does not exist (or is older than 3 days).`);
  return { TaskType: 'Procedure', Status: task.status, ...taskTimes(task), ProcedureTask: procedureTaskView(ctx, task, false) };
};

const describeTasks: Handler = ({ ctx, appId }, params) => {
  const status = optionalString(params, 'Status', 20);
  if (status !== undefined && !['WAITING', 'PROCESSING', 'FINISH'].includes(status))
    throw new ApiError('InvalidParameterValue', 'Status must be WAITING, PROCESSING or FINISH.');
  const fileId = optionalString(params, 'FileId', 64);
  const limit = optionalNumber(params.Limit, 'Limit') ?? 10;
  if (limit < 1 || limit > 100) throw new ApiError('InvalidParameterValue.Limit', 'Limit must be between 1 and 100.');
  const descending = ((params.Sort ?? {}) as Params).Order !== 'Asc';
  const token = optionalString(params, 'ScrollToken', 100);
  let tasks = Object.values(ctx.store.doc.tasks)
    .filter((t) => visibleTask(ctx, appId, t.taskId) && (!status || t.status === status) && (!fileId || t.fileId === fileId))
    .sort((a, b) => (descending ? b.seq - a.seq : a.seq - b.seq));
  if (token) {
    const after = Number(token);
    tasks = tasks.filter((t) => (descending ? t.seq < after : t.seq > after));
  }
  const page = tasks.slice(0, limit);
  return { TaskSet: page.map(taskSimpleInfo), ScrollToken: tasks.length > limit ? String(page[page.length - 1]!.seq) : '' };
};

export const PROCESSING_ACTIONS: Record<string, Handler> = {
  ProcessMedia: processMedia,
  ProcessMediaByProcedure: processMediaByProcedure,
  DescribeTaskDetail: describeTaskDetail,
  DescribeTasks: describeTasks,
};
