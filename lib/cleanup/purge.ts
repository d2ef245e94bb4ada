/**
 * Step 4, purge: old de-dupe records, rate-limit windows and the bulky data of deleted uploads.
 */
import type { CleanupDeps, CleanupSummary } from './run.ts';

/** Step 4. Deletes in bounded batches so one run never holds a long lock. */
export async function purge(deps: CleanupDeps, summary: CleanupSummary): Promise<void> {
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
