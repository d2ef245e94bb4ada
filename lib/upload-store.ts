/**
 * The uploads table: one row per upload, from the signature that announced it to its final state.
 * Plain functions over a `Queryable`, so callers choose the transaction. This file reads and writes
 * one upload at a time; the cleanup's queries over batches of rows are in lib/upload-batches.ts.
 */
import type { Queryable } from '#lib/db';
import type { ReviewState, ReviewSuggestion } from '#contract';
import type { UploadStatus } from '#lib/upload-lifecycle';

// The JSON columns, as stored. Declared here rather than derived from the event model: rows outlive
// the code that wrote them, so a change to how events are summarised must not change how rows read.

/** `media`: what a viewer or an app needs of the uploaded file, not VOD's whole record. */
export interface UploadMedia {
  name?: string;
  /** Container, e.g. `mp4`. */
  type?: string;
  mediaUrl?: string;
  coverUrl?: string;
  /** Bytes. */
  size?: number;
  /** Seconds. */
  duration?: number;
  width?: number;
  height?: number;
  rotate?: number;
  bitrate?: number;
  videoCodec?: string;
  fps?: number;
  audioCodec?: string;
}

/** `result`: the progress while PROCESSING; what processing produced once it finished. */
export interface UploadResult {
  progress?: number;
  renditions?: Array<{
    url: string;
    definition: number;
    width?: number;
    height?: number;
    bitrate?: number;
    size?: number;
    duration?: number;
    container?: string;
  }>;
  adaptiveStreams?: Array<{ url: string; definition?: number; package?: string; size?: number; subStreams?: unknown[] }>;
  cover?: { url: string };
  snapshots?: Array<{ url: string; timeOffsetMs?: number; definition?: number }>;
  sampleSnapshots?: Array<{ imageUrls: string[]; definition?: number }>;
  sprite?: { imageUrls: string[]; webVttUrl?: string; width?: number; height?: number; totalCount?: number };
  animatedGraphics?: Array<{ url: string; definition?: number; container?: string; width?: number; height?: number }>;
}

/** `error`: why an upload was REJECTED or FAILED. */
export interface UploadError {
  /** `MediaRejected`, `ProcessingFailed`, `ProcessingNotStarted`, `TaskNotFound`. */
  code: string;
  message: string;
  /** ProcessingFailed: what failed, subtask by subtask. */
  failures?: Array<{ type: string; definition?: number; errCode: number; errCodeExt: string; message: string }>;
}

/** `review`: the content review (REVIEW_MODE, lib/review-gate.ts); null with REVIEW_MODE off. */
export interface UploadReview {
  state: ReviewState;
  /** The ReviewAudioVideo task, once VOD started one. */
  taskId?: string;
  /** VOD's verdict (docs/vod-protocol/review.md), when it gave one. */
  suggestion?: ReviewSuggestion;
  label?: string;
  form?: string;
  /** VOD's review task ended without a verdict: why (the upload is then held for a person). */
  failure?: string;
  /** A person's decision (POST /uploads/{uploadId}/review): who (the service token's user id), why, when. */
  decidedBy?: string;
  reason?: string;
  decidedAt?: string;
}

export interface Upload {
  uploadId: string;
  userId: string;
  status: UploadStatus;
  fileName: string | null;
  fileSize: number | null;
  fileType: string | null;
  coverType: string | null;
  fileId: string | null;
  taskId: string | null;
  procedure: string | null;
  media: UploadMedia | null;
  result: UploadResult | null;
  error: UploadError | null;
  review: UploadReview | null;
  /** When processing finished with something to play (REVIEW_MODE gate: the upload may still wait for its review). */
  processedAt: Date | null;
  /** BLOCKED: VOD was told to serve none of its URLs (ForbidMediaDistribution). */
  distributionForbidden: boolean;
  signatureExpiresAt: Date;
  createdAt: Date;
  updatedAt: Date;
  statusChangedAt: Date;
}

export interface UploadRow {
  upload_id: string;
  user_id: string;
  status: UploadStatus;
  file_name: string | null;
  file_size: string | number | null;
  file_type: string | null;
  cover_type: string | null;
  file_id: string | null;
  task_id: string | null;
  procedure: string | null;
  media: UploadMedia | null;
  result: UploadResult | null;
  error: UploadError | null;
  review: UploadReview | null;
  processed_at: Date | string | null;
  distribution_forbidden: boolean;
  signature_expires_at: Date | string;
  created_at: Date | string;
  updated_at: Date | string;
  status_changed_at: Date | string;
}

