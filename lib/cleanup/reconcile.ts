/**
 * Step 2, reconcile: recover uploads whose NewFileUpload was lost, restart processing of UPLOADED
 * files, ask VOD about PROCESSING ones overdue for their own media (then less and less often), expire
 * ISSUED uploads whose signature ran out.
 */
import { handleVodEvent } from '#lib/handle-vod-event';
import { startProcessing } from '#lib/start-processing';
import { processingSessionId } from '#lib/processing-plan';
import { UploadStatus } from '#lib/upload-lifecycle';
import { deferProcessingCheck, expireIssuedUploads, type LeasedUpload } from '#lib/upload-batches';
import { updateUpload } from '#lib/upload-store';
import { isFinalTaskStatus, isUnknownTaskError } from '#lib/vod-api';
import { procedureStateChangedFromTaskDetail } from '#lib/vod-event';
import { recoverMissedUploads } from './lost-uploads.ts';
import { inBatches, type CleanupRun, type CleanupSummary } from './run.ts';

/** Finds the task that an earlier ProcessMedia started for this file and pipeline. */
function findProcessingTask(deps: CleanupRun, upload: LeasedUpload): Promise<string | undefined> {
  return deps.vodApi.taskBySessionId(upload.fileId!, processingSessionId(upload.fileId!, deps.config.pipeline.version));
}

/** Applies VOD's view of a task through the same path as its events. */
async function applyTaskState(deps: CleanupRun, upload: LeasedUpload, taskId: string): Promise<boolean> {
  let detail: Awaited<ReturnType<CleanupRun['vodApi']['taskDetail']>>;
  try {
    detail = await deps.vodApi.taskDetail(taskId);
  } catch (error) {
    if (isUnknownTaskError(error)) {
      // VOD keeps tasks for 3 days; a task it no longer knows will never report.
      await updateUpload(
        deps.db,
        upload.uploadId,
        {
          status: UploadStatus.FAILED,
          error: { code: 'TaskNotFound', message: `VOD no longer knows task ${taskId}` },
        },
        UploadStatus.PROCESSING,
        { source: 'reconcile', detail: 'DescribeTaskDetail: task unknown', taskId },
      );
      return true;
    }
    throw error;
  }
  const event = isFinalTaskStatus(detail.Status) ? procedureStateChangedFromTaskDetail(detail) : undefined;
  if (!event) return false;
  await handleVodEvent(deps, event, { confirmWithVod: false, via: 'reconcile' });
  return true;
}

/** Step 2. */
export async function reconcile(deps: CleanupRun, summary: CleanupSummary): Promise<void> {
  const settings = deps.config.cleanup;
  const { log } = deps;

  try {
    await recoverMissedUploads(deps, summary);
  } catch (error) {
    // An outage (a poison file is isolated inside): counted like a step, the rest of reconcile goes on.
    summary.stepsFailed++;
    log.error('cleanup step recoverMissedUploads failed', { error });
  }

  // The webhook's own ProcessMedia call failed (or the instance died before it).
  await inBatches(deps, summary, { kind: 'unprocessed', seconds: settings.uploadedRetryAfterSeconds }, async (upload) => {
    if (!upload.fileId) return;
    const start = await startProcessing(deps, { uploadId: upload.uploadId, fileId: upload.fileId });
    if (start.started) {
      summary.processingRestarted++;
      return;
    }
    if (start.reason === 'session-exists') {
      const taskId = await findProcessingTask(deps, upload).catch((error: unknown) => {
        log.warn('could not look up the processing task', { uploadId: upload.uploadId, error });
        return undefined;
      });
      if (!taskId) return;
      await updateUpload(deps.db, upload.uploadId, { status: UploadStatus.PROCESSING, taskId }, UploadStatus.UPLOADED, {
        source: 'reconcile',
        detail: 'processing task found',
        taskId,
      });
      summary.processingRestarted++;
    }
  });

  // Processing whose outcome never arrived (lost callbacks): ask VOD once the job is overdue for its
  // media; while VOD says it still runs (or cannot be asked), ask again after twice the last wait.
  const wait = settings.processingCheck;
  await inBatches(deps, summary, { kind: 'overdue', wait }, async (upload) => {
    try {
      const taskId = upload.taskId ?? (upload.fileId ? await findProcessingTask(deps, upload) : undefined);
      if (taskId && (await applyTaskState(deps, upload, taskId))) summary.processingResolved++;
    } catch (error) {
      log.warn('could not reconcile a processing upload', { uploadId: upload.uploadId, error });
    }
    // Only while still PROCESSING (an applied outcome changed the status and reset the wait).
    await deferProcessingCheck(deps.db, upload.uploadId, new Date(deps.clock()), wait);
  });

  // Uploads whose signature ran out, or that reached UPLOAD_MAX_AGE_SECONDS, with nothing uploaded:
  // one statement per batch, no VOD call needed.
  const window = { maxAgeSeconds: deps.config.upload.maxAgeSeconds, graceSeconds: settings.expiryGraceSeconds };
  while (Date.now() < deps.deadline) {
    const expired = await expireIssuedUploads(deps.db, window, settings.batchSize, new Date(deps.clock()));
    summary.expired += expired;
    if (expired < settings.batchSize) return;
  }
}
