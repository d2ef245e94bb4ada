/**
 * Lost-upload recovery (part of step 2): files in VOD whose NewFileUpload callback never arrived (VOD
 * does not resend a callback it got an answer to, even a 503: docs/vod-protocol/events.md §4.5).
 *
 * A durable cursor records how far the search has looked through VOD's media by creation time, so each
 * run covers what was created since the last one, however many old uploads are still ISSUED. The cursor
 * moves only past media that were durably handled (or need nothing), so a run that loses its database
 * leaves the rest for the next run. A file whose handling fails by itself (not an outage) does not hold
 * the cursor: it is counted and logged, recorded in `search_retries`, and the cursor moves on; the next
 * runs try it again first, and after MAX_ATTEMPTS failures in all it is given up with an error log.
 */
import { handleVodEvent } from '#lib/handle-vod-event';
import {
  dropSearchRetry,
  knownFileIds,
  readSearchCursor,
  recordSearchFailure,
  saveSearchCursor,
  searchRetries,
  type SearchCursor,
} from '#lib/event-store';
import { decodeUploadContext } from '#lib/upload-context';
import { oldestIssuedCreatedAt } from '#lib/upload-batches';
import type { VodMediaInfo } from '#lib/vod-api';
import { newFileUploadFromMediaInfo } from '#lib/vod-event';
import { isolated, type CleanupRun, type CleanupSummary } from './run.ts';

/** SearchMedia answers at most this far into one query (VOD's Offset + Limit limit). */
const SEARCH_WINDOW = 5000;
const SEARCH_PAGE = 50;
/** Where a first search starts before the oldest ISSUED upload: slack for clocks that differ. */
const CLOCK_SLACK_MS = 60_000;
/** Runs that try a file whose handling fails (the first included) before it is given up. */
export const MAX_ATTEMPTS = 5;
/** Failed files tried again per run, at most. */
const RETRIES_PER_RUN = 100;

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function createdAt(media: VodMediaInfo): number | undefined {
  const ms = Date.parse(media.BasicInfo?.CreateTime ?? '');
  return Number.isNaN(ms) ? undefined : ms;
}

/** Not yet passed by the cursor: later than its high-water mark, or at it but not among its files. */
function ahead(cursor: SearchCursor, at: number, fileId: string): boolean {
  const mark = cursor.highWater.getTime();
  return at > mark || (at === mark && !cursor.fileIds.includes(fileId));
}

function advanced(cursor: SearchCursor, at: number, fileId: string): SearchCursor {
  if (at > cursor.highWater.getTime()) return { highWater: new Date(at), fileIds: [fileId] };
  return { highWater: cursor.highWater, fileIds: [...cursor.fileIds, fileId] };
}

async function startingCursor(deps: CleanupRun, name: string): Promise<SearchCursor> {
  const stored = await readSearchCursor(deps.db, name);
  if (stored) return stored;
  // First run: from just before the oldest upload that may still be waiting for its file.
  const oldest = (await oldestIssuedCreatedAt(deps.db))?.getTime() ?? deps.clock();
  return { highWater: new Date(Math.min(oldest, deps.clock()) - CLOCK_SLACK_MS), fileIds: [] };
}

/**
 * Media created since the cursor (and at least UPLOADED_RETRY_AFTER_SECONDS ago, so a callback in flight
 * and VOD's search index have time to settle) are listed with SearchMedia, oldest first. Those carrying
 * one of our sourceContexts whose file nobody has seen go through the NewFileUpload path (de-dupe
 * included): an ISSUED upload becomes UPLOADED and its processing starts; a second file or a late one
 * is recorded as an orphan for step 3.
 */
