/**
 * The true-up when a file arrives (NewFileUpload): its real size and duration replace the reservation
 * (the counters follow by themselves, lib/quota-store.ts). A file that needs more than its quotas have
 * room for is refused: the caller makes it REJECTED (`QuotaExceeded`), and the cleanup deletes its media
 * as for every rejection. A file under its reservation releases the difference.
 */
import type { Config } from '#lib/config';
import type { Queryable } from '#lib/db';
import { truesUp, trueUpRefusal } from '#lib/quota';
import { lockQuotaUse } from '#lib/quota-store';
import type { Upload, UploadMedia } from '#lib/upload-store';

/** Why the arriving file does not fit its user's quotas, or undefined when it does (or none is set). */
export async function quotaTrueUp(
  tx: Queryable,
  config: Config,
  upload: Upload,
  media: UploadMedia,
): Promise<string | undefined> {
  if (!truesUp(config)) return undefined;
  const use = await lockQuotaUse(tx, upload.userId, upload.createdAt);
  const refusal = trueUpRefusal(config, use, { reservedBytes: upload.fileSize ?? 0, size: media.size, duration: media.duration });
  if (!refusal) return undefined;
  return `The file needs ${refusal.needed} of the ${refusal.quota} quota (${refusal.limit}) counting what is already used`;
}
