/**
 * De-dupe records for VOD events (the idempotency model of AWS Powertools, kept in PostgreSQL): the
 * record is inserted atomically with the event's effects (in one statement, or in one transaction), so
 * either both exist or neither. A second delivery finds the key and does nothing; one arriving at the same
 * moment blocks on the key until the first commits (then does nothing) or rolls back (then does the work
 * itself). The cleanup
 * finds orphan files through these records and purges old ones. The lost-upload search keeps its
 * cursor here too: how far through VOD's media it has handled what it found.
 */
import type { ReviewState } from '#contract';
import type { Queryable } from '#lib/db';
import type { UploadStatus } from '#lib/upload-lifecycle';
import { patchAssignments, toUpload, type Upload, type UploadRow, type UploadWrite } from '#lib/upload-store';

/** Files nobody will claim: a second file for an upload that had one, or one that came after expiry. */
export type OrphanOutcome = 'extra-file' | 'late-upload';

/**
 * What an event did, recorded with its de-dupe key (and logged): the status it moved an upload to,
 * `progress:<percent>`, `DELETED:<uploads>`, or why it changed nothing. `pending` lasts only until the
 * claiming transaction records the real outcome; an orphan's becomes `…:deleted` once the cleanup
 * deleted its file. The content review's (lib/review-events.ts): `awaiting-review` (processed, the gate
 * waits for the verdict), `review:<state>` (a verdict recorded, the status unchanged), `review-pending`
 * (the task still runs), `other-review-task` (not the review task the upload recorded), `other-file` (a
 * review of a file that is not the upload's).
 */
export type EventOutcome =
  | 'pending'
  | Extract<UploadStatus, 'UPLOADED' | 'PROCESSING' | 'IN_REVIEW' | 'REJECTED' | 'READY' | 'FAILED' | 'BLOCKED'>
  | 'awaiting-review'
  | `review:${ReviewState}`
  | 'review-pending'
  | 'other-review-task'
  | 'other-file'
  | `progress:${number}`
  | `DELETED:${number}`
  | 'metadata'
  | 'stale'
  | 'not-ours'
  | 'unknown-upload'
  | 'no-upload-deleted'
  | 'ignored'
  | 'unknown-event-type'
  | OrphanOutcome
  | `${OrphanOutcome}:deleted`;

export interface EventRecord {
  dedupeKey: string;
  eventType: string;
  uploadId?: string;
  fileId?: string;
  taskId?: string;
  outcome: EventOutcome;
}

/** How an event names its upload: by upload id (its context), else file id, else task id. */
export interface UploadKeys {
  uploadId?: string;
  fileId?: string;
  taskId?: string;
}

/**
 * The upload an event names, as `findUploadForEvent` finds it: by upload id, else the oldest by file id, else
 * by task id. `$u`, `$f`, `$t`: the parameter numbers of the three keys.
 */
const eventUploadSql = (u: number, f: number, t: number, options: { when?: string; lock?: boolean } = {}) =>
  `SELECT uploads.*, uploads.xmin::text AS row_version FROM uploads
   WHERE ${options.when ? `${options.when} AND ` : ''}(upload_id = $${u}::uuid OR file_id = $${f}::text OR task_id = $${t}::text)
   ORDER BY upload_id = $${u}::uuid IS TRUE DESC, file_id = $${f}::text IS TRUE DESC, created_at
   LIMIT 1${options.lock ? ' FOR UPDATE' : ''}`;

const keyParams = (keys: UploadKeys) => [keys.uploadId ?? null, keys.fileId ?? null, keys.taskId ?? null];

/**
 * Claims an event for this transaction (`claimed` false: it was already handled) and, when it owns it,
 * finds and locks the upload it names, in one statement. The claim runs first (the lookup waits for it),
 * so a concurrent twin blocks on the key until the first commits, never on the row.
 */
export async function claimEventForUpload(
  db: Queryable,
  record: EventRecord,
  keys: UploadKeys,
): Promise<{ claimed: boolean; upload?: Upload }> {
  const { rows } = await db.query<UploadRow & { claimed: number }>(
    `WITH claim AS (
       INSERT INTO vod_events (dedupe_key, event_type, upload_id, file_id, task_id, outcome)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING dedupe_key),
     found AS (${eventUploadSql(7, 8, 9, { when: 'EXISTS (SELECT 1 FROM claim)', lock: true })})
     SELECT found.*, (SELECT count(*) FROM claim)::int AS claimed FROM (SELECT 1) AS one LEFT JOIN found ON true`,
    [...recordParams(record), ...keyParams(keys)],
  );
  const row = rows[0]!;
  if (Number(row.claimed) !== 1) return { claimed: false };
  return { claimed: true, upload: row.upload_id ? toUpload(row) : undefined };
}

