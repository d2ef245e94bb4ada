/**
 * De-dupe records for VOD events (the idempotency model of AWS Powertools, kept in PostgreSQL): the
 * record is inserted in the same transaction as the event's effects, so either both exist or neither.
 * A second delivery finds the key and does nothing; one arriving at the same moment blocks on the key
 * until the first commits (then does nothing) or rolls back (then does the work itself).
 */
import type { Queryable } from '#lib/db';

export interface EventRecord {
  dedupeKey: string;
  eventType: string;
  uploadId?: string;
  fileId?: string;
  taskId?: string;
  outcome: string;
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
export async function recordOutcome(db: Queryable, dedupeKey: string, fields: { outcome: string; uploadId?: string }): Promise<void> {
  await db.query(`UPDATE vod_events SET outcome = $2, upload_id = COALESCE($3, upload_id) WHERE dedupe_key = $1`, [
    dedupeKey,
    fields.outcome,
    fields.uploadId ?? null,
  ]);
}
