/**
 * A BLOCKED upload's media must stop playing everywhere, URLs already handed out included: VOD is told to
 * forbid its distribution (ForbidMediaDistribution: every URL of the media answers 403,
 * docs/vod-protocol/media-api.md). Called after the commit that blocked it; what fails here the cleanup
 * repeats (BLOCKED uploads with `distribution_forbidden` still false).
 */
import type { Config } from '#lib/config';
import type { Database } from '#lib/db';
import type { Logger } from '#lib/log';
import { UploadStatus } from '#lib/upload-lifecycle';
import { updateUpload } from '#lib/upload-store';
import { vodApi, vodErrorCode, type VodCalls } from '#lib/vod-api';

export interface BlockedMediaDeps {
  config: Config;
  db: Database;
  vod: VodCalls;
  log: Logger;
  /** Epoch ms by which the caller must answer; VOD retries stop before it. */
  deadline?: number;
}

/** Forbids the media's distribution and records it. Never throws; resolves to whether it is done. */
export async function forbidBlockedMedia(
  deps: BlockedMediaDeps,
  upload: { uploadId: string; fileId: string | null },
): Promise<boolean> {
  const { log } = deps;
  try {
    // No file (blocked before one arrived) or a file VOD no longer has: nothing can play.
    if (upload.fileId) {
      const api = vodApi(deps.vod, { subAppId: deps.config.vod.subAppId, deadline: deps.deadline });
      const { missing } = await api.forbidMediaDistribution(upload.fileId, 'forbid');
      if (missing) log.info('blocked media already gone from VOD', { uploadId: upload.uploadId, fileId: upload.fileId });
    }
    await updateUpload(deps.db, upload.uploadId, { distributionForbidden: true }, UploadStatus.BLOCKED);
    log.info('blocked media forbidden', { uploadId: upload.uploadId, fileId: upload.fileId });
    return true;
  } catch (error) {
    log.warn('could not forbid blocked media; left for the cleanup', {
      uploadId: upload.uploadId,
      fileId: upload.fileId,
      code: vodErrorCode(error),
      error,
    });
    return false;
  }
}
