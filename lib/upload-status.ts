/**
 * GET /uploads/{uploadId}: the owner's view of one upload. Anyone else's upload is indistinguishable
 * from a missing one (404), so upload ids cannot be probed.
 */
import type { Config } from '#lib/config';
import type { Queryable } from '#lib/db';
import { BadRequestError, NotFoundError } from '#lib/errors';
import { isUploadId } from '#lib/upload-context';
import { getUpload } from '#lib/upload-store';
import { playbackUrlSigner, uploadView } from '#lib/upload-view';

/** The `{uploadId}` of the route, checked before the database is touched (400 when it is not one). */
export function uploadIdParam(value: string | undefined): string {
  const uploadId = value ?? '';
  if (!isUploadId(uploadId)) throw new BadRequestError('uploadId: must be an upload id returned by POST /upload-signature', 'uploadId');
  return uploadId;
}

export async function uploadStatus(deps: { config: Config; db: Queryable }, userId: string, uploadId: string) {
  const upload = await getUpload(deps.db, uploadId.toLowerCase());
  if (!upload || upload.userId !== userId) throw new NotFoundError(`Upload ${uploadId} not found`);
  return uploadView(upload, playbackUrlSigner(deps.config.hotlink, upload.media?.duration));
}
