/**
 * Step 3, orphans: delete media nobody will use (REJECTED, FAILED or BLOCKED past their retention, extra
 * or late files).
 */
import { markOrphanDeleted, orphanFiles } from '#lib/event-store';
import { UploadStatus } from '#lib/upload-lifecycle';
import { updateUpload } from '#lib/upload-store';
import { vodErrorCode } from '#lib/vod-api';
import { inBatches, isolated, type CleanupRun, type CleanupSummary } from './run.ts';

async function deleteMedia(deps: CleanupRun, summary: CleanupSummary, fileId: string): Promise<boolean> {
  if (deps.config.cleanup.dryRun) {
    summary.wouldDelete.push(fileId);
    return false;
  }
  try {
    await deps.vodApi.deleteMedia(fileId);
  } catch (error) {
    // Already gone is as good as deleted.
    if (!vodErrorCode(error)?.startsWith('ResourceNotFound')) {
      deps.log.warn('DeleteMedia failed; retried next run', { fileId, error });
      return false;
    }
  }
  summary.mediaDeleted++;
  return true;
}

/** Step 3. */
export async function deleteOrphans(deps: CleanupRun, summary: CleanupSummary): Promise<void> {
  const settings = deps.config.cleanup;
  await inBatches(
    deps,
    summary,
    {
      kind: 'orphaned-media',
      failedRetentionDays: settings.failedRetentionDays,
      blockedRetentionDays: settings.blockedRetentionDays,
    },
    async (upload) => {
      if (await deleteMedia(deps, summary, upload.fileId!)) {
        const blocked = upload.status === UploadStatus.BLOCKED;
        await updateUpload(deps.db, upload.uploadId, { status: UploadStatus.DELETED }, upload.status, {
          source: 'cleanup',
          detail: blocked ? 'blocked media deleted after BLOCKED_RETENTION_DAYS' : 'orphaned media deleted',
          fileId: upload.fileId ?? undefined,
        });
      }
    },
  );
  // Files that arrived for an upload that already had one, or after it expired: nobody will claim them.
  let after = '';
  while (Date.now() < deps.deadline) {
    const orphans = await orphanFiles(deps.db, after, settings.batchSize);
    for (const orphan of orphans) {
      await isolated(deps, summary, 'orphan file deletion', { fileId: orphan.fileId }, async () => {
        if (await deleteMedia(deps, summary, orphan.fileId)) await markOrphanDeleted(deps.db, orphan);
      });
    }
    if (orphans.length < settings.batchSize) return;
    after = orphans[orphans.length - 1]!.dedupeKey;
  }
}
