/**
 * What the upload signature's `sourceContext` (and, with a procedure, `sessionContext`) carries so that
 * VOD events can be tied back to the upload: the upload id, and the user id when it fits. The signature
 * is signed, so the client cannot change it.
 */
import { MAX_SOURCE_CONTEXT_LENGTH } from '#lib/upload-signature-codec';

export interface UploadContext {
  uploadId: string;
  userId?: string;
}

/** Upload ids are UUIDs (any case). Spelled without the `i` flag so the OpenAPI `pattern` keeps its meaning. */
export const UPLOAD_ID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isUploadId(value: string): boolean {
  return UPLOAD_ID_PATTERN.test(value);
}

export function encodeUploadContext({ uploadId, userId }: UploadContext): string {
  const base = `uploadId=${uploadId}`;
  if (userId === undefined) return base;
  const full = `${base}&userId=${encodeURIComponent(userId)}`;
  // The upload id alone is enough to find the upload; the user id is a convenience when it fits.
  return full.length <= MAX_SOURCE_CONTEXT_LENGTH ? full : base;
}

/** Returns undefined for a context this backend did not write (media uploaded some other way). */
export function decodeUploadContext(context: string | null | undefined): UploadContext | undefined {
  if (!context) return undefined;
  const params = new URLSearchParams(context);
  const uploadId = params.get('uploadId');
  if (uploadId === null || !isUploadId(uploadId)) return undefined;
  const userId = params.get('userId');
  return userId === null ? { uploadId: uploadId.toLowerCase() } : { uploadId: uploadId.toLowerCase(), userId };
}
