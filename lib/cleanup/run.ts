/**
 * What one cleanup run is given, what it counts, and how its steps work through leased batches of
 * uploads within the run's time budget.
 */
import type { Config } from '#lib/config';
import type { Database } from '#lib/db';
import type { Logger } from '#lib/log';
import { leaseUploads, releaseLeases, type LeasedUpload, type LeaseSelection } from '#lib/upload-batches';
import { isRetryableVodError, vodErrorCode, type VodApi, type VodCalls } from '#lib/vod-api';

export interface CleanupDeps {
  config: Config;
  db: Database;
  vod: VodCalls;
  log: Logger;
  /** Epoch ms when the run must stop starting new work (real time: the function's own budget). */
  deadline: number;
  /**
   * The run's clock (epoch ms), for every decision of the form "waited long enough": processing checks,
   * retries, leases, expiry, the search's settling time. Default `Date.now`; tests move it.
   */
  clock?: () => number;
  /** Run only the webhooks step (the every-minute webhooks timer, serverless.yml). */
  webhooksOnly?: boolean;
}

/** What a step works with: the run's deps and VOD as the run asks it (sub-app, deadline, retries inside). */
export interface CleanupRun extends CleanupDeps {
  vodApi: VodApi;
  clock: () => number;
}

/**
 * A lease outlives the run's budget by this much: a run that lost its database (and so could not release
 * its leases) holds nothing a minute after it would have ended.
 */
const LEASE_MARGIN_SECONDS = 60;

export interface CleanupSummary {
  eventsPulled: number;
  eventsApplied: number;
  eventsDuplicate: number;
  eventsFailed: number;
  eventsConfirmed: number;
  /** Uploads whose NewFileUpload never arrived, found in VOD and applied. */
  uploadsRecovered: number;
  processingRestarted: number;
  processingResolved: number;
  /** Content reviews the reconciler started (their trigger was lost, or VOD was down then). */
  reviewsStarted: number;
  /** Pending reviews settled from VOD's answer (a lost verdict), or held for a person (a task VOD forgot). */
  reviewsResolved: number;
  /** BLOCKED uploads whose media VOD was told to stop serving (ForbidMediaDistribution) by the cleanup. */
  blockedForbidden: number;
  expired: number;
  mediaDeleted: number;
  /** Dry run: what would have been deleted (`fileId` list). */
  wouldDelete: string[];
  eventsPurged: number;
  rateLimitWindowsPurged: number;
  uploadsSlimmed: number;
  /** True when the run stopped because its time budget ran out (the next run continues). */
  outOfTime: boolean;
  /**
   * Items (an upload, a file) whose handling failed by itself, each logged with its id; the step went
   * on with the others.
   */
  itemsFailed: number;
  /** Steps that failed as a whole (an outage of the database or of VOD; logged); the others still ran. */
  stepsFailed: number;
  /** Webhooks step: sent and acknowledged; failed (tried again later); given up (kept for an operator). */
  webhooksDelivered: number;
  webhooksFailed: number;
  webhooksUndeliverable: number;
}

export function emptySummary(): CleanupSummary {
  return {
    eventsPulled: 0,
    eventsApplied: 0,
    eventsDuplicate: 0,
    eventsFailed: 0,
    eventsConfirmed: 0,
    uploadsRecovered: 0,
    processingRestarted: 0,
    processingResolved: 0,
    reviewsStarted: 0,
    reviewsResolved: 0,
    blockedForbidden: 0,
    expired: 0,
    mediaDeleted: 0,
    wouldDelete: [],
    eventsPurged: 0,
    rateLimitWindowsPurged: 0,
    uploadsSlimmed: 0,
    outOfTime: false,
    itemsFailed: 0,
    stepsFailed: 0,
    webhooksDelivered: 0,
    webhooksFailed: 0,
    webhooksUndeliverable: 0,
  };
}

/**
 * The database or VOD is unavailable (a 503 from lib/db.ts, VOD's transient codes, a network error):
 * nothing else in the step would succeed either, and no item is to blame, so the step stops.
 */
export function isOutage(error: unknown): boolean {
  if ((error as { status?: unknown } | null)?.status === 503) return true;
  return vodErrorCode(error) !== undefined && isRetryableVodError(error);
}

/**
 * Runs one item's work so that its failure stays its own: counted, logged with its ids, and the caller
 * goes on with the next item. An outage is rethrown (the step fails as a whole). True when it succeeded.
 */
export async function isolated(
  deps: CleanupRun,
  summary: CleanupSummary,
  what: string,
  ids: Record<string, string | null | undefined>,
  work: () => Promise<void>,
): Promise<boolean> {
  try {
    await work();
    return true;
  } catch (error) {
    if (isOutage(error)) throw error;
    summary.itemsFailed++;
    deps.log.error(`cleanup: ${what} failed for this item; the others go on`, { ...ids, error });
    return false;
  }
}

/**
 * Runs `work` on leased batches until none is left or time runs out. Leases are held until the step
 * ends, so rows that still match (a VOD call failed) are not fetched again within the same run. A
 * failing item is isolated (see `isolated`): the next run tries it again, after the others of this one.
 */
export async function inBatches(
  deps: CleanupRun,
  summary: CleanupSummary,
  selection: LeaseSelection,
  work: (upload: LeasedUpload) => Promise<void>,
): Promise<void> {
  const leased: string[] = [];
  try {
    while (true) {
      if (Date.now() >= deps.deadline) {
        summary.outOfTime = true;
        return;
      }
      const batch = await leaseUploads(deps.db, selection, deps.config.cleanup.batchSize, {
        now: new Date(deps.clock()),
        seconds: deps.config.cleanup.timeBudgetSeconds + LEASE_MARGIN_SECONDS,
      });
      if (batch.length === 0) return;
      for (const upload of batch) {
        leased.push(upload.uploadId);
        if (Date.now() >= deps.deadline) continue;
        await isolated(deps, summary, selection.kind, { uploadId: upload.uploadId, fileId: upload.fileId }, () => work(upload));
      }
    }
  } finally {
    if (leased.length > 0) await releaseLeases(deps.db, leased);
  }
}