// pg returns bigint as a string, PGlite as a number: normalise here, once.
export function toUpload(row: UploadRow): Upload {
  return {
    uploadId: row.upload_id,
    userId: row.user_id,
    status: row.status,
    fileName: row.file_name,
    fileSize: row.file_size === null ? null : Number(row.file_size),
    fileType: row.file_type,
    coverType: row.cover_type,
    fileId: row.file_id,
    taskId: row.task_id,
    procedure: row.procedure,
    media: row.media,
    result: row.result,
    error: row.error,
    review: row.review ?? null,
    processedAt: row.processed_at == null ? null : new Date(row.processed_at),
    distributionForbidden: row.distribution_forbidden ?? false,
    signatureExpiresAt: new Date(row.signature_expires_at),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    statusChangedAt: new Date(row.status_changed_at),
  };
}

export interface NewUpload {
  uploadId: string;
  userId: string;
  fileName?: string;
  fileSize?: number;
  fileType?: string;
  coverType?: string;
  procedure?: string;
  signatureExpiresAt: Date;
}

/** How long an ISSUED upload stays open (see `issuedWindowClosedSql`). */
export interface IssuedWindow {
  maxAgeSeconds: number;
  graceSeconds: number;
}

/**
 * The one rule for an ISSUED upload: its window closes when its signature runs out or when it reaches the
 * maximum age, whichever comes first; `grace` later the cleanup expires it. Parameters: `$now`, max age, grace.
 */
export const issuedWindowClosedSql = (now: number, maxAge: number, grace: number) =>
  `LEAST(signature_expires_at, created_at + make_interval(secs => $${maxAge})) < $${now}::timestamptz - make_interval(secs => $${grace})`;

/**
 * The INSERT of a new ISSUED upload, `$1`–`$8` from `newUploadParams`; `source` ends the SELECT (a FROM or
 * WHERE of the caller's, lib/quota-store.ts) or is empty.
 */
export const insertIssuedSql = (source = '') =>
  `INSERT INTO uploads (upload_id, user_id, status, file_name, file_size, file_type, cover_type, procedure,
                        signature_expires_at)
   SELECT $1::uuid, $2::text, 'ISSUED', $3::text, $4::bigint, $5::text, $6::text, $7::text, $8::timestamptz
   ${source}`;

export function newUploadParams(upload: NewUpload): unknown[] {
  return [
    upload.uploadId,
    upload.userId,
    upload.fileName ?? null,
    upload.fileSize ?? null,
    upload.fileType ?? null,
    upload.coverType ?? null,
    upload.procedure ?? null,
    upload.signatureExpiresAt,
  ];
}

export async function insertIssuedUpload(db: Queryable, upload: NewUpload): Promise<Upload> {
  const { rows } = await db.query<UploadRow>(`${insertIssuedSql()} RETURNING *`, newUploadParams(upload));
  return toUpload(rows[0]!);
}

