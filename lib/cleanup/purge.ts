/**
 * Step 4, purge: old de-dupe records, rate-limit windows and the bulky data of deleted uploads.
 */
import { purgeEvents } from '#lib/event-store';
import { purgeRateLimitWindows } from '#lib/rate-limit';
import { slimDeletedUploads } from '#lib/upload-batches';
import type { CleanupRun, CleanupSummary } from './run.ts';

/** Step 4. Deletes in bounded batches so one run never holds a long lock. */
export async function purge(deps: CleanupRun, summary: CleanupSummary): Promise<void> {
  const { db, config } = deps;
  const settings = config.cleanup;
  const batched = async (batch: (limit: number) => Promise<number>): Promise<number> => {
    let total = 0;
    while (Date.now() < deps.deadline) {
      const count = await batch(settings.batchSize);
      total += count;
      if (count < settings.batchSize) break;
    }
    return total;
  };
  summary.eventsPurged += await batched((limit) => purgeEvents(db, settings.eventRetentionDays, limit));
  summary.rateLimitWindowsPurged += await batched((limit) => purgeRateLimitWindows(db, limit));
  summary.uploadsSlimmed += await batched((limit) => slimDeletedUploads(db, settings.eventRetentionDays, limit));
}
