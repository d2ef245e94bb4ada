/**
 * Step 3, orphans: delete media nobody will use (REJECTED, FAILED past retention, extra or late files).
 */
import { UploadStatus } from '#lib/upload-lifecycle';
import { updateUpload } from '#lib/upload-store';
import { vodErrorCode, withVodRetry } from '#lib/vod-api';
import { inBatches, subApp, type CleanupDeps, type CleanupSummary } from './run.ts';

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
export async function deleteOrphans(deps: CleanupDeps, summary: CleanupSummary): Promise<void> {
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
