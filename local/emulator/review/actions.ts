/**
 * API 3.0 `ReviewAudioVideo` and the review side of `DescribeTaskDetail` (docs/vod-protocol/review.md).
 *
 * Request checks, as the SDK model `ReviewAudioVideoRequest` has them and with the error codes of the
 * processing actions (api/processing-actions.ts): `FileId` (or `MediaStoragePath`) required → `MissingParameter`,
 * unknown → `ResourceNotFound.FileNotExist`; `ReviewContents` only `Media`/`Cover` (none or [] = `Media`);
 * `Definition` an integer (default 10); `TasksPriority` -10..10; `SessionContext` ≤ 1000 characters
 * (`InvalidParameterValue.SessionContextTooLong`); `SessionId` ≤ 50 (`InvalidParameterValue.SessionIdTooLong`),
 * used again within the window → `InvalidParameterValue.SessionId`; `ExtInfo` a string (reserved, ignored).
 */
import { REVIEW_CONTENTS, REVIEW_PRESET_DEFINITION } from '#contract';
import type { ReviewContent } from '#contract';
import type { ActionHandler } from '../api/endpoint.ts';
import { ApiError } from '../api/error.ts';
import { optionalNumber, optionalString } from '../api/params.ts';
import type { EmulatorContext } from '../context.ts';
import type { MediaRecord } from '../state.ts';
import { newReviewTaskId, reviewTasks, reviewTaskTimes, reviewTaskView, scheduleReview } from './tasks.ts';
import type { ReviewTaskRecord } from './tasks.ts';

type Params = Record<string, unknown>;

function findMedia(ctx: EmulatorContext, appId: number, params: Params): MediaRecord {
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

function reviewContents(value: unknown): ReviewContent[] {
  if (value === undefined || value === null) return ['Media'];
  if (!Array.isArray(value) || value.some((v) => !(REVIEW_CONTENTS as readonly unknown[]).includes(v)))
    throw new ApiError('InvalidParameterValue', `ReviewContents must be a list of ${REVIEW_CONTENTS.join(', ')}.`);
  const contents = REVIEW_CONTENTS.filter((c) => value.includes(c));
  return contents.length === 0 ? ['Media'] : contents;
}

/** A SessionId shares the processing actions' record and window: one SessionId starts one task of any kind. */
function checkSessionId(ctx: EmulatorContext, appId: number, sessionId: string): string | undefined {
  if (!sessionId) return undefined;
  const key = `${appId}/${sessionId}`;
  const used = ctx.store.doc.sessionIds[key];
  if (used && ctx.now() - used.usedAt < ctx.options.processing.sessionIdWindowMs) {
    throw new ApiError(
      'InvalidParameterValue.SessionId',
      `The SessionId ${sessionId} was already used (task ${used.taskId}) within the de-duplication window.`,
    );
  }
  return key;
}

export const reviewAudioVideo: ActionHandler = ({ ctx, appId }, params) => {
  const media = findMedia(ctx, appId, params);
  const contents = reviewContents(params.ReviewContents);
  const definition = optionalNumber(params.Definition, 'Definition') ?? REVIEW_PRESET_DEFINITION;
  const priority = optionalNumber(params.TasksPriority, 'TasksPriority') ?? 0;
  if (priority < -10 || priority > 10) throw new ApiError('InvalidParameterValue', 'TasksPriority must be between -10 and 10.');
  const sessionContext = optionalString(params, 'SessionContext', 1000, 'InvalidParameterValue.SessionContextTooLong') ?? '';
  const sessionId = optionalString(params, 'SessionId', 50, 'InvalidParameterValue.SessionIdTooLong') ?? '';
  optionalString(params, 'ExtInfo', 1000);
  const sessionKey = checkSessionId(ctx, appId, sessionId);
  const task: ReviewTaskRecord = {
    taskId: newReviewTaskId(appId),
    appId,
    fileId: media.fileId,
    definition,
    contents,
    priority,
    sessionId,
    sessionContext,
    status: 'WAITING',
    createdAt: ctx.now(),
    errCodeExt: '',
    message: '',
    output: null,
  };
  ctx.store.update((doc) => {
    const tasks = reviewTasks(doc);
    const retention = ctx.options.processing.taskRetentionMs;
    for (const [id, t] of Object.entries(tasks))
      if (t.status === 'FINISH' && ctx.now() - t.createdAt > retention) delete tasks[id];
    tasks[task.taskId] = task;
    if (sessionKey) doc.sessionIds[sessionKey] = { taskId: task.taskId, usedAt: ctx.now() };
  });
  scheduleReview(ctx, task.taskId);
  return { TaskId: task.taskId };
};

/** DescribeTaskDetail for review task ids; any other id goes to `others` (the processing tasks). */
export function withReviewTaskDetail(others: ActionHandler): ActionHandler {
  return (call, params) => {
    const { ctx, appId } = call;
    const taskId = params.TaskId;
    const task = typeof taskId === 'string' ? reviewTasks(ctx.store.doc)[taskId] : undefined;
    if (!task || task.appId !== appId || ctx.now() - task.createdAt > ctx.options.processing.taskRetentionMs)
      return others(call, params);
    return {
      TaskType: 'ReviewAudioVideo',
      Status: task.status,
      ...reviewTaskTimes(task),
      ReviewAudioVideoTask: reviewTaskView(task),
    };
  };
}
