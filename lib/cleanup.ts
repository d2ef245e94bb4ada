/**
 * The scheduled cleanup: what makes the system lose nothing when PUSH callbacks go missing (VOD
 * retries them at most twice) and when a trigger fails. Each run is bounded by a time budget, works in
 * small batches of leased rows (a concurrent run skips what this one holds), is idempotent, and
 * returns counts. Steps, each switchable:
 *  1. event pump (PULL mode): PullEvents → the webhook's own handling → ConfirmEvents for what was
 *     durably handled; a failure leaves the event unconfirmed, so VOD delivers it again;
 *  2. reconcile: recover uploads whose NewFileUpload was lost (SearchMedia), restart processing of
 *     UPLOADED files, ask VOD about PROCESSING ones past a deadline, expire ISSUED uploads whose
 *     signature ran out;
 *  3. orphans: delete media nobody will use (REJECTED, FAILED past retention, extra or late files);
 *  4. purge old de-dupe records, rate-limit windows and the bulky data of deleted uploads.
 */
import type { Config } from '#lib/config';
import type { Database } from '#lib/db';
import type { Logger } from '#lib/log';
import { handleVodEvent, startProcessing, type VodApi } from '#lib/handle-vod-event';
import { processingSessionId } from '#lib/processing-plan';
import { UploadStatus } from '#lib/upload-lifecycle';
import { updateUpload } from '#lib/upload-store';
import { vodErrorCode, withVodRetry, type VodClient } from '#lib/vod-api';
import { decodeUploadContext } from '#lib/upload-context';
import { parsePullEventsResponse, parseVodEvent } from '#lib/vod-event';

export type CleanupVodApi = VodApi & Pick<VodClient, 'PullEvents' | 'ConfirmEvents' | 'DeleteMedia' | 'DescribeTasks' | 'SearchMedia'>;

export interface CleanupDeps {
  config: Config;
  db: Database;
  vod: CleanupVodApi;
  log: Logger;
  /** Epoch ms when the run must stop starting new work. */
  deadline: number;
}

export interface CleanupSummary {
  eventsPulled: number;
  eventsApplied: number;
  eventsDuplicate: number;
  eventsFailed: number;
  eventsConfirmed: number;
  /** Uploads whose NewFileUpload never arrived, found in VOD and applied. */
  uploadsRecovered: number;
  processingRestarted: number;
  processingResolved: number;
  expired: number;
  mediaDeleted: number;
  /** Dry run: what would have been deleted (`fileId` list). */
  wouldDelete: string[];
  eventsPurged: number;
  rateLimitWindowsPurged: number;
  uploadsSlimmed: number;
  /** True when the run stopped because its time budget ran out (the next run continues). */
  outOfTime: boolean;
  /** Steps that failed (logged); the others still ran. */
  stepsFailed: number;
}

const LEASE_SECONDS = 300;

function emptySummary(): CleanupSummary {
  return {
    eventsPulled: 0,
    eventsApplied: 0,
    eventsDuplicate: 0,
    eventsFailed: 0,
    eventsConfirmed: 0,
    uploadsRecovered: 0,
    processingRestarted: 0,
    processingResolved: 0,
    expired: 0,
    mediaDeleted: 0,
    wouldDelete: [],
    eventsPurged: 0,
    rateLimitWindowsPurged: 0,
    uploadsSlimmed: 0,
    outOfTime: false,
    stepsFailed: 0,
  };
}

export async function runCleanup(deps: CleanupDeps): Promise<CleanupSummary> {
  const summary = emptySummary();
  const settings = deps.config.cleanup;
  const steps: Array<[boolean, (deps: CleanupDeps, summary: CleanupSummary) => Promise<void>]> = [
    [settings.pullEvents, pumpEvents],
    [settings.reconcile, reconcile],
    [settings.deleteOrphans, deleteOrphans],
    [settings.purge, purge],
  ];
  for (const [enabled, step] of steps) {
    if (!enabled) continue;
    if (Date.now() >= deps.deadline) {
      summary.outOfTime = true;
      break;
    }
    try {
      await step(deps, summary);
    } catch (error) {
      // One step failing (VOD throttling, a lost database) must not stop the others.
      summary.stepsFailed++;
      deps.log.error(`cleanup step ${step.name} failed`, { error });
    }
  }
  deps.log.info('cleanup finished', { ...summary, wouldDelete: summary.wouldDelete.length, dryRun: settings.dryRun });
  return summary;
}

