/**
 * API 3.0 ForbidMediaDistribution (docs/vod-protocol/media-api.md §5.10): `forbid` makes every media URL of
 * the files answer 403 at the CDN (`forbiddenMediaOf`, checked by the `/media/...` route) until `recover`.
 * VOD needs 5–10 minutes to apply it across its network; the emulator applies it at once.
 */
import path from 'node:path';
import type { EmulatorContext } from '../context.ts';
import type { MediaRecord } from '../state.ts';
import type { ActionHandler } from './endpoint.ts';
import { ApiError } from './error.ts';
import { requireString } from './params.ts';

const OPERATIONS = ['forbid', 'recover'];

export const forbidMediaDistribution: ActionHandler = ({ ctx, appId }, params) => {
  const ids = params.FileIds;
  if (ids === undefined || ids === null || (Array.isArray(ids) && ids.length === 0))
    throw new ApiError('MissingParameter', 'The parameter FileIds is required.');
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || id === ''))
    throw new ApiError('InvalidParameterValue.FileIds', 'FileIds must be a list of file ids.');
  if (ids.length > 20) throw new ApiError('InvalidParameterValue.FileIds', 'FileIds may hold at most 20 ids.');
  const operation = requireString(params, 'Operation');
  if (!OPERATIONS.includes(operation))
    throw new ApiError('InvalidParameterValue', `Operation must be one of ${OPERATIONS.join(', ')}, not ${operation}.`);
  const NotExistFileIdSet: string[] = [];
  ctx.store.update((doc) => {
    for (const id of ids as string[]) {
      const media = doc.media[id];
      if (!media || media.appId !== appId) {
        if (!NotExistFileIdSet.includes(id)) NotExistFileIdSet.push(id);
      } else if (operation === 'forbid') {
        media.forbidden = true;
      } else {
        delete media.forbidden;
      }
    }
  });
  return { NotExistFileIdSet };
};

/** `BasicInfo.Status` as DescribeMediaInfos and SearchMedia show it. */
export const mediaStatus = (media: MediaRecord): 'Normal' | 'Forbidden' => (media.forbidden ? 'Forbidden' : 'Normal');

/**
 * The forbidden media an object (bucket + key) belongs to: one of its recorded files (original, cover,
 * processing outputs), or any file in its folder (every file of a media is put there, later outputs too).
 */
export function forbiddenMediaOf(ctx: EmulatorContext, bucket: string, key: string): MediaRecord | undefined {
  for (const media of Object.values(ctx.store.doc.media)) {
    if (!media.forbidden || media.bucket !== bucket) continue;
    if (key === media.videoKey || key === media.coverKey) return media;
    if ((media.derived ?? []).some((entry) => entry.keys.includes(key))) return media;
    const storagePath = String(media.basicInfo.StoragePath ?? '').replace(/^\/+/, '');
    if (storagePath && key.startsWith(`${path.posix.dirname(storagePath)}/`)) return media;
  }
  return undefined;
}
