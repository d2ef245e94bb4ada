/**
 * Deletions: the media of uploads DELETE /uploads/{uploadId} marked DELETED while VOD could not be
 * reached (media_deletion_pending). DeleteMedia, then the mark is cleared; a failure leaves it for the
 * next run. Runs whatever CLEANUP_DELETE_ORPHANS says: the owner asked for this deletion.
 */
import { type PendingDeletion, pendingDeletions, setMediaDeletionPending } from '#lib/upload-listing';
import { type VodApi, vodErrorCode } from '#lib/vod-api';
import { isolated, type CleanupRun, type CleanupSummary } from './run.ts';

/** DeleteMedia; VOD not knowing the file is as good as deleted. Anything else is thrown. */
export async function deleteMediaInVod(vod: VodApi, fileId: string): Promise<void> {
  try {
    await vod.deleteMedia(fileId);
  } catch (error) {
    if (!vodErrorCode(error)?.startsWith('ResourceNotFound')) throw error;
  }
}

/** The step: an outage of VOD stops it (the next run goes on); one file VOD refuses is skipped (logged). */
export async function finishDeletions(deps: CleanupRun, summary: CleanupSummary): Promise<void> {
  const { batchSize, dryRun } = deps.config.cleanup;
  let after: PendingDeletion | undefined;
  while (true) {
    if (Date.now() >= deps.deadline) {
      summary.outOfTime = true;
      return;
    }
    const batch = await pendingDeletions(deps.db, after, batchSize);
    for (const pending of batch) {
      if (dryRun) {
        summary.wouldDelete.push(pending.fileId);
        continue;
      }
      await isolated(
        deps,
        summary,
        'pending media deletion',
        { uploadId: pending.uploadId, fileId: pending.fileId },
        async () => {
          await deleteMediaInVod(deps.vodApi, pending.fileId);
          await setMediaDeletionPending(deps.db, pending.uploadId, false);
          summary.mediaDeleted++;
        },
      );
    }
    if (batch.length < batchSize) return;
    after = batch[batch.length - 1];
  }
}