function recordParams(record: EventRecord): unknown[] {
  return [
    record.dedupeKey,
    record.eventType,
    record.uploadId ?? null,
    record.fileId ?? null,
    record.taskId ?? null,
    record.outcome,
  ];
}

/** An event's upload as one read saw it, with its row version (PostgreSQL's `xmin`, new with every update). */
export interface SeenUpload {
  upload: Upload;
  version: string;
}

/**
 * Whether an event was handled already and, if not, the upload it names as it is now, unlocked: one
 * statement. What the event does is decided on this and written by `claimAndWrite` only if the upload is
 * still this version.
 */
export async function readEventUpload(
  db: Queryable,
  dedupeKey: string,
  keys: UploadKeys,
): Promise<{ handled: boolean; seen?: SeenUpload }> {
  const { rows } = await db.query<UploadRow & { row_version: string | null; handled: number }>(
    `SELECT found.*, (SELECT count(*) FROM vod_events WHERE dedupe_key = $1)::int AS handled
     FROM (SELECT 1) AS one LEFT JOIN LATERAL (${eventUploadSql(2, 3, 4)}) AS found ON true`,
    [dedupeKey, ...keyParams(keys)],
  );
  const row = rows[0]!;
  if (Number(row.handled) > 0) return { handled: true };
  return { handled: false, seen: row.upload_id ? { upload: toUpload(row), version: row.row_version! } : undefined };
}

/**
 * Claims an event with its outcome and writes its change to its upload, in one statement: only while the
 * upload is still the version `readEventUpload` saw (else `stale`: decide again on what it is now), and only
 * if the key was free (else `duplicate`). Either both the record and the change are written, or neither.
 */
export async function claimAndWrite(
  db: Queryable,
  record: EventRecord,
  seen: SeenUpload | undefined,
  write: UploadWrite | undefined,
): Promise<'claimed' | 'duplicate' | 'stale'> {
  const params = [...recordParams(record), seen?.upload.uploadId ?? null, seen?.version ?? null];
  const change = write
    ? `, changed AS (
       UPDATE uploads SET ${patchAssignments(write.patch, write.cause, params)}
       WHERE upload_id = $7::uuid AND EXISTS (SELECT 1 FROM claim) RETURNING 1)`
    : '';
  const { rows } = await db.query<{ current: number; claimed: number }>(
    `WITH current AS (
       SELECT upload_id FROM uploads WHERE upload_id = $7::uuid AND xmin = $8::xid FOR UPDATE),
     claim AS (
       INSERT INTO vod_events (dedupe_key, event_type, upload_id, file_id, task_id, outcome)
       SELECT $1::text, $2::text, $3::uuid, $4::text, $5::text, $6::text WHERE $7::uuid IS NULL OR EXISTS (SELECT 1 FROM current)
       ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING dedupe_key)${change}
     SELECT (SELECT count(*) FROM current)::int AS current, (SELECT count(*) FROM claim)::int AS claimed`,
    params,
  );
  const row = rows[0]!;
  if (Number(row.claimed) === 1) return 'claimed';
  return seen && Number(row.current) === 0 ? 'stale' : 'duplicate';
}

/** Records what was done, once it is known (same transaction as the claim). */
export async function recordOutcome(
  db: Queryable,
  dedupeKey: string,
  fields: { outcome: EventOutcome; uploadId?: string },
): Promise<void> {
  await db.query(`UPDATE vod_events SET outcome = $2, upload_id = COALESCE($3, upload_id) WHERE dedupe_key = $1`, [
    dedupeKey,
    fields.outcome,
    fields.uploadId ?? null,
  ]);
}

/** An orphan file whose media is still in VOD. */
export interface OrphanFile {
  dedupeKey: string;
  fileId: string;
  outcome: OrphanOutcome;
}

/** Orphan files not yet deleted, in key order after `afterKey` (keyset paging). */
export async function orphanFiles(db: Queryable, afterKey: string, limit: number): Promise<OrphanFile[]> {
  const { rows } = await db.query<{ dedupe_key: string; file_id: string; outcome: OrphanOutcome }>(
    `SELECT dedupe_key, file_id, outcome FROM vod_events
     WHERE outcome IN ('extra-file', 'late-upload') AND file_id IS NOT NULL AND dedupe_key > $1
     ORDER BY dedupe_key LIMIT $2`,
    [afterKey, limit],
  );
  return rows.map((row) => ({ dedupeKey: row.dedupe_key, fileId: row.file_id, outcome: row.outcome }));
}

