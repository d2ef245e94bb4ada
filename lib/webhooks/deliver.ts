/**
 * Delivering the outbox: lease the first pending webhook of each upload, POST it, mark it. A 2xx is
 * delivered; anything else (another status, a timeout, a connection error) is tried again after a
 * backoff that doubles per attempt, with jitter, until APP_WEBHOOK_MAX_AGE_HOURS after the status
 * change; then the row stays, `undeliverable`, for an operator. Used right after a commit (the function
 * that changed the status, within its own deadline) and by the cleanup's webhooks step.
 */
import type { Config } from '#lib/config';
import type { Queryable } from '#lib/db';
import type { Logger } from '#lib/log';
import { webhookBody, webhookHeaders } from './message.ts';
import { leaseDueWebhooks, markDelivered, markFailed, type OutboxRow } from './outbox-store.ts';
import { postWebhook } from './send.ts';

export interface WebhookDeps {
  config: Pick<Config, 'webhooks' | 'hotlink'>;
  db: Queryable;
  log: Logger;
  /** Epoch ms (real time) by which sending must be over; none: one timeout per webhook. */
  deadline?: number;
  /** For "is it due yet" and backoff (epoch ms). Default `Date.now`; tests move it. */
  clock?: () => number;
}

export interface DeliveryCounts {
  delivered: number;
  failed: number;
  undeliverable: number;
}

/** Sent in parallel per lease: each row is a different upload's first pending webhook. */
const PARALLEL = 8;
/**
 * The first retry is due 2.5-5 s after a failure (the cleanup's every-minute webhooks timer sends it, so
 * within a minute), then twice as late each time, at most an hour apart.
 */
const FIRST_RETRY_MS = 5_000;
const MAX_RETRY_MS = 3_600_000;
/** Time kept back from a deadline for marking the row. */
const MARGIN_MS = 250;

/** The wait before attempt `failures + 1`: exponential, capped, with jitter (half to all of it). */
export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  const full = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(full * (0.5 + 0.5 * random()));
}

/** Sends what is due (of one upload, or all) until nothing is or time runs out. Throws only on a database failure. */
export async function deliverDueWebhooks(
  deps: WebhookDeps,
  options: { uploadId?: string; limit?: number } = {},
): Promise<DeliveryCounts> {
  const counts: DeliveryCounts = { delivered: 0, failed: 0, undeliverable: 0 };
  const settings = deps.config.webhooks;
  if (!settings) return counts;
  const clock = deps.clock ?? Date.now;
  const remaining = () => (deps.deadline ?? Number.POSITIVE_INFINITY) - Date.now() - MARGIN_MS;
  const attempted = new Set<string>();
  while (remaining() > 100) {
    const timeoutMs = Math.min(settings.timeoutMs, remaining());
    const batch = await leaseDueWebhooks(deps.db, {
      now: new Date(clock()),
      leaseSeconds: Math.ceil(timeoutMs / 1000) + 30,
      limit: Math.min(PARALLEL, options.limit ?? PARALLEL),
      uploadId: options.uploadId,
    });
    // A row tried once in this call is not tried again in it (a failed one is not due yet anyway).
    const fresh = batch.filter((row) => !attempted.has(row.webhookId));
    if (fresh.length === 0) break;
    await Promise.all(
      fresh.map(async (row) => {
        attempted.add(row.webhookId);
        counts[await deliverOne(deps, row, timeoutMs, clock)]++;
      }),
    );
    if (options.limit !== undefined && attempted.size >= options.limit) break;
  }
  return counts;
}

async function deliverOne(
  deps: WebhookDeps,
  row: OutboxRow,
  timeoutMs: number,
  clock: () => number,
): Promise<keyof DeliveryCounts> {
  const settings = deps.config.webhooks!;
  const body = webhookBody(row, deps.config.hotlink);
  const headers = webhookHeaders(settings.secrets, row.webhookId, body, new Date());
  const result = await postWebhook(settings.url, headers, body, { timeoutMs, publicOnly: settings.publicOnly });
  const now = clock();
  if (result.ok) {
    await markDelivered(deps.db, row.webhookId, result.status!, new Date(now));
    deps.log.info('webhook delivered', {
      webhookId: row.webhookId,
      uploadId: row.uploadId,
      type: row.eventType,
      status: result.status,
    });
    return 'delivered';
  }
  const retryAt = now + retryDelayMs(row.attempts + 1);
  const giveUp = retryAt > row.occurredAt.getTime() + settings.maxAgeHours * 3_600_000;
  const error = result.status === undefined ? result.detail : `HTTP ${result.status}: ${result.detail}`;
  await markFailed(deps.db, row.webhookId, { status: result.status, error, retryAt: giveUp ? undefined : new Date(retryAt) });
  // Only the start of what the receiver said: it is outside text.
  deps.log.warn(giveUp ? 'webhook undeliverable; kept for an operator' : 'webhook failed; retried later', {
    webhookId: row.webhookId,
    uploadId: row.uploadId,
    attempts: row.attempts + 1,
    status: result.status,
    detail: result.detail.slice(0, 120),
  });
  return giveUp ? 'undeliverable' : 'failed';
}

/**
 * Right after a commit that changed an upload's status: its pending webhooks, in order, within the
 * caller's deadline. Never throws: the outbox keeps what was not sent, and the cleanup sends it.
 */
export async function sendPendingWebhooks(deps: WebhookDeps, uploadId: string): Promise<void> {
  if (!deps.config.webhooks) return;
  try {
    await deliverDueWebhooks(deps, { uploadId });
  } catch (error) {
    deps.log.warn('webhooks not sent after the commit; the cleanup sends them', { uploadId, error });
  }
}
