/**
 * `vod-upload doctor <uploadId>` (scripts/doctor.ts): what the database and VOD say about one upload, and
 * one sentence on what is missing. Read-only but for `repairUpload`, which runs the reconcile step for
 * this upload alone (the same code the cleanup runs).
 */
import { handleVodEvent, type VodEventDeps } from '#lib/handle-vod-event';
import { startProcessing } from '#lib/start-processing';
import { processingSessionId } from '#lib/processing-plan';
import { decodeUploadContext } from '#lib/upload-context';
import { getUpload, type Upload } from '#lib/upload-store';
import { isFinalTaskStatus, isUnknownTaskError, type VodApi, type VodMediaInfo, vodApi } from '#lib/vod-api';
import { newFileUploadFromMediaInfo, procedureStateChangedFromTaskDetail } from '#lib/vod-event';
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
  return facts;
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
  if (upload.status === 'PROCESSING' && isTask(task) && isFinalTaskStatus(task.status))
    return `VOD finished task ${task.taskId}${task.finishedAt ? ` at ${task.finishedAt}` : ''} but no ProcedureStateChanged reached the backend: events are being lost; the next cleanup run will apply it (--fix applies it now).`;
  if (upload.status === 'PROCESSING' && isTask(task) && task.status === 'UNKNOWN')
    return `VOD no longer knows task ${task.taskId}: the next cleanup run marks the upload FAILED (TaskNotFound).`;
  if (upload.status === 'UPLOADED' && !isTask(task))
    return `VOD has file ${upload.fileId} but processing never started: the next cleanup run starts it (--fix starts it now).`;
  if (upload.status === 'UPLOADED' && isTask(task))
    return `VOD runs task ${task.taskId} (${task.status}) but the backend never recorded it: the next cleanup run records it.`;
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

/** `--fix`: the reconcile step for this upload alone; returns what it did. */
export async function repairUpload(deps: VodEventDeps, facts: DoctorFacts): Promise<string> {
  const { upload, task } = facts;
  if (!upload) return 'nothing to repair';
  let did = 'nothing to repair';
  if (upload.status === 'PROCESSING' && isTask(task) && task.detail && isFinalTaskStatus(task.status)) {
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
  await sendPendingWebhooks(deps, upload.uploadId);
  return did;
}