/** Marks an orphan's media as deleted, so it is neither deleted again nor kept from the purge. */
export async function markOrphanDeleted(db: Queryable, orphan: OrphanFile): Promise<void> {
  await db.query(`UPDATE vod_events SET outcome = $2 WHERE dedupe_key = $1`, [orphan.dedupeKey, `${orphan.outcome}:deleted`]);
}

/** Deletes up to `limit` records older than `days` (undeleted orphans stay); returns how many. */
export async function purgeEvents(db: Queryable, days: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM vod_events WHERE dedupe_key IN (
       SELECT dedupe_key FROM vod_events
       WHERE received_at < now() - make_interval(days => $1) AND outcome NOT IN ('extra-file', 'late-upload')
       LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [days, limit],
  );
  return rowCount;
}

/**
 * Of these files, those already known: a NewFileUpload was handled for them, or an upload holds them.
 * The lost-upload search hands only the others to the NewFileUpload path.
 */
export async function knownFileIds(db: Queryable, fileIds: readonly string[]): Promise<Set<string>> {
  if (fileIds.length === 0) return new Set();
  const { rows } = await db.query<{ file_id: string }>(
    `SELECT file_id FROM vod_events WHERE file_id = ANY($1::text[]) AND event_type = 'NewFileUpload'
     UNION SELECT file_id FROM uploads WHERE file_id = ANY($1::text[])`,
    [fileIds],
  );
  return new Set(rows.map((row) => row.file_id));
}

/** How far a search through VOD's media has got: the latest CreateTime handled and the files at that instant. */
export interface SearchCursor {
  highWater: Date;
  fileIds: string[];
}

export async function readSearchCursor(db: Queryable, name: string): Promise<SearchCursor | undefined> {
  const { rows } = await db.query<{ high_water: Date | string; file_ids: string[] }>(
    'SELECT high_water, file_ids FROM search_cursors WHERE name = $1',
    [name],
  );
  return rows[0] ? { highWater: new Date(rows[0].high_water), fileIds: rows[0].file_ids } : undefined;
}

/** Stores the cursor; never moves it back (two runs at once both only move it forward). */
export async function saveSearchCursor(db: Queryable, name: string, cursor: SearchCursor): Promise<void> {
  await db.query(
    `INSERT INTO search_cursors (name, high_water, file_ids) VALUES ($1, $2::timestamptz, $3::text[])
     ON CONFLICT (name) DO UPDATE SET
       file_ids = CASE WHEN search_cursors.high_water = EXCLUDED.high_water
                       THEN ARRAY(SELECT DISTINCT unnest(search_cursors.file_ids || EXCLUDED.file_ids))
                       ELSE EXCLUDED.file_ids END,
       high_water = EXCLUDED.high_water, updated_at = now()
     WHERE search_cursors.high_water <= EXCLUDED.high_water`,
    [name, cursor.highWater.toISOString(), cursor.fileIds],
  );
}

/** A file the lost-upload search passed although handling it failed, and how many times it failed. */
export interface SearchRetry {
  fileId: string;
  attempts: number;
}

/** Counts one more failure for a file of a search; returns the count so far. */
export async function recordSearchFailure(db: Queryable, name: string, fileId: string): Promise<number> {
  const { rows } = await db.query<{ attempts: number }>(
    `INSERT INTO search_retries (name, file_id, attempts) VALUES ($1, $2, 1)
     ON CONFLICT (name, file_id) DO UPDATE SET attempts = search_retries.attempts + 1, updated_at = now()
     RETURNING attempts`,
    [name, fileId],
  );
  return Number(rows[0]!.attempts);
}

/** Up to `limit` files of a search to try again, the least tried first. */
export async function searchRetries(db: Queryable, name: string, limit: number): Promise<SearchRetry[]> {
  const { rows } = await db.query<{ file_id: string; attempts: number }>(
    'SELECT file_id, attempts FROM search_retries WHERE name = $1 ORDER BY attempts, updated_at LIMIT $2',
    [name, limit],
  );
  return rows.map((row) => ({ fileId: row.file_id, attempts: Number(row.attempts) }));
}

export async function dropSearchRetry(db: Queryable, name: string, fileId: string): Promise<void> {
  await db.query('DELETE FROM search_retries WHERE name = $1 AND file_id = $2', [name, fileId]);
}
