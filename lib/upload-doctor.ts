/**
 * `vod-upload doctor <uploadId>` (scripts/doctor.ts): what the database and VOD say about one upload, and
 * one sentence on what is missing. Read-only but for `repairUpload`, which runs the reconcile step for
 * this upload alone (the same code the cleanup runs), the content review's included (docs/content-review.md).
 */
import { forbidBlockedMedia } from '#lib/blocked-media';
import { handleVodEvent, type VodEventDeps } from '#lib/handle-vod-event';
import { startProcessing } from '#lib/start-processing';
import { startReview } from '#lib/start-review';
import { processingSessionId } from '#lib/processing-plan';
import { decodeUploadContext } from '#lib/upload-context';
import { getUpload, type Upload } from '#lib/upload-store';
import { isFinalTaskStatus, isUnknownTaskError, type VodApi, type VodMediaInfo, vodApi } from '#lib/vod-api';
import { newFileUploadFromMediaInfo, procedureStateChangedFromTaskDetail, reviewCompleteFromTaskDetail } from '#lib/vod-event';
import { sendPendingWebhooks, uploadTimeline, uploadWebhooks, type OutboxRow, type TimelineEntry } from '#lib/webhooks';

export interface VodTaskFacts {
  taskId: string;
  status?: string;
  finishedAt?: string;
  /** DescribeTaskDetail's answer, for `repairUpload`. */
  detail?: Awaited<ReturnType<VodApi['taskDetail']>>;
}

export interface DoctorFacts {
  uploadId: string;
  upload?: Upload;
  timeline: TimelineEntry[];
  webhooks: OutboxRow[];
  /** DescribeMediaInfos: true/false, or why VOD could not be asked. */
  mediaInVod?: boolean | { error: string };
  task?: VodTaskFacts | { error: string };
  /** The content review's task (`review.taskId`), as DescribeTaskDetail sees it. */
  reviewTask?: VodTaskFacts | { error: string };
  /** ISSUED: a file VOD holds for this upload (its SourceContext names it), found by SearchMedia. */
  unreported?: VodMediaInfo | { error: string };
}

/** How far the search for an ISSUED upload's file looks: pages of 100 media created since the upload. */
const SEARCH_PAGES = 5;

const problem = (error: unknown) => ({ error: (error as { code?: string }).code ?? (error as Error).message });

export async function gatherFacts(
  deps: Pick<VodEventDeps, 'db' | 'config'> & { vodApi: VodApi },
  uploadId: string,
): Promise<DoctorFacts> {
  const upload = await getUpload(deps.db, uploadId);
  const facts: DoctorFacts = {
    uploadId,
    upload,
    timeline: await uploadTimeline(deps.db, uploadId),
    webhooks: await uploadWebhooks(deps.db, uploadId),
  };
  if (upload?.status === 'ISSUED') {
    facts.unreported = await findUnreported(deps.vodApi, upload).catch(problem);
    return facts;
  }
  if (!upload?.fileId) return facts;
  const fileId = upload.fileId;
  facts.mediaInVod = await deps.vodApi.mediaInfo(fileId).then((info) => info !== undefined, problem);
  try {
    const taskId =
      upload.taskId ?? (await deps.vodApi.taskBySessionId(fileId, processingSessionId(fileId, deps.config.pipeline.version)));
    if (taskId) {
      const detail = await deps.vodApi.taskDetail(taskId).catch((error: unknown) => {
        if (isUnknownTaskError(error)) return undefined;
        throw error;
      });
      facts.task = { taskId, status: detail?.Status ?? 'UNKNOWN', finishedAt: detail?.FinishTime || undefined, detail };
    }
  } catch (error) {
    facts.task = problem(error);
  }
  if (upload.review?.taskId) facts.reviewTask = await taskFacts(deps.vodApi, upload.review.taskId).catch(problem);
  return facts;
}

/** A task as DescribeTaskDetail answers it; `UNKNOWN` when VOD no longer knows it. */
async function taskFacts(api: VodApi, taskId: string): Promise<VodTaskFacts> {
  const detail = await api.taskDetail(taskId).catch((error: unknown) => {
    if (isUnknownTaskError(error)) return undefined;
    throw error;
  });
  return { taskId, status: detail?.Status ?? 'UNKNOWN', finishedAt: detail?.FinishTime || undefined, detail };
}