export async function recoverMissedUploads(deps: CleanupRun, summary: CleanupSummary): Promise<void> {
  const { config, db, vodApi, log } = deps;
  const name = `lost-uploads:${config.vod.subAppId ?? 0}`;
  await retryFailed(deps, summary, name);
  let cursor = await startingCursor(deps, name);
  const settledBefore = deps.clock() - config.cleanup.uploadedRetryAfterSeconds * 1000;
  // Nothing created since the cursor has settled yet: no search can find anything, so VOD is not asked.
  if (cursor.highWater.getTime() >= settledBefore) return;
  let saved = cursor;
  const save = async () => {
    if (saved === cursor) return;
    await saveSearchCursor(db, name, cursor);
    saved = cursor;
  };
  try {
    // Each query starts at the cursor; past VOD's window of 5 000 results, the next query starts again.
    for (;;) {
      const after = isoSeconds(cursor.highWater.getTime());
      for (let offset = 0; offset + SEARCH_PAGE <= SEARCH_WINDOW; offset += SEARCH_PAGE) {
        if (Date.now() >= deps.deadline) {
          summary.outOfTime = true;
          return;
        }
        const page = await vodApi.videosCreatedAfter(after, offset, SEARCH_PAGE);
        const settled: Array<{ media: VodMediaInfo; at: number }> = [];
        let reachedUnsettled = false;
        for (const media of page) {
          const at = createdAt(media);
          if (at === undefined || !media.FileId) continue;
          if (at >= settledBefore) {
            reachedUnsettled = true; // sorted by CreateTime: the rest are newer still
            break;
          }
          if (ahead(cursor, at, media.FileId)) settled.push({ media, at });
        }
        await handleAndAdvance(settled);
        await save();
        if (reachedUnsettled || page.length < SEARCH_PAGE) return;
      }
    }
  } finally {
    // What was handled before a failure stays handled: keep the cursor there (if the database lets us).
    await save().catch((error: unknown) => log.warn('could not store the lost-upload search cursor', { error }));
  }

  async function handleAndAdvance(found: Array<{ media: VodMediaInfo; at: number }>): Promise<void> {
    const ours = found.filter(({ media }) => decodeUploadContext(media.BasicInfo?.SourceInfo?.SourceContext) !== undefined);
    const known = await knownFileIds(
      db,
      ours.map(({ media }) => media.FileId!),
    );
    const missed = new Set(ours.map(({ media }) => media.FileId!).filter((id) => !known.has(id)));
    // The search left out the metadata that validation needs: ask for it (20 files at a time).
    const described = new Map<string, VodMediaInfo>();
    for await (const batch of vodApi.mediaInfos([...missed], ['basicInfo', 'metaData'])) {
      for (const media of batch.media) described.set(media.FileId!, media);
    }
    for (const { media: listed, at } of found) {
      const media = described.get(listed.FileId!);
      if (missed.has(listed.FileId!) && media) await attempt(deps, summary, name, media);
      cursor = advanced(cursor, at, listed.FileId!);
    }
  }
}

/** The NewFileUpload path for one file found in VOD. */
async function recover(deps: CleanupRun, summary: CleanupSummary, media: VodMediaInfo): Promise<void> {
  // With a procedure in the signature VOD started processing itself: keep that task, start no other.
  const procedureTaskId = deps.config.upload.procedure ? await deps.vodApi.firstTaskOf(media.FileId!) : undefined;
  const event = newFileUploadFromMediaInfo(media, { procedureTaskId });
  const handled = await handleVodEvent(deps, event, { confirmWithVod: false, via: 'reconcile' });
  if (!handled.duplicate) summary.uploadsRecovered++;
  deps.log.info('recovered an upload whose NewFileUpload was lost', {
    fileId: media.FileId,
    uploadId: handled.uploadId,
    outcome: handled.outcome,
  });
}

/**
 * Recovers one file; a failure of its own is counted, logged and recorded for a later run (until
 * MAX_ATTEMPTS), an outage fails the step. True when it was handled.
 */
async function attempt(deps: CleanupRun, summary: CleanupSummary, name: string, media: VodMediaInfo): Promise<boolean> {
  const fileId = media.FileId!;
  const uploadId = decodeUploadContext(media.BasicInfo?.SourceInfo?.SourceContext)?.uploadId;
  if (await isolated(deps, summary, 'lost-upload recovery', { fileId, uploadId }, () => recover(deps, summary, media)))
    return true;
  const attempts = await recordSearchFailure(deps.db, name, fileId);
  if (attempts >= MAX_ATTEMPTS) {
    deps.log.error('lost-upload recovery gave up on a file: its handling failed every time', { fileId, uploadId, attempts });
    await dropSearchRetry(deps.db, name, fileId);
  }
  return false;
}

/** Files the cursor passed although their handling failed: tried again before the search goes on. */
async function retryFailed(deps: CleanupRun, summary: CleanupSummary, name: string): Promise<void> {
  const { db } = deps;
  const ids = (await searchRetries(db, name, RETRIES_PER_RUN)).map((retry) => retry.fileId);
  if (ids.length === 0) return;
  // Handled meanwhile (a late callback), or gone from VOD: nothing left to recover.
  const known = await knownFileIds(db, ids);
  for (const fileId of known) await dropSearchRetry(db, name, fileId);
  for await (const batch of deps.vodApi.mediaInfos(
    ids.filter((id) => !known.has(id)),
    ['basicInfo', 'metaData'],
  )) {
    for (const fileId of batch.missing) await dropSearchRetry(db, name, fileId);
    for (const media of batch.media) {
      if (Date.now() >= deps.deadline) {
        summary.outOfTime = true;
        return;
      }
      if (await attempt(deps, summary, name, media)) await dropSearchRetry(db, name, media.FileId!);
    }
  }
}
