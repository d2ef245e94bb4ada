/**
 * The webhook outbox and the upload timeline (migration 8): their rows are written by the trigger on
 * `uploads`; this module leases, marks, lists and purges them. Plain functions over a `Queryable`.
 */
import type { Queryable } from '#lib/db';
import { type StatusCause, toUpload, type Upload, type UploadRow } from '#lib/upload-store';

export type OutboxState = 'pending' | 'delivered' | 'undeliverable';

export interface OutboxRow {
  webhookId: string;
  uploadId: string;
  seq: number;
  eventType: string;
  userId: string;
  /** The uploads row as the status change left it. */
  snapshot: UploadRow;
  occurredAt: Date;
  state: OutboxState;
  attempts: number;
  nextAttemptAt: Date;
  deliveredAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
}

interface RawOutboxRow {
  webhook_id: string;
  upload_id: string;
  seq: number | string;
  event_type: string;
  user_id: string;
  snapshot: UploadRow | string;
  occurred_at: Date | string;
  state: OutboxState;
  attempts: number | string;
  next_attempt_at: Date | string;
  delivered_at: Date | string | null;
  last_status: number | null;
  last_error: string | null;
}

function toOutboxRow(row: RawOutboxRow): OutboxRow {
  return {
    webhookId: row.webhook_id,
    uploadId: String(row.upload_id),
    seq: Number(row.seq),
    eventType: row.event_type,
    userId: row.user_id,
    snapshot: typeof row.snapshot === 'string' ? (JSON.parse(row.snapshot) as UploadRow) : row.snapshot,
    occurredAt: new Date(row.occurred_at),
    state: row.state,
    attempts: Number(row.attempts),
    nextAttemptAt: new Date(row.next_attempt_at),
    deliveredAt: row.delivered_at === null ? null : new Date(row.delivered_at),
    lastStatus: row.last_status,
    lastError: row.last_error,
  };
}

/**
 * Leases up to `limit` due rows, each the first pending row of its upload (so an upload's webhooks go
 * in sequence order), skipping rows another sender holds. `uploadId`: that upload's only.
 */
export async function leaseDueWebhooks(
  db: Queryable,
  terms: { now: Date; leaseSeconds: number; limit: number; uploadId?: string },
): Promise<OutboxRow[]> {
  const params: unknown[] = [terms.now.toISOString(), terms.leaseSeconds, terms.limit];
  let only = '';
  if (terms.uploadId) {
    params.push(terms.uploadId);
    only = `AND o.upload_id = $${params.length}::uuid`;
  }
  const { rows } = await db.query<RawOutboxRow>(
    `UPDATE webhook_outbox SET lease_until = $1::timestamptz + make_interval(secs => $2)
     WHERE webhook_id IN (
       SELECT o.webhook_id FROM webhook_outbox o
       WHERE o.state = 'pending' AND o.next_attempt_at <= $1::timestamptz
         AND (o.lease_until IS NULL OR o.lease_until < $1::timestamptz) ${only}
         AND NOT EXISTS (SELECT 1 FROM webhook_outbox p
                         WHERE p.upload_id = o.upload_id AND p.state = 'pending' AND p.seq < o.seq)
       ORDER BY o.next_attempt_at, o.webhook_id
       LIMIT $3
       FOR UPDATE SKIP LOCKED)
       AND state = 'pending' AND (lease_until IS NULL OR lease_until < $1::timestamptz)
     RETURNING *`,
    params,
  );
  return rows.map(toOutboxRow).sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime());
}

export async function markDelivered(db: Queryable, webhookId: string, status: number, now: Date): Promise<void> {
  await db.query(
    `UPDATE webhook_outbox SET state = 'delivered', delivered_at = $3::timestamptz, attempts = attempts + 1,
       last_status = $2, last_error = NULL, lease_until = NULL
     WHERE webhook_id = $1`,
    [webhookId, status, now.toISOString()],
  );
}

/** A failed attempt: tried again at `retryAt`, or kept as undeliverable when `retryAt` is undefined. */
export async function markFailed(
  db: Queryable,
  webhookId: string,
  failure: { status?: number; error: string; retryAt?: Date },
): Promise<void> {
  await db.query(
    `UPDATE webhook_outbox SET attempts = attempts + 1, last_status = $2, last_error = $3, lease_until = NULL,
       state = CASE WHEN $4::timestamptz IS NULL THEN 'undeliverable' ELSE 'pending' END,
       next_attempt_at = COALESCE($4::timestamptz, next_attempt_at)
     WHERE webhook_id = $1`,
    [webhookId, failure.status ?? null, failure.error.slice(0, 500), failure.retryAt?.toISOString() ?? null],
  );
}

