/**
 * API 3.0 `ReviewAudioVideo` and the review side of `DescribeTaskDetail` and `DescribeTasks` (docs/vod-protocol/review.md).
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
import { findNamedMedia } from '../api/processing-actions.ts';
import type { EmulatorContext } from '../context.ts';
import { taskSimpleInfo } from '../processing/task-views.ts';
import { newReviewTaskId, reviewTasks, reviewTaskTimes, reviewTaskView, scheduleReview } from './tasks.ts';
import type { ReviewTaskRecord } from './tasks.ts';

type Params = Record<string, unknown>;

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
  const media = findNamedMedia(ctx, appId, params);
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
    seq: 0,
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
    task.seq = ++doc.taskSeq;
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

const reviewSimpleInfo = (task: ReviewTaskRecord): Record<string, unknown> => ({
  TaskId: task.taskId,
  Status: task.status,
  FileId: task.fileId,
  TaskType: 'ReviewAudioVideo',
  ...reviewTaskTimes(task),
  SessionId: task.sessionId,
  SessionContext: task.sessionContext,
});

/**
 * DescribeTasks over processing and review tasks alike (`TaskSimpleInfo.TaskType` lists `ReviewAudioVideo`).
 * `others` (the processing listing) checks the parameters; with no review task to show its answer stands,
 * else the page is made again over both kinds, in the same order and with the same ScrollToken rules.
 */
export function withReviewTaskList(others: ActionHandler): ActionHandler {
  return async (call, params) => {
    const answer = await others(call, params);
    const { ctx, appId } = call;
    const now = ctx.now();
    const retention = ctx.options.processing.taskRetentionMs;
    const status = params.Status as string | undefined;
    const fileId = params.FileId as string | undefined;
    const shown = (t: { appId: number; createdAt: number; status: string; fileId: string }) =>
      t.appId === appId && now - t.createdAt <= retention && (!status || t.status === status) && (!fileId || t.fileId === fileId);
    const reviews = Object.values(reviewTasks(ctx.store.doc)).filter(shown);
    if (reviews.length === 0) return answer;
    const limit = (params.Limit as number | undefined) ?? 10;
    const descending = ((params.Sort ?? {}) as Params).Order !== 'Asc';
    const token = params.ScrollToken ? Number(params.ScrollToken) : undefined;
    const all = [
      ...Object.values(ctx.store.doc.tasks)
        .filter(shown)
        .map((t) => ({ seq: t.seq, info: () => taskSimpleInfo(t) })),
      ...reviews.map((t) => ({ seq: t.seq, info: () => reviewSimpleInfo(t) })),
    ]
      .filter((t) => token === undefined || (descending ? t.seq < token : t.seq > token))
      .sort((a, b) => (descending ? b.seq - a.seq : a.seq - b.seq));
    const page = all.slice(0, limit);
    return { TaskSet: page.map((t) => t.info()), ScrollToken: all.length > limit ? String(page[page.length - 1]!.seq) : '' };
  };
}