async function findUnreported(api: VodApi, upload: Upload): Promise<VodMediaInfo | undefined> {
  const after = new Date(upload.createdAt.getTime() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  for (let page = 0; page < SEARCH_PAGES; page++) {
    const found = await api.videosCreatedAfter(after, page * 100, 100);
    const mine = found.find((m) => decodeUploadContext(m.BasicInfo?.SourceInfo?.SourceContext)?.uploadId === upload.uploadId);
    if (mine) return (await api.mediaInfo(mine.FileId!)) ?? mine;
    if (found.length < 100) return undefined;
  }
  return undefined;
}

const isTask = (task: DoctorFacts['task']): task is VodTaskFacts => task !== undefined && 'taskId' in task;

/** One sentence: what is missing and what will happen, or that nothing is. */
export function diagnose(facts: DoctorFacts): string {
  const { upload, task } = facts;
  if (!upload) return `No upload ${facts.uploadId} in the database.`;
  if (facts.mediaInVod === false && upload.status !== 'DELETED')
    return `VOD no longer has file ${upload.fileId} but the upload is ${upload.status}: a FileDeleted event was lost.`;
  if (upload.status === 'PROCESSING' && upload.processedAt === null && isTask(task) && isFinalTaskStatus(task.status))
    return `VOD finished task ${task.taskId}${task.finishedAt ? ` at ${task.finishedAt}` : ''} but no ProcedureStateChanged reached the backend: events are being lost; the next cleanup run will apply it (--fix applies it now).`;
  if (upload.status === 'PROCESSING' && upload.processedAt === null && isTask(task) && task.status === 'UNKNOWN')
    return `VOD no longer knows task ${task.taskId}: the next cleanup run marks the upload FAILED (TaskNotFound).`;
  if (upload.status === 'UPLOADED' && !isTask(task))
    return `VOD has file ${upload.fileId} but processing never started: the next cleanup run starts it (--fix starts it now).`;
  if (upload.status === 'UPLOADED' && isTask(task))
    return `VOD runs task ${task.taskId} (${task.status}) but the backend never recorded it: the next cleanup run records it.`;
  const review = reviewDiagnosis(facts);
  if (review) return review;
  const stuck = facts.webhooks.find((w) => w.state === 'undeliverable');
  if (stuck)
    return `Webhook ${stuck.webhookId} (${stuck.eventType}) was given up after ${stuck.attempts} attempts: ${stuck.lastError ?? 'no answer'}.`;
  const failing = facts.webhooks.find((w) => w.state === 'pending' && w.attempts > 0);
  if (failing)
    return `Webhook ${failing.webhookId} (${failing.eventType}) failed ${failing.attempts} times (${failing.lastError ?? 'no answer'}); next attempt at ${failing.nextAttemptAt.toISOString()}.`;
  const unreported = facts.unreported && 'FileId' in facts.unreported ? facts.unreported : undefined;
  if (upload.status === 'ISSUED' && unreported)
    return `VOD has file ${unreported.FileId} for this upload (created ${unreported.BasicInfo?.CreateTime ?? '?'}) but no NewFileUpload reached the backend: events are being lost; the next cleanup run will recover it (--fix recovers it now).`;
  if (upload.status === 'ISSUED') return 'No file has been reported for this upload yet (the client may still be uploading).';
  if (upload.status === 'PROCESSING' && isTask(task))
    return `VOD is still processing task ${task.taskId} (${task.status}); nothing is missing.`;
  return `Nothing is missing: the upload is ${upload.status} and VOD agrees.`;
}

/** What is missing in the content review (or the sentence for an upload waiting on it), if anything. */
function reviewDiagnosis(facts: DoctorFacts): string | undefined {
  const { upload, reviewTask } = facts;
  const review = upload?.review;
  if (!upload) return undefined;
  if (upload.status === 'BLOCKED' && !upload.distributionForbidden)
    return 'BLOCKED, but VOD was not told to forbid its media yet: the next cleanup run does (--fix does it now).';
  if (!review || !['UPLOADED', 'PROCESSING', 'IN_REVIEW', 'READY'].includes(upload.status)) return undefined;
  if (review.state === 'pending' && !review.taskId)
    return `The content review of file ${upload.fileId} was never started: the next cleanup run starts it (--fix starts it now).`;
  if (review.state === 'pending' && isTask(reviewTask) && isFinalTaskStatus(reviewTask.status))
    return `VOD finished review task ${reviewTask.taskId}${reviewTask.finishedAt ? ` at ${reviewTask.finishedAt}` : ''} but no ReviewAudioVideoComplete reached the backend: the next cleanup run applies it (--fix applies it now).`;
  if (review.state === 'pending' && isTask(reviewTask) && reviewTask.status === 'UNKNOWN')
    return `VOD no longer knows review task ${reviewTask.taskId}: the next cleanup run holds the upload for a person (TaskNotFound).`;
  if (review.state === 'held')
    return `The content review holds the upload for a person (${review.failure ?? `VOD suggests ${review.suggestion ?? 'review'}${review.label ? `: ${review.label}` : ''}`}): POST /uploads/${upload.uploadId}/review decides.`;
  if (review.state === 'pending' && upload.status === 'PROCESSING' && upload.processedAt !== null)
    return `Processing finished; the upload waits for its content review (task ${review.taskId}, ${isTask(reviewTask) ? reviewTask.status : 'not asked'}).`;
  return undefined;
}

/** `--fix`: the reconcile step for this upload alone; returns what it did. */
export async function repairUpload(deps: VodEventDeps, facts: DoctorFacts): Promise<string> {
  const { upload, task } = facts;
  if (!upload) return 'nothing to repair';
  let did = 'nothing to repair';
  const processing = upload.status === 'PROCESSING' && upload.processedAt === null;
  if (processing && isTask(task) && task.detail && isFinalTaskStatus(task.status)) {
    const event = procedureStateChangedFromTaskDetail(task.detail);
    if (event) {
      const handled = await handleVodEvent(deps, event, { confirmWithVod: false, via: 'reconcile' });
      did = `applied task ${task.taskId}: ${handled.outcome}`;
    }
  } else if (upload.status === 'ISSUED' && facts.unreported && 'FileId' in facts.unreported) {
    const procedureTaskId = deps.config.upload.procedure
      ? await vodApi(deps.vod, { subAppId: deps.config.vod.subAppId }).firstTaskOf(facts.unreported.FileId!)
      : undefined;
    const handled = await handleVodEvent(deps, newFileUploadFromMediaInfo(facts.unreported, { procedureTaskId }), {
      confirmWithVod: false,
      via: 'reconcile',
    });
    did = `recovered file ${facts.unreported.FileId}: ${handled.outcome}`;
  } else if (upload.status === 'UPLOADED' && upload.fileId && !isTask(task)) {
    const started = await startProcessing(deps, { uploadId: upload.uploadId, fileId: upload.fileId });
    did = started.started ? `processing started: task ${started.taskId}` : `processing not started (${started.reason})`;
  }
  const review = await repairReview(deps, facts);
  if (review) did = did === 'nothing to repair' ? review : `${did}; ${review}`;
  await sendPendingWebhooks(deps, upload.uploadId);
  return did;
}

/** The reviews step of the cleanup for this upload alone (lib/cleanup/reviews.ts); undefined: nothing to do. */
async function repairReview(deps: VodEventDeps, facts: DoctorFacts): Promise<string | undefined> {
  const { upload, reviewTask } = facts;
  if (!upload) return undefined;
  if (upload.status === 'BLOCKED' && !upload.distributionForbidden) {
    const done = await forbidBlockedMedia(deps, upload);
    return done ? 'media distribution forbidden' : 'media distribution not forbidden (VOD refused or was unreachable)';
  }
  if (upload.review?.state !== 'pending' || !upload.fileId) return undefined;
  if (!upload.review.taskId) {
    const started = await startReview(deps, { uploadId: upload.uploadId, fileId: upload.fileId });
    return started.started ? `review started: task ${started.taskId}` : `review not started (${started.reason})`;
  }
  if (isTask(reviewTask) && reviewTask.detail && isFinalTaskStatus(reviewTask.status)) {
    const event = reviewCompleteFromTaskDetail(reviewTask.detail);
    if (!event) return undefined;
    const handled = await handleVodEvent(deps, event, { confirmWithVod: false, via: 'reconcile' });
    return `applied review task ${reviewTask.taskId}: ${handled.outcome}`;
  }
  return undefined;
}