export async function getUpload(
  db: Queryable,
  uploadId: string,
  options: { forUpdate?: boolean } = {},
): Promise<Upload | undefined> {
  const { rows } = await db.query<UploadRow>(
    `SELECT * FROM uploads WHERE upload_id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [uploadId],
  );
  return rows[0] === undefined ? undefined : toUpload(rows[0]);
}

/** Re-signing never shortens the window an upload has to arrive in. */
export async function extendSignatureExpiry(db: Queryable, uploadId: string, expiresAt: Date): Promise<void> {
  await db.query(
    `UPDATE uploads SET signature_expires_at = GREATEST(signature_expires_at, $2), updated_at = now()
     WHERE upload_id = $1`,
    [uploadId, expiresAt],
  );
}

/** Finds the upload an event is about: by upload id (its context), else file id, else task id. */
export async function findUploadForEvent(
  db: Queryable,
  keys: { uploadId?: string; fileId?: string; taskId?: string },
): Promise<Upload | undefined> {
  if (keys.uploadId) {
    const byId = await getUpload(db, keys.uploadId, { forUpdate: true });
    if (byId) return byId;
  }
  for (const [column, value] of [
    ['file_id', keys.fileId],
    ['task_id', keys.taskId],
  ] as const) {
    if (!value) continue;
    const { rows } = await db.query<UploadRow>(
      `SELECT * FROM uploads WHERE ${column} = $1 ORDER BY created_at LIMIT 1 FOR UPDATE`,
      [value],
    );
    if (rows[0]) return toUpload(rows[0]);
  }
  return undefined;
}

export interface UploadPatch {
  status?: UploadStatus;
  fileId?: string;
  taskId?: string;
  media?: UploadMedia;
  result?: UploadResult;
  /** null: no error any more (a success after a failure). */
  error?: UploadError | null;
  review?: UploadReview;
  processedAt?: Date;
  distributionForbidden?: boolean;
  /** When the reconciler next looks at the review (start it, or ask VOD about it); null: no need. */
  reviewCheckAfter?: Date | null;
}

const PATCH_COLUMNS: Record<keyof UploadPatch, string> = {
  status: 'status',
  fileId: 'file_id',
  taskId: 'task_id',
  media: 'media',
  result: 'result',
  error: 'error',
  review: 'review',
  processedAt: 'processed_at',
  distributionForbidden: 'distribution_forbidden',
  reviewCheckAfter: 'review_check_after',
};
const JSON_COLUMNS = new Set(['media', 'result', 'error', 'review']);

/**
 * Why an upload's status changed, kept in its timeline (migration 8's trigger): what moved it (a VOD
 * event, a cleanup step, the user, an operator), with VOD's ids where there are some. Never shown whole
 * to the owner (`history` gives a short reason).
 */
export interface StatusCause {
  source: 'vod-event' | 'processing-start' | 'reconcile' | 'cleanup' | 'user' | 'operator' | 'reviewer';
  /** vod-event: its type (NewFileUpload, ProcedureStateChanged, FileDeleted); otherwise the step or action. */
  detail?: string;
  /** How a VOD event came: pushed, pulled, or rebuilt from VOD's answer by the reconciler. */
  via?: 'push' | 'pull' | 'reconcile';
  taskId?: string;
  fileId?: string;
  requestId?: string;
  /** reviewer: the service token's user id, and the reason given. */
  actor?: string;
  reason?: string;
}

/** One change an event or a step makes to an upload: the patch and, with a new status, why. */
export interface UploadWrite {
  patch: UploadPatch;
  cause?: StatusCause;
}

/**
 * Applies a patch; with `expectStatus`, only while the upload is still in that status (a compare-and-set
 * that loses quietly to a concurrent transition). Returns whether the row changed. A status change is
 * recorded in the timeline and the webhook outbox by the same statement, with `cause` (migration 8).
 */
export async function updateUpload(
  db: Queryable,
  uploadId: string,
  patch: UploadPatch,
  expectStatus?: UploadStatus,
  cause?: StatusCause,
): Promise<boolean> {
  const params: unknown[] = [uploadId];
  const sets = patchAssignments(patch, cause, params);
  let where = 'upload_id = $1';
  if (expectStatus !== undefined) {
    params.push(expectStatus);
    where += ` AND status = $${params.length}`;
  }
  const { rowCount } = await db.query(`UPDATE uploads SET ${sets} WHERE ${where}`, params);
  return rowCount > 0;
}

/**
 * The SET list of an UPDATE that applies `patch` (and `cause`, with a new status), its values appended to
 * `params`: for `updateUpload` and for statements that write a patch together with something else
 * (lib/event-store.ts `claimAndWrite`).
 */
export function patchAssignments(patch: UploadPatch, cause: StatusCause | undefined, params: unknown[]): string {
  const sets: string[] = ['updated_at = now()'];
  for (const [key, value] of Object.entries(patch) as [keyof UploadPatch, unknown][]) {
    if (value === undefined) continue;
    const column = PATCH_COLUMNS[key];
    params.push(JSON_COLUMNS.has(column) ? JSON.stringify(value) : value);
    sets.push(`${column} = $${params.length}${JSON_COLUMNS.has(column) ? '::jsonb' : ''}`);
  }
  // A new status starts the wait for the reconciler afresh.
  if (patch.status !== undefined) sets.push('status_changed_at = now()', 'check_after = NULL', 'checks = 0');
  if (patch.status !== undefined && cause !== undefined) {
    params.push(JSON.stringify(cause));
    sets.push(`status_cause = $${params.length}::jsonb`);
  }
  return sets.join(', ');
}

/**
 * Merges `changes` into a review that is still `pending` (a verdict that arrived first is kept) and sets
 * when the reconciler next looks at it (`checkAfterSeconds` from now; null: no need). Returns whether it did.
 */
export async function updatePendingReview(
  db: Queryable,
  uploadId: string,
  changes: Partial<UploadReview>,
  checkAfterSeconds: number | null,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE uploads SET review = review || $2::jsonb, updated_at = now(),
            review_check_after = now() + make_interval(secs => $3::double precision)
     WHERE upload_id = $1 AND review->>'state' = 'pending'`,
    [uploadId, JSON.stringify(changes), checkAfterSeconds],
  );
  return rowCount > 0;
}
