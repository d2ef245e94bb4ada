/**
 * The cleanup's queries over the uploads table: leases on batches of rows, processing checks, expiry,
 * and slimming deleted uploads. They take the run's clock (`now`) rather than the database's, so a test
 * can move time.
 */
import type { Queryable } from '#lib/db';
import type { UploadStatus } from '#lib/upload-lifecycle';
import { type IssuedWindow, issuedWindowClosedSql, type UploadReview, type UploadRow } from '#lib/upload-store';

/** How long a PROCESSING upload waits before VOD is asked (see `ProcessingCheck` in lib/config.ts). */
export interface ProcessingWait {
  minSeconds: number;
  secondsPerMediaSecond: number;
  maxSeconds: number;
}

/**
 * The uploads a cleanup step works on:
 * - `unprocessed`: UPLOADED for longer than `seconds` (the webhook's ProcessMedia failed or never ran);
 * - `overdue`: PROCESSING past the wait for its own media (its callbacks were lost), or past the next
 *   check set after VOD last said it was still running; not once processing finished (`processed_at`:
 *   in REVIEW_MODE gate such an upload waits in PROCESSING for its review, VOD has nothing more to say);
 * - `orphaned-media`: media nobody will use (REJECTED, FAILED for longer than `failedRetentionDays`, or
 *   BLOCKED for longer than `blockedRetentionDays`);
 * - `review-due`: a pending content review whose `review_check_after` has come (start it, or ask VOD);
 * - `blocked-unforbidden`: BLOCKED, and VOD not yet told to forbid the media's distribution.
 */
export type LeaseSelection =
  | { kind: 'unprocessed'; seconds: number }
  | { kind: 'overdue'; wait: ProcessingWait }
  | { kind: 'orphaned-media'; failedRetentionDays: number; blockedRetentionDays: number }
  | { kind: 'review-due' }
  | { kind: 'blocked-unforbidden' };

/** The first wait, in seconds: twice the job estimate for the media's duration, bounded. `$n` = min, per second, max. */
const firstWaitSql = (n: number) =>
  `LEAST($${n + 2}::float8, GREATEST($${n}::float8, 2 * $${n + 1}::float8 * COALESCE((media->>'duration')::float8, 0)))`;

/**
 * `$1` is the run's clock; the selection's parameters follow. The order is that of the index the
 * selection scans: (status_changed_at, upload_id), or (review_check_after, upload_id) for reviews.
 */
function leaseFilter(selection: LeaseSelection): [where: string, params: unknown[], order?: string] {
  switch (selection.kind) {
    case 'unprocessed':
      return [`status = 'UPLOADED' AND status_changed_at < $1::timestamptz - make_interval(secs => $2)`, [selection.seconds]];
    case 'overdue': {
      const { minSeconds, secondsPerMediaSecond, maxSeconds } = selection.wait;
      return [
        `status = 'PROCESSING' AND processed_at IS NULL AND COALESCE(check_after, status_changed_at + make_interval(secs => ${firstWaitSql(2)})) < $1::timestamptz`,
        [minSeconds, secondsPerMediaSecond, maxSeconds],
      ];
    }
    case 'orphaned-media':
      return [
        `file_id IS NOT NULL AND (status = 'REJECTED'
           OR (status = 'FAILED' AND status_changed_at < $1::timestamptz - make_interval(days => $2))
           OR (status = 'BLOCKED' AND status_changed_at < $1::timestamptz - make_interval(days => $3)))`,
        [selection.failedRetentionDays, selection.blockedRetentionDays],
      ];
    case 'review-due':
      return [
        `review_check_after IS NOT NULL AND review_check_after < $1::timestamptz AND review->>'state' = 'pending'`,
        [],
        'review_check_after, upload_id',
      ];
    case 'blocked-unforbidden':
      return [`status = 'BLOCKED' AND NOT distribution_forbidden`, []];
  }
}

/** The columns a cleanup step needs of a leased upload. */
export interface LeasedUpload {
  uploadId: string;
  status: UploadStatus;
  fileId: string | null;
  taskId: string | null;
  /** The content review (its own task id is `review.taskId`); null with REVIEW_MODE off. */
  review: UploadReview | null;
  processedAt: Date | null;
}

/** A run's view of time: its clock, and how long its leases last (past the run's own end). */
export interface LeaseTerms {
  now: Date;
  seconds: number;
}

/**
 * Leases up to `limit` uploads of a selection (skipping rows another run holds) and returns them. A
 * lease left behind by a run that lost its database expires by itself. Keyset order on
 * (status_changed_at, upload_id) keeps each batch an index range scan.
 */
