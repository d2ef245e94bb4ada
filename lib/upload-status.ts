/**
 * GET /uploads/{uploadId}: the owner's view of one upload, plus a playback credential (Psign) for a
 * READY upload when PLAYBACK_KEY is set. Who else may get that credential is PLAYBACK_AUDIENCE's call:
 * `owner` (default) nobody; `any-user` any authenticated user; `public` anyone. A non-owner sees only
 * `{ uploadId, status, playback }` of a READY upload; every other case is the same 404 as a missing
 * upload, so upload ids cannot be probed.
 */
import type { Config } from '#lib/config';
import type { Queryable } from '#lib/db';
import { BadRequestError, NotFoundError } from '#lib/errors';
import { playbackCredential } from '#lib/player-signature';
import { isUploadId } from '#lib/upload-context';
import { getUpload } from '#lib/upload-store';
import { playbackUrlSigner, uploadView } from '#lib/upload-view';

/** The `{uploadId}` of the route, checked before the database is touched (400 when it is not one). */
export function uploadIdParam(value: string | undefined): string {
  const uploadId = value ?? '';
  if (!isUploadId(uploadId)) throw new BadRequestError('uploadId: must be an upload id returned by POST /upload-signature', 'uploadId');
  return uploadId;
}

export interface StatusQuery {
  /** `?preview=1`: URLs and Psign limited to HOTLINK_PREVIEW_SECONDS (Key hotlink `exper`). */
  preview: boolean;
}

/** The query of the route: only `preview` (`1`/`true`, `0`/`false`) means something; 400 for other values. */
export function statusQuery(query: Record<string, string>, config: Pick<Config, 'hotlink'>): StatusQuery {
  const raw = query.preview;
  if (raw === undefined || /^(0|false)$/i.test(raw)) return { preview: false };
  if (!/^(1|true)$/i.test(raw)) throw new BadRequestError('preview: must be 1 or 0', 'preview');
  if (!config.hotlink?.previewSeconds) {
    throw new BadRequestError('preview: this deployment offers no preview (it needs HOTLINK_KEY and HOTLINK_PREVIEW_SECONDS)', 'preview');
  }
  return { preview: true };
}

/** Whether a caller without a token may ask at all (PLAYBACK_AUDIENCE=public). */
export function anonymousAllowed(config: Pick<Config, 'playback'>): boolean {
  return config.playback?.audience === 'public';
}

export async function uploadStatus(deps: { config: Config; db: Queryable }, userId: string | undefined, uploadId: string, query: StatusQuery = { preview: false }) {
  const { config } = deps;
  const upload = await getUpload(deps.db, uploadId.toLowerCase());
  const notFound = () => new NotFoundError(`Upload ${uploadId} not found`);
  if (!upload) throw notFound();
  const owner = userId !== undefined && upload.userId === userId;
  const playable = upload.status === 'READY' && upload.fileId !== null && config.playback !== undefined;
  const playback = playable ? await playbackCredential(upload, { ...config, playback: config.playback! }, { preview: query.preview }) : undefined;

  if (!owner) {
    const audience = config.playback?.audience ?? 'owner';
    const mayView = audience === 'public' || (audience === 'any-user' && userId !== undefined);
    if (!mayView || !playback) throw notFound();
    // The playback part only: no file name, media facts, URLs, times or errors of someone else's upload.
    return { uploadId: upload.uploadId, status: upload.status, playback };
  }
  const hotlink = config.hotlink && { ...config.hotlink, previewSeconds: query.preview ? config.hotlink.previewSeconds : undefined };
  const view = uploadView(upload, playbackUrlSigner(hotlink, upload.media?.duration));
  return playback ? { ...view, playback } : view;
}
