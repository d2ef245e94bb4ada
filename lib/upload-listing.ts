/**
 * The uploads table as the library sees it (GET /uploads, DELETE /uploads/{uploadId}): keyset pages of a
 * user's uploads, or of everyone's for a service token, newest first; and the "media deletion pending"
 * mark of an upload deleted while VOD could not be reached, which the cleanup's deletions step clears.
 */
import type { ReviewState } from '#contract';
import type { Queryable } from '#lib/db';
import type { UploadStatus } from '#lib/upload-lifecycle';
import { toUpload, type Upload, type UploadRow } from '#lib/upload-store';

/**
 * Where a page ends: the last row's `created_at` as the database holds it (microseconds, UTC, text:
 * a JS Date would drop the microseconds and skip or repeat rows) and its upload id.
 */
export interface ListingKey {
  createdAt: string;
  uploadId: string;
}

export interface LibraryUpload {
  upload: Upload;
  key: ListingKey;
  /** DELETED, but VOD still holds the media (DELETE could not reach it). */
  mediaDeletionPending: boolean;
}

export interface ListingFilter {
  /** Absent: every user's uploads (a service token). */
  userId?: string;
  status?: UploadStatus;
  /** Only uploads whose content review is in this state (the review queue: `held`). */
  review?: ReviewState;
  /** The previous page's last key: rows strictly after it. */
  after?: ListingKey;
  limit: number;
}

type LibraryRow = UploadRow & { listing_created_at: string; media_deletion_pending: boolean };

const LIBRARY_COLUMNS = `*, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS listing_created_at`;

function toLibraryUpload(row: LibraryRow): LibraryUpload {
  return {
    upload: toUpload(row),
    key: { createdAt: row.listing_created_at, uploadId: String(row.upload_id) },
    mediaDeletionPending: row.media_deletion_pending === true,
  };
}

/**
 * One page, newest first: `(created_at, upload_id)` descending, a range scan of uploads_user_listing_idx
 * (or uploads_listing_idx for everyone's), so the cost does not grow with the table. The SQL names only
 * the conditions in use, so the planner sees the index's own prefix.
 */
export async function listUploads(db: Queryable, filter: ListingFilter): Promise<LibraryUpload[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.userId !== undefined) {
    params.push(filter.userId);
    where.push(`user_id = $${params.length}`);
  }
  if (filter.status !== undefined) {
    params.push(filter.status);
    where.push(`status = $${params.length}`);
  }
  if (filter.review !== undefined) {
    params.push(filter.review);
    where.push(`review->>'state' = $${params.length}`);
  }
  if (filter.after !== undefined) {
    params.push(filter.after.createdAt, filter.after.uploadId);
    where.push(`(created_at, upload_id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(filter.limit);
  const { rows } = await db.query<LibraryRow>(
    `SELECT ${LIBRARY_COLUMNS} FROM uploads
     ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at DESC, upload_id DESC
     LIMIT $${params.length}`,
    params,
  );
  return rows.map(toLibraryUpload);
}

export async function getLibraryUpload(
  db: Queryable,
  uploadId: string,
  options: { forUpdate?: boolean } = {},
): Promise<LibraryUpload | undefined> {
  const { rows } = await db.query<LibraryRow>(
    `SELECT ${LIBRARY_COLUMNS} FROM uploads WHERE upload_id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [uploadId],
  );
  return rows[0] === undefined ? undefined : toLibraryUpload(rows[0]);
}

/** Sets or clears the mark of a DELETED upload whose media VOD may still hold. */
export async function setMediaDeletionPending(db: Queryable, uploadId: string, pending: boolean): Promise<void> {
  await db.query(`UPDATE uploads SET media_deletion_pending = $2, updated_at = now() WHERE upload_id = $1`, [uploadId, pending]);
}

export interface PendingDeletion {
  uploadId: string;
  fileId: string;
  statusChangedAt: string;
}

/** Up to `limit` pending deletions after `after` (keyset over uploads_media_deletion_idx), oldest first. */
export async function pendingDeletions(
  db: Queryable,
  after: PendingDeletion | undefined,
  limit: number,
): Promise<PendingDeletion[]> {
  const { rows } = await db.query<{ upload_id: string; file_id: string; changed: string }>(
    `SELECT upload_id, file_id, to_char(status_changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS changed
     FROM uploads
     WHERE media_deletion_pending AND file_id IS NOT NULL
       ${after ? 'AND (status_changed_at, upload_id) > ($2::timestamptz, $3::uuid)' : ''}
     ORDER BY status_changed_at, upload_id
     LIMIT $1`,
    after ? [limit, after.statusChangedAt, after.uploadId] : [limit],
  );
  return rows.map((row) => ({ uploadId: String(row.upload_id), fileId: row.file_id, statusChangedAt: row.changed }));
}
