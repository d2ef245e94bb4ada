/**
 * Lost-upload recovery (part of step 2): uploads still ISSUED although their file is in VOD, because
 * the NewFileUpload callback was lost.
 */
import { handleVodEvent } from '#lib/handle-vod-event';
import { decodeUploadContext } from '#lib/upload-context';
import { oldestIssuedUploads } from '#lib/upload-store';
import { newFileUploadFromMediaInfo } from '#lib/vod-event';
import type { CleanupRun, CleanupSummary } from './run.ts';

/** SearchMedia pages through at most this many results (VOD's Offset + Limit limit). */
const SEARCH_WINDOW = 5000;
const SEARCH_PAGE = 50;

/**
 * Uploads still ISSUED although their file is in VOD: the NewFileUpload callback was lost (VOD retries
 * a PUSH at most twice). Media created since the oldest such upload are listed with SearchMedia and
 * matched on their sourceContext; each match goes through the NewFileUpload path (de-dupe included).
 */
export async function recoverMissedUploads(deps: CleanupRun, summary: CleanupSummary): Promise<void> {
  const { config, db, vodApi, log } = deps;
  const rows = await oldestIssuedUploads(db, config.cleanup.uploadedRetryAfterSeconds, SEARCH_WINDOW);
  if (rows.length === 0) return;
  const waiting = new Set(rows.map((row) => row.uploadId));
  // A minute of slack for clock differences between the database and VOD.
  const after = new Date(rows[0]!.createdAt.getTime() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  for (let offset = 0; offset < SEARCH_WINDOW && waiting.size > 0 && Date.now() < deps.deadline; offset += SEARCH_PAGE) {
    const page = await vodApi.videosCreatedAfter(after, offset, SEARCH_PAGE);
    const found = page.filter((media) => {
      const context = decodeUploadContext(media.BasicInfo?.SourceInfo?.SourceContext);
      return context !== undefined && waiting.has(context.uploadId);
    });
    // The search left out the metadata that validation needs: ask for it (20 files at a time).
    for await (const batch of vodApi.mediaInfos(found.map((m) => m.FileId!), ['basicInfo', 'metaData'])) {
      for (const media of batch.media) {
        // With a procedure in the signature VOD started processing itself: keep that task, start no other.
        const procedureTaskId = config.upload.procedure ? await vodApi.firstTaskOf(media.FileId!) : undefined;
        const event = newFileUploadFromMediaInfo(media, { procedureTaskId });
        const handled = await handleVodEvent(deps, event, { confirmWithVod: false });
        if (!handled.duplicate) summary.uploadsRecovered++;
        if (handled.uploadId) waiting.delete(handled.uploadId);
        log.info('recovered an upload whose NewFileUpload was lost', { fileId: media.FileId, uploadId: handled.uploadId, outcome: handled.outcome });
      }
    }
    if (page.length < SEARCH_PAGE) return;
  }
}
