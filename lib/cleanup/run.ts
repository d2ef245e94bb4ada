/**
 * What one cleanup run is given, what it counts, and how its steps work through leased batches of
 * uploads within the run's time budget.
 */
import type { Config } from '#lib/config';
import type { Database } from '#lib/db';
import type { VodApi } from '#lib/handle-vod-event';
import type { Logger } from '#lib/log';
import type { UploadStatus } from '#lib/upload-lifecycle';
import type { VodClient } from '#lib/vod-api';

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

export function emptySummary(): CleanupSummary {
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

export function subApp(config: Config): { SubAppId?: number } {
  return config.vod.subAppId === undefined ? {} : { SubAppId: config.vod.subAppId };
}

/** The columns a cleanup step needs of a leased upload. */
export interface LeasedUpload {
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
export async function inBatches(
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
