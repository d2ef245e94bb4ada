/**
 * Step 1, the event pump (PULL mode): PullEvents → the webhook's own handling → ConfirmEvents for what
 * was durably handled; a failure leaves the event unconfirmed, so VOD delivers it again.
 */
import { handleVodEvent } from '#lib/handle-vod-event';
import { isStaleEventHandleError } from '#lib/vod-api';
import { parsePullEventsResponse } from '#lib/vod-event';
import type { CleanupRun, CleanupSummary } from './run.ts';

/**
 * VOD refuses a handle confirmed more than 30 s after the pull (docs/vod-protocol/media-api.md §5.6). Past
 * CONFIRM_EACH_AFTER_MS each handled event is confirmed at once; past STOP_AFTER_MS no event of the pull is
 * started (those left come back by themselves after the 30 s).
 */
const CONFIRM_EACH_AFTER_MS = 10_000;
const STOP_AFTER_MS = 20_000;

/** Step 1. One PullEvents call returns at most 16 events and waits up to 5 s when there are none. */
export async function pumpEvents(deps: CleanupRun, summary: CleanupSummary): Promise<void> {
  const { vodApi, log } = deps;
  while (Date.now() < deps.deadline) {
    const pulled = parsePullEventsResponse(await vodApi.pullEvents());
    const pulledAt = deps.clock();
    if (pulled.events.length === 0) return;
    summary.eventsPulled += pulled.events.length;
    let handled: string[] = [];
    const confirm = async () => {
      if (handled.length === 0) return;
      const handles = handled;
      handled = [];
      try {
        await vodApi.confirmEvents(handles);
        summary.eventsConfirmed += handles.length;
      } catch (error) {
        if (!isStaleEventHandleError(error)) throw error;
        log.warn('late ConfirmEvents refused; those events come again', { error });
      }
    };
    for (const entry of pulled.events) {
      if (deps.clock() - pulledAt >= STOP_AFTER_MS) {
        log.info('pulled events left for redelivery: their handles would expire before being confirmed');
        break;
      }
      if (!entry.ok) {
        // It will never parse: confirm it so it stops coming back, and keep it in the log.
        log.error('malformed pulled event confirmed and dropped', { eventHandle: entry.eventHandle, error: entry.error });
        summary.eventsFailed++;
        if (entry.eventHandle) handled.push(entry.eventHandle);
      } else {
        try {
          // Pulled through the authenticated API: no need to confirm it with VOD again.
          const result = await handleVodEvent({ ...deps, log }, entry.event, { confirmWithVod: false, via: 'pull' });
          if (result.duplicate) summary.eventsDuplicate++;
          else summary.eventsApplied++;
          if (entry.eventHandle) handled.push(entry.eventHandle);
        } catch (error) {
          summary.eventsFailed++;
          log.warn('pulled event not handled; left unconfirmed for redelivery', { eventHandle: entry.eventHandle, error });
        }
      }
      if (deps.clock() - pulledAt >= CONFIRM_EACH_AFTER_MS) await confirm();
    }
    await confirm();
  }
  summary.outOfTime = true;
}