/** Feature off (no APP_WEBHOOK_URL): pending rows are dropped, so turning it on later sends no backlog. */
export async function dropPendingWebhooks(db: Queryable, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM webhook_outbox WHERE webhook_id IN (
       SELECT webhook_id FROM webhook_outbox WHERE state = 'pending' LIMIT $1 FOR UPDATE SKIP LOCKED)`,
    [limit],
  );
  return rowCount;
}

/** Drops finished (delivered or undeliverable) rows older than `days`. */
export async function purgeWebhooks(db: Queryable, days: number, limit: number, now: Date): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM webhook_outbox WHERE webhook_id IN (
       SELECT webhook_id FROM webhook_outbox
       WHERE state <> 'pending' AND occurred_at < $3::timestamptz - make_interval(days => $1)
       LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [days, limit, now.toISOString()],
  );
  return rowCount;
}

/** Delivered rows for a replay, oldest first. */
export async function deliveredWebhooks(
  db: Queryable,
  filter: { since: Date; uploadId?: string; eventType?: string; limit: number; after?: string },
): Promise<OutboxRow[]> {
  const { rows } = await db.query<RawOutboxRow>(
    `SELECT * FROM webhook_outbox
     WHERE state = 'delivered' AND occurred_at >= $1::timestamptz
       AND ($2::uuid IS NULL OR upload_id = $2::uuid) AND ($3::text IS NULL OR event_type = $3)
       AND ($4::text IS NULL OR (occurred_at, webhook_id) > ((SELECT occurred_at FROM webhook_outbox WHERE webhook_id = $4), $4))
     ORDER BY occurred_at, webhook_id LIMIT $5`,
    [filter.since.toISOString(), filter.uploadId ?? null, filter.eventType ?? null, filter.after ?? null, filter.limit],
  );
  return rows.map(toOutboxRow);
}

/** Every webhook of one upload, in sequence order (doctor). */
export async function uploadWebhooks(db: Queryable, uploadId: string): Promise<OutboxRow[]> {
  const { rows } = await db.query<RawOutboxRow>('SELECT * FROM webhook_outbox WHERE upload_id = $1 ORDER BY seq', [uploadId]);
  return rows.map(toOutboxRow);
}

export interface TimelineEntry {
  seq: number;
  at: Date;
  from: string | null;
  to: string;
  cause: StatusCause | null;
}

interface RawTimelineEntry {
  seq: number | string;
  at: Date | string;
  from_status: string | null;
  to_status: string;
  cause: StatusCause | string | null;
}

function toTimelineEntry(row: RawTimelineEntry): TimelineEntry {
  return {
    seq: Number(row.seq),
    at: new Date(row.at),
    from: row.from_status,
    to: row.to_status,
    cause: typeof row.cause === 'string' ? (JSON.parse(row.cause) as StatusCause) : row.cause,
  };
}

/** An upload's status changes, oldest first. */
export async function uploadTimeline(db: Queryable, uploadId: string): Promise<TimelineEntry[]> {
  const { rows } = await db.query<RawTimelineEntry>(
    'SELECT seq, at, from_status, to_status, cause FROM upload_timeline WHERE upload_id = $1 ORDER BY seq',
    [uploadId],
  );
  return rows.map(toTimelineEntry);
}

/** One upload and its timeline in one statement (GET /uploads/{uploadId} reads both on every call). */
export async function getUploadWithTimeline(
  db: Queryable,
  uploadId: string,
): Promise<{ upload: Upload; timeline: TimelineEntry[] } | undefined> {
  const { rows } = await db.query<UploadRow & { timeline: RawTimelineEntry[] | string }>(
    `SELECT u.*, COALESCE((SELECT json_agg(json_build_object('seq', t.seq, 'at', t.at, 'from_status', t.from_status,
                                                            'to_status', t.to_status, 'cause', t.cause) ORDER BY t.seq)
                            FROM upload_timeline t WHERE t.upload_id = u.upload_id), '[]'::json) AS timeline
     FROM uploads u WHERE u.upload_id = $1`,
    [uploadId],
  );
  const row = rows[0];
  if (row === undefined) return undefined;
  const { timeline, ...upload } = row;
  const entries = typeof timeline === 'string' ? (JSON.parse(timeline) as RawTimelineEntry[]) : timeline;
  return { upload: toUpload(upload), timeline: entries.map(toTimelineEntry) };
}
