/**
 * Step 1, the event pump (PULL mode): PullEvents → the webhook's own handling → ConfirmEvents for what
 * was durably handled; a failure leaves the event unconfirmed, so VOD delivers it again.
 */
import { handleVodEvent } from '#lib/handle-vod-event';
import { isStaleEventHandleError } from '#lib/vod-api';
import { parsePullEventsResponse } from '#lib/vod-event';
import type { CleanupRun, CleanupSummary } from './run.ts';

/** Step 1. One PullEvents call returns at most 16 events and waits up to 5 s when there are none. */
export async function pumpEvents(deps: CleanupRun, summary: CleanupSummary): Promise<void> {
  const { vodApi, log } = deps;
  while (Date.now() < deps.deadline) {
    const pulled = parsePullEventsResponse(await vodApi.pullEvents());
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
      await vodApi.confirmEvents(handled).catch((error: unknown) => (isStaleEventHandleError(error) ? log.warn('late ConfirmEvents refused; those events come again', { error }) : Promise.reject(error)));
      summary.eventsConfirmed += handled.length;
    }
  }
  summary.outOfTime = true;
}
