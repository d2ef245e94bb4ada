/**
 * The cleanup function, run by an SCF timer (see serverless.yml). Returns the run's counts and logs one
 * summary line. Safe to run twice at once: every step leases or locks rows in the database.
 */
import { runCleanup, type CleanupSummary } from '#lib/cleanup';
import { createRuntime } from '#lib/runtime';
import { createVodClient } from '#lib/vod-api';

const runtime = createRuntime('cleanup', {});
const { config, log } = runtime;
// PullEvents holds a call open for up to 5 s when the queue is empty: leave it room.
const vod = createVodClient(config, { timeoutSeconds: 15 });

interface TimerEvent {
  Type?: string;
  TriggerName?: string;
  Time?: string;
  /** The timer's argument: `webhooks` for the every-minute webhooks timer. */
  Message?: string;
}

export async function main_handler(event: TimerEvent = {}, context: { request_id?: string } = {}): Promise<CleanupSummary> {
  const deadline = Date.now() + config.cleanup.timeBudgetSeconds * 1000;
  const runLog = log.child({ requestId: context.request_id, trigger: event?.TriggerName, scheduledAt: event?.Time });
  const db = await runtime.database();
  return runCleanup({ config, db, vod, log: runLog, deadline, webhooksOnly: event?.Message === 'webhooks' });
}
