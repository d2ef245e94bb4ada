/**
 * Re-sends webhooks that were already delivered (an app that lost its own data), with their original
 * `webhook-id` (the receiver de-duplicates on it) and a fresh timestamp and signature. Changes nothing
 * in the outbox: a replay is not a delivery.
 */
import type { WebhookDeps } from './deliver.ts';
import { webhookBody, webhookHeaders } from './message.ts';
import { deliveredWebhooks } from './outbox-store.ts';
import { postWebhook } from './send.ts';

export interface ReplayFilter {
  since: Date;
  uploadId?: string;
  eventType?: string;
}

export interface ReplayLine {
  webhookId: string;
  eventType: string;
  uploadId: string;
  status?: number;
  ok: boolean;
  detail: string;
}

const PAGE = 100;

/** Sends every match in outbox order, one at a time; `report` sees each result. Returns [sent, failed]. */
export async function replayWebhooks(
  deps: WebhookDeps,
  filter: ReplayFilter,
  report: (line: ReplayLine) => void,
): Promise<{ sent: number; failed: number }> {
  const settings = deps.config.webhooks;
  if (!settings) throw new Error('APP_WEBHOOK_URL is not set: there is nowhere to replay to');
  const totals = { sent: 0, failed: 0 };
  let after: string | undefined;
  while (true) {
    const page = await deliveredWebhooks(deps.db, { ...filter, limit: PAGE, after });
    for (const row of page) {
      const body = webhookBody(row, deps.config.hotlink);
      const headers = webhookHeaders(settings.secrets, row.webhookId, body, new Date());
      const result = await postWebhook(settings.url, headers, body, {
        timeoutMs: settings.timeoutMs,
        publicOnly: settings.publicOnly,
      });
      totals[result.ok ? 'sent' : 'failed']++;
      report({
        webhookId: row.webhookId,
        eventType: row.eventType,
        uploadId: row.uploadId,
        status: result.status,
        ok: result.ok,
        detail: result.detail.slice(0, 120),
      });
    }
    if (page.length < PAGE) return totals;
    after = page[page.length - 1]!.webhookId;
  }
}
