/**
 * The scheduled cleanup: what makes the system lose nothing when PUSH callbacks go missing (VOD resends
 * one only after a timeout or a connection failure, never after an answer such as a 503) and when a
 * trigger fails. Each run is bounded by a time budget, works in
 * small batches of leased rows (a concurrent run skips what this one holds), is idempotent, and
 * returns counts. An item (upload, file) that fails by itself is counted and logged and the step goes
 * on (run.ts `isolated`); a step that fails as a whole (an outage) is counted in `stepsFailed`. Steps,
 * each switchable:
 *  1. event pump (PULL mode): PullEvents → the webhook's own handling → ConfirmEvents for what was
 *     durably handled; a failure leaves the event unconfirmed, so VOD delivers it again;
 *  2. reconcile: recover uploads whose NewFileUpload was lost (SearchMedia), restart processing of
 *     UPLOADED files, ask VOD about PROCESSING ones overdue for their media, expire ISSUED uploads whose
 *     signature ran out; then the reviews (reviews.ts, same switch): start lost reviews, ask VOD about
 *     verdicts that never came, forbid the media of BLOCKED uploads where that failed;
 *  3. orphans: delete media nobody will use (REJECTED, FAILED or BLOCKED past retention, extra or late files);
 *  4. deletions (always on): the media of uploads their owner deleted while VOD could not be reached;
 *  5. purge old de-dupe records, rate-limit windows and the bulky data of deleted uploads;
 *  6. webhooks: send the outbox's due webhooks (retries), purge finished ones (webhooks.ts).
 */
import { vodApi } from '#lib/vod-api';
import { finishDeletions } from './deletions.ts';
import { pumpEvents } from './event-pump.ts';
import { deleteOrphans } from './orphans.ts';
import { purge } from './purge.ts';
import { reconcile } from './reconcile.ts';
import { reconcileReviews } from './reviews.ts';
import { sendWebhooks } from './webhooks.ts';
import { emptySummary, type CleanupDeps, type CleanupRun, type CleanupSummary } from './run.ts';

export type { CleanupDeps, CleanupSummary } from './run.ts';

export async function runCleanup(deps: CleanupDeps): Promise<CleanupSummary> {
  const summary = emptySummary();
  const settings = deps.config.cleanup;
  const run: CleanupRun = {
    ...deps,
    clock: deps.clock ?? Date.now,
    vodApi: vodApi(deps.vod, { subAppId: deps.config.vod.subAppId, deadline: deps.deadline }),
  };
  // Named here, not by `step.name`: the bundles are minified without keeping function names.
  const steps: Array<[boolean, (run: CleanupRun, summary: CleanupSummary) => Promise<void>, string]> = [
    [settings.pullEvents, pumpEvents, 'pumpEvents'],
    [settings.reconcile, reconcile, 'reconcile'],
    [settings.reconcile, reconcileReviews, 'reconcileReviews'],
    [settings.deleteOrphans, deleteOrphans, 'deleteOrphans'],
    [true, finishDeletions, 'finishDeletions'],
    [settings.purge, purge, 'purge'],
    [true, sendWebhooks, 'sendWebhooks'],
  ];
  if (deps.webhooksOnly) steps.splice(0, steps.length - 1);
  for (const [enabled, step, name] of steps) {
    if (!enabled) continue;
    if (Date.now() >= deps.deadline) {
      summary.outOfTime = true;
      break;
    }
    try {
      await step(run, summary);
    } catch (error) {
      // One step failing (VOD throttling, a lost database) must not stop the others.
      summary.stepsFailed++;
      deps.log.error(`cleanup step ${name} failed`, { error });
    }
  }
  deps.log.info('cleanup finished', { ...summary, wouldDelete: summary.wouldDelete.length, dryRun: settings.dryRun });
  return summary;
}