function subApp(config: Config): { SubAppId?: number } {
  return config.vod.subAppId === undefined ? {} : { SubAppId: config.vod.subAppId };
}

/** Step 1. One PullEvents call returns at most 16 events and waits up to 5 s when there are none. */
async function pumpEvents(deps: CleanupDeps, summary: CleanupSummary): Promise<void> {
  const { vod, config, log } = deps;
  while (Date.now() < deps.deadline) {
    const pulled = parsePullEventsResponse(await withVodRetry(() => vod.PullEvents({ ...subApp(config) }), { deadline: deps.deadline }));
    if (pulled.events.length === 0) return;
    summary.eventsPulled += pulled.events.length;
    const handled: string[] = [];
    for (const entry of pulled.events) {
      if (!entry.ok) {
        // It will never parse: confirm it so it stops coming back, and keep it in the log.
        log.error('malformed pulled event confirmed and dropped', { eventHandle: entry.eventHandle, error: entry.error });
        summary.eventsFailed++;
        if (entry.eventHandle) handled.push(entry.eventHandle);
        continue;
      }
      try {
        // Pulled through the authenticated API: no need to confirm it with VOD again.
        const result = await handleVodEvent({ ...deps, log }, entry.event, { confirmWithVod: false });
        if (result.duplicate) summary.eventsDuplicate++;
        else summary.eventsApplied++;
        if (entry.eventHandle) handled.push(entry.eventHandle);
      } catch (error) {
        summary.eventsFailed++;
        log.warn('pulled event not handled; left unconfirmed for redelivery', { eventHandle: entry.eventHandle, error });
      }
    }
    if (handled.length > 0) {
      await withVodRetry(() => vod.ConfirmEvents({ EventHandles: handled, ...subApp(config) }), { deadline: deps.deadline });
      summary.eventsConfirmed += handled.length;
    }
  }
  summary.outOfTime = true;
}

/** The columns a cleanup step needs of a leased upload. */
interface LeasedUpload {
  uploadId: string;
  status: UploadStatus;
  fileId: string | null;
  taskId: string | null;
}

/**
 * Leases up to a batch of uploads matching `where` (skipping rows another run holds) and returns them.
 * Keyset order on (status_changed_at, upload_id) keeps each batch an index range scan.
 */
async function leaseBatch(db: Database, where: string, params: unknown[], limit: number): Promise<LeasedUpload[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `UPDATE uploads SET lease_until = now() + interval '${LEASE_SECONDS} seconds'
     WHERE upload_id IN (
       SELECT upload_id FROM uploads
       WHERE ${where} AND (lease_until IS NULL OR lease_until < now())
       ORDER BY status_changed_at, upload_id
       LIMIT ${limit}
       FOR UPDATE SKIP LOCKED)
     RETURNING upload_id, status, file_id, task_id`,
    params,
  );
  return rows.map((row) => ({
    uploadId: String(row.upload_id),
    status: row.status as UploadStatus,
    fileId: (row.file_id as string | null) ?? null,
    taskId: (row.task_id as string | null) ?? null,
  }));
}

/**
 * Runs `work` on leased batches until none is left or time runs out. Leases are held until the step
 * ends, so rows that still match (a VOD call failed) are not fetched again within the same run.
 */