export async function leaseUploads(
  db: Queryable,
  selection: LeaseSelection,
  limit: number,
  terms: LeaseTerms,
): Promise<LeasedUpload[]> {
  const [where, params, order = 'status_changed_at, upload_id'] = leaseFilter(selection);
  const all = [terms.now.toISOString(), ...params];
  all.push(terms.seconds);
  const { rows } = await db.query<Pick<UploadRow, 'upload_id' | 'status' | 'file_id' | 'task_id' | 'review' | 'processed_at'>>(
    `UPDATE uploads SET lease_until = $1::timestamptz + make_interval(secs => $${all.length})
     WHERE upload_id IN (
       SELECT upload_id FROM uploads
       WHERE ${where} AND (lease_until IS NULL OR lease_until < $1::timestamptz)
       ORDER BY ${order}
       LIMIT ${limit}
       FOR UPDATE SKIP LOCKED)
     RETURNING upload_id, status, file_id, task_id, review, processed_at`,
    all,
  );
  return rows.map((row) => ({
    uploadId: String(row.upload_id),
    status: row.status,
    fileId: row.file_id ?? null,
    taskId: row.task_id ?? null,
    review: row.review ?? null,
    processedAt: row.processed_at == null ? null : new Date(row.processed_at),
  }));
}

export async function releaseLeases(db: Queryable, uploadIds: readonly string[]): Promise<void> {
  await db.query('UPDATE uploads SET lease_until = NULL WHERE upload_id = ANY($1::uuid[])', [uploadIds]);
}

/**
 * VOD had no outcome for a PROCESSING upload (or could not be asked): the next check waits twice as
 * long as the one before (the first wait doubled per check so far), at most `wait.maxSeconds`.
 */
export async function deferProcessingCheck(db: Queryable, uploadId: string, now: Date, wait: ProcessingWait): Promise<void> {
  await db.query(
    `UPDATE uploads SET checks = checks + 1,
       check_after = $2::timestamptz + make_interval(secs => LEAST($5::float8, ${firstWaitSql(3)} * power(2, checks + 1)))
     WHERE upload_id = $1 AND status = 'PROCESSING'`,
    [uploadId, now.toISOString(), wait.minSeconds, wait.secondsPerMediaSecond, wait.maxSeconds],
  );
}

/** When the oldest upload still ISSUED was created (where the lost-upload search starts the first time). */
export async function oldestIssuedCreatedAt(db: Queryable): Promise<Date | undefined> {
  const { rows } = await db.query<{ created_at: Date | string | null }>(
    `SELECT min(created_at) AS created_at FROM uploads WHERE status = 'ISSUED'`,
  );
  return rows[0]?.created_at ? new Date(rows[0].created_at) : undefined;
}

/** Expires up to `limit` ISSUED uploads whose window closed more than its grace ago; returns how many. */
export async function expireIssuedUploads(db: Queryable, window: IssuedWindow, limit: number, now: Date): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE uploads SET status = 'EXPIRED', status_changed_at = now(), updated_at = now(),
       status_cause = '{"source":"cleanup","detail":"expire"}'::jsonb
     WHERE upload_id IN (
       SELECT upload_id FROM uploads
       WHERE status = 'ISSUED' AND ${issuedWindowClosedSql(1, 2, 3)}
       ORDER BY status_changed_at, upload_id LIMIT $4 FOR UPDATE SKIP LOCKED)`,
    [now.toISOString(), window.maxAgeSeconds, window.graceSeconds, limit],
  );
  return rowCount;
}

/** Drops the media and result of up to `limit` uploads DELETED more than `days` ago; returns how many. */
export async function slimDeletedUploads(db: Queryable, days: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE uploads SET media = NULL, result = NULL, updated_at = now() WHERE upload_id IN (
       SELECT upload_id FROM uploads
       WHERE status = 'DELETED' AND (media IS NOT NULL OR result IS NOT NULL)
         AND status_changed_at < now() - make_interval(days => $1)
       LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [days, limit],
  );
  return rowCount;
}

/**
 * A pending review VOD had no verdict for (still running, or VOD could not be asked): look again after a
 * wait as long as the upload's age, so each wait doubles the one before; at least `minSeconds`, at
 * most `maxSeconds` (PROCESSING_DEADLINE_SECONDS). Only while the review is still pending.
 */
export async function deferReviewCheck(
  db: Queryable,
  uploadId: string,
  now: Date,
  wait: { minSeconds: number; maxSeconds: number },
): Promise<void> {
  await db.query(
    `UPDATE uploads SET review_check_after = $2::timestamptz + make_interval(secs =>
       LEAST($4::float8, GREATEST($3::float8, extract(epoch FROM $2::timestamptz - created_at)::float8)))
     WHERE upload_id = $1 AND review_check_after IS NOT NULL AND review->>'state' = 'pending'`,
    [uploadId, now.toISOString(), wait.minSeconds, wait.maxSeconds],
  );
}
