/**
 * The webhooks step: sends the outbox's due webhooks (first retries, backed-off ones, what a function
 * could not send within its own deadline), then purges finished rows past EVENT_RETENTION_DAYS. With
 * APP_WEBHOOK_URL unset, pending rows are dropped instead, so turning webhooks on never sends a backlog.
 */
import { deliverDueWebhooks } from '#lib/webhooks';
import { dropPendingWebhooks, purgeWebhooks } from '#lib/webhooks/outbox-store';
import type { CleanupRun, CleanupSummary } from './run.ts';

export async function sendWebhooks(deps: CleanupRun, summary: CleanupSummary): Promise<void> {
  const settings = deps.config.cleanup;
  const now = () => new Date(deps.clock());
  if (deps.config.webhooks) {
    const counts = await deliverDueWebhooks(deps);
    summary.webhooksDelivered += counts.delivered;
    summary.webhooksFailed += counts.failed;
    summary.webhooksUndeliverable += counts.undeliverable;
  } else {
    while (Date.now() < deps.deadline && (await dropPendingWebhooks(deps.db, settings.batchSize)) === settings.batchSize);
  }
  while (Date.now() < deps.deadline) {
    const purged = await purgeWebhooks(deps.db, settings.eventRetentionDays, settings.batchSize, now());
    if (purged < settings.batchSize) break;
  }
}