async function inBatches(
  deps: CleanupDeps,
  summary: CleanupSummary,
  where: string,
  params: unknown[],
  work: (upload: LeasedUpload) => Promise<void>,
): Promise<void> {
  const leased: string[] = [];
  try {
    while (true) {
      if (Date.now() >= deps.deadline) {
        summary.outOfTime = true;
        return;
      }
      const batch = await leaseBatch(deps.db, where, params, deps.config.cleanup.batchSize);
      if (batch.length === 0) return;
      for (const upload of batch) {
        leased.push(upload.uploadId);
        if (Date.now() < deps.deadline) await work(upload);
      }
    }
  } finally {
    if (leased.length > 0) await deps.db.query('UPDATE uploads SET lease_until = NULL WHERE upload_id = ANY($1::uuid[])', [leased]);
  }
}

/** Finds the task that an earlier ProcessMedia started for this file and pipeline. */
async function findProcessingTask(deps: CleanupDeps, upload: LeasedUpload): Promise<string | undefined> {
  const sessionId = processingSessionId(upload.fileId!, deps.config.pipeline.version);
  const tasks = await withVodRetry(() => deps.vod.DescribeTasks({ FileId: upload.fileId!, Limit: 100, ...subApp(deps.config) }), {
    deadline: deps.deadline,
  });
  return tasks.TaskSet?.find((task) => task.SessionId === sessionId)?.TaskId;
}

/** Applies VOD's view of a task through the same path as its events. */
async function applyTaskState(deps: CleanupDeps, upload: LeasedUpload, taskId: string): Promise<boolean> {
  let detail;
  try {
    detail = await withVodRetry(() => deps.vod.DescribeTaskDetail({ TaskId: taskId, ...subApp(deps.config) }), { deadline: deps.deadline });
  } catch (error) {
    const code = vodErrorCode(error);
    if (code?.startsWith('ResourceNotFound') || code === 'InvalidParameterValue.TaskId') {
      // VOD keeps tasks for 3 days; a task it no longer knows will never report.
      await updateUpload(deps.db, upload.uploadId, {
        status: UploadStatus.FAILED,
        error: { code: 'TaskNotFound', message: `VOD no longer knows task ${taskId}` },
      }, UploadStatus.PROCESSING);
      return true;
    }
    throw error;
  }
  if (!detail.ProcedureTask || detail.Status !== 'FINISH') return false;
  const event = parseVodEvent({ EventType: 'ProcedureStateChanged', ProcedureStateChangeEvent: { ...detail.ProcedureTask, Status: 'FINISH' } });
  await handleVodEvent(deps, event, { confirmWithVod: false });
  return true;
}

/** SearchMedia pages through at most this many results (VOD's Offset + Limit limit). */
const SEARCH_WINDOW = 5000;
const SEARCH_PAGE = 50;

/**
 * Uploads still ISSUED although their file is in VOD: the NewFileUpload callback was lost (VOD retries
 * a PUSH at most twice). Media created since the oldest such upload are listed with SearchMedia and
 * matched on their sourceContext; each match goes through the NewFileUpload path (de-dupe included).
 */
