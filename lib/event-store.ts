/**
 * De-dupe records for VOD events (the idempotency model of AWS Powertools, kept in PostgreSQL): the
 * record is inserted in the same transaction as the event's effects, so either both exist or neither.
 * A second delivery finds the key and does nothing; one arriving at the same moment blocks on the key
 * until the first commits (then does nothing) or rolls back (then does the work itself). The cleanup
 * finds orphan files through these records and purges old ones.
 */
import type { Queryable } from '#lib/db';
import type { UploadStatus } from '#lib/upload-lifecycle';

/** Files nobody will claim: a second file for an upload that had one, or one that came after expiry. */
export type OrphanOutcome = 'extra-file' | 'late-upload';

/**
 * What an event did, recorded with its de-dupe key (and logged): the status it moved an upload to,
 * `progress:<percent>`, `DELETED:<uploads>`, or why it changed nothing. `pending` lasts only until the
 * claiming transaction records the real outcome; an orphan's becomes `…:deleted` once the cleanup
 * deleted its file.
 */
export type EventOutcome =
  | 'pending'
  | Extract<UploadStatus, 'UPLOADED' | 'PROCESSING' | 'REJECTED' | 'READY' | 'FAILED'>
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

/** True when this transaction owns the event; false when it was already handled. */
export async function claimEvent(db: Queryable, record: EventRecord): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO vod_events (dedupe_key, event_type, upload_id, file_id, task_id, outcome)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (dedupe_key) DO NOTHING
     RETURNING dedupe_key`,
    [record.dedupeKey, record.eventType, record.uploadId ?? null, record.fileId ?? null, record.taskId ?? null, record.outcome],
  );
  return rows.length === 1;
}

/** Records what was done, once it is known (same transaction as the claim). */
export async function recordOutcome(db: Queryable, dedupeKey: string, fields: { outcome: EventOutcome; uploadId?: string }): Promise<void> {
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