async function recoverMissedUploads(deps: CleanupDeps, summary: CleanupSummary): Promise<void> {
  const { config, db, vod, log } = deps;
  const { rows } = await db.query<{ upload_id: string; created_at: Date | string }>(
    `SELECT upload_id, created_at FROM uploads
     WHERE status = 'ISSUED' AND created_at < now() - make_interval(secs => $1)
     ORDER BY created_at LIMIT $2`,
    [config.cleanup.uploadedRetryAfterSeconds, SEARCH_WINDOW],
  );
  if (rows.length === 0) return;
  const waiting = new Set(rows.map((row) => row.upload_id));
  // A minute of slack for clock differences between the database and VOD.
  const after = new Date(new Date(rows[0]!.created_at).getTime() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  for (let offset = 0; offset < SEARCH_WINDOW && waiting.size > 0 && Date.now() < deps.deadline; offset += SEARCH_PAGE) {
    const page = await withVodRetry(
      () =>
        vod.SearchMedia({
          ...subApp(config),
          CreateTime: { After: after },
          Categories: ['Video'],
          Filters: ['basicInfo'],
          Sort: { Field: 'CreateTime', Order: 'Asc' },
          Offset: offset,
          Limit: SEARCH_PAGE,
        }),
      { deadline: deps.deadline },
    );
    const found = (page.MediaInfoSet ?? []).filter((media) => {
      const context = decodeUploadContext(media.BasicInfo?.SourceInfo?.SourceContext);
      return context !== undefined && waiting.has(context.uploadId);
    });
    // The search left out the metadata that validation needs: ask for it, 20 files at a time (VOD's limit).
    for (let i = 0; i < found.length; i += 20) {
      const ids = found.slice(i, i + 20).map((m) => m.FileId!);
      const detailed = await withVodRetry(() => vod.DescribeMediaInfos({ ...subApp(config), FileIds: ids, Filters: ['basicInfo', 'metaData'] }), {
        deadline: deps.deadline,
      });
      for (const media of detailed.MediaInfoSet ?? []) {
        // With a procedure in the signature VOD started processing itself: keep that task, start no other.
        const procedureTaskId = config.upload.procedure ? await firstTaskOf(deps, media.FileId!) : undefined;
        const event = parseVodEvent({
          EventType: 'NewFileUpload',
          FileUploadEvent: { FileId: media.FileId, MediaBasicInfo: media.BasicInfo, MetaData: media.MetaData, ProcedureTaskId: procedureTaskId },
        });
        const handled = await handleVodEvent(deps, event, { confirmWithVod: false });
        if (!handled.duplicate) summary.uploadsRecovered++;
        if (handled.uploadId) waiting.delete(handled.uploadId);
        log.info('recovered an upload whose NewFileUpload was lost', { fileId: media.FileId, uploadId: handled.uploadId, outcome: handled.outcome });
      }
    }
    if ((page.MediaInfoSet ?? []).length < SEARCH_PAGE) return;
  }
}

/** The task VOD started for a file (by a procedure), if any. */
async function firstTaskOf(deps: CleanupDeps, fileId: string): Promise<string | undefined> {
  const tasks = await withVodRetry(() => deps.vod.DescribeTasks({ FileId: fileId, Limit: 10, ...subApp(deps.config) }), { deadline: deps.deadline });
  return tasks.TaskSet?.[0]?.TaskId;
}

/** Step 2. */
async function reconcile(deps: CleanupDeps, summary: CleanupSummary): Promise<void> {
  const settings = deps.config.cleanup;
  const { log } = deps;

  try {
    await recoverMissedUploads(deps, summary);
  } catch (error) {
    log.warn('could not look for uploads whose NewFileUpload was lost', { error });
  }

  // The webhook's own ProcessMedia call failed (or the instance died before it).
  await inBatches(deps, summary, `status = 'UPLOADED' AND status_changed_at < now() - make_interval(secs => $1)`, [settings.uploadedRetryAfterSeconds], async (upload) => {
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
      await updateUpload(deps.db, upload.uploadId, { status: UploadStatus.PROCESSING, taskId }, UploadStatus.UPLOADED);
      summary.processingRestarted++;
    }
  });

  // Processing whose outcome never arrived (lost callbacks): ask VOD.
  await inBatches(deps, summary, `status = 'PROCESSING' AND updated_at < now() - make_interval(secs => $1)`, [settings.processingDeadlineSeconds], async (upload) => {
    try {
      const taskId = upload.taskId ?? (upload.fileId ? await findProcessingTask(deps, upload) : undefined);
      if (taskId && (await applyTaskState(deps, upload, taskId))) summary.processingResolved++;
    } catch (error) {
      log.warn('could not reconcile a processing upload', { uploadId: upload.uploadId, error });
    }
  });

  // Signatures that ran out with nothing uploaded: one statement per batch, no VOD call needed.
  while (Date.now() < deps.deadline) {
    const { rowCount } = await deps.db.query(
      `UPDATE uploads SET status = 'EXPIRED', status_changed_at = now(), updated_at = now()
       WHERE upload_id IN (
         SELECT upload_id FROM uploads
         WHERE status = 'ISSUED' AND signature_expires_at < now() - make_interval(secs => $1)
         ORDER BY status_changed_at, upload_id LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [settings.expiryGraceSeconds, settings.batchSize],
    );
    summary.expired += rowCount;
    if (rowCount < settings.batchSize) return;
  }
}

async function deleteMedia(deps: CleanupDeps, summary: CleanupSummary, fileId: string): Promise<boolean> {
  if (deps.config.cleanup.dryRun) {
    summary.wouldDelete.push(fileId);
    return false;
  }
  try {
    await withVodRetry(() => deps.vod.DeleteMedia({ FileId: fileId, ...subApp(deps.config) }), { deadline: deps.deadline });
  } catch (error) {
    // Already gone is as good as deleted.
    if (!vodErrorCode(error)?.startsWith('ResourceNotFound')) {
      deps.log.warn('DeleteMedia failed; retried next run', { fileId, error });
      return false;
    }
  }
  summary.mediaDeleted++;
  return true;
}

/** Step 3. */
async function deleteOrphans(deps: CleanupDeps, summary: CleanupSummary): Promise<void> {
  const settings = deps.config.cleanup;
  await inBatches(
    deps,
    summary,
    `file_id IS NOT NULL AND (status = 'REJECTED' OR (status = 'FAILED' AND status_changed_at < now() - make_interval(days => $1)))`,
    [settings.failedRetentionDays],
    async (upload) => {
      if (await deleteMedia(deps, summary, upload.fileId!)) {
        await updateUpload(deps.db, upload.uploadId, { status: UploadStatus.DELETED }, upload.status);
      }
    },
  );
  // Files that arrived for an upload that already had one, or after it expired: nobody will claim them.
  let after = '';
  while (Date.now() < deps.deadline) {
    const { rows } = await deps.db.query<{ dedupe_key: string; file_id: string; outcome: string }>(
      `SELECT dedupe_key, file_id, outcome FROM vod_events
       WHERE outcome IN ('extra-file', 'late-upload') AND file_id IS NOT NULL AND dedupe_key > $1
       ORDER BY dedupe_key LIMIT $2`,
      [after, settings.batchSize],
    );
    for (const row of rows) {
      if (await deleteMedia(deps, summary, row.file_id)) {
        await deps.db.query(`UPDATE vod_events SET outcome = $2 WHERE dedupe_key = $1`, [row.dedupe_key, `${row.outcome}:deleted`]);
      }
    }
    if (rows.length < settings.batchSize) return;
    after = rows[rows.length - 1]!.dedupe_key;
  }
}

/** Step 4. Deletes in bounded batches so one run never holds a long lock. */
async function purge(deps: CleanupDeps, summary: CleanupSummary): Promise<void> {
  const settings = deps.config.cleanup;
  const batched = async (sql: string, params: unknown[]): Promise<number> => {
    let total = 0;
    while (Date.now() < deps.deadline) {
      const { rowCount } = await deps.db.query(sql, [...params, settings.batchSize]);
      total += rowCount;
      if (rowCount < settings.batchSize) break;
    }
    return total;
  };
  summary.eventsPurged += await batched(
    `DELETE FROM vod_events WHERE dedupe_key IN (
       SELECT dedupe_key FROM vod_events
       WHERE received_at < now() - make_interval(days => $1) AND outcome NOT IN ('extra-file', 'late-upload')
       LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [settings.eventRetentionDays],
  );
  summary.rateLimitWindowsPurged += await batched(
    `DELETE FROM rate_limits WHERE (subject, window_start) IN (
       SELECT subject, window_start FROM rate_limits WHERE window_start < now() - interval '1 day' LIMIT $1 FOR UPDATE SKIP LOCKED)`,
    [],
  );
  summary.uploadsSlimmed += await batched(
    `UPDATE uploads SET media = NULL, result = NULL, updated_at = now() WHERE upload_id IN (
       SELECT upload_id FROM uploads
       WHERE status = 'DELETED' AND (media IS NOT NULL OR result IS NOT NULL)
         AND status_changed_at < now() - make_interval(days => $1)
       LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [settings.eventRetentionDays],
  );
}

