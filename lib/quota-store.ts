/**
 * The quota counters (migration 7) and the statements that issue a signature against them. The counters
 * are kept by a trigger on `uploads` from each row's charge (`upload_charged_bytes` and friends), so
 * every code path that changes an upload keeps them exact; this file reads them, and decides a new
 * signature in ONE statement: the user's counter rows are locked and read at their latest version by
 * upserts (ON CONFLICT DO UPDATE locks the newest row version and RETURNING gives it, which a plain
 * read under the statement's snapshot would not), then the rate-limit window is counted only when every
 * quota allows, then the upload row is written; its trigger charges the counters. A refusal writes no
 * value (the touched rows keep theirs).
 */
import type { Queryable } from '#lib/db';
import { insertIssuedSql, issuedWindowClosedSql, type IssuedWindow, type NewUpload, newUploadParams } from '#lib/upload-store';

export type QuotaName = 'uploadsPerDay' | 'bytesPerDay' | 'storedBytes' | 'storedSeconds' | 'concurrentUploads';

/** The limits one signature is decided against; `undefined`: none. */
export interface SignatureLimits {
  concurrentUploads?: number;
  storedBytes?: number;
  storedSeconds?: number;
  uploadsPerDay?: number;
  bytesPerDay?: number;
  rate: { subject: string; windowStart: Date; limit: number };
}

/** A user's counters, as the quotas see them. `day`: the UTC day the daily ones are for (YYYY-MM-DD). */
export interface QuotaUse {
  concurrentUploads: number;
  storedBytes: number;
  storedSeconds: number;
  uploadsPerDay: number;
  bytesPerDay: number;
  day: string;
}

export type NewUploadDecision =
  | { outcome: 'issued' }
  | { outcome: 'rate-limited' }
  | { outcome: 'refused'; quota: QuotaName; use: QuotaUse };

interface UseRow {
  concurrent_uploads: number | string;
  stored_bytes: number | string;
  stored_seconds: number | string;
  uploads: number | string;
  bytes: number | string;
  day: string;
  closed: number | string;
}

// pg returns bigint and numeric as strings, PGlite as numbers: normalise here, once.
function toUse(row: UseRow): QuotaUse {
  return {
    concurrentUploads: Number(row.concurrent_uploads) - Number(row.closed),
    storedBytes: Number(row.stored_bytes),
    storedSeconds: Number(row.stored_seconds),
    uploadsPerDay: Number(row.uploads),
    bytesPerDay: Number(row.bytes),
    day: String(row.day),
  };
}

/**
 * Records a new ISSUED upload if the rate limit and every quota allow it, in one statement (one round
 * trip). ISSUED uploads whose window closed (the cleanup will expire them) do not count as concurrent:
 * they are locked (FOR UPDATE re-checks each at its latest version) and subtracted. The rate limit is
 * reported first when both refuse, as before quotas existed. With no quota and no cap set, the statement is
 * the rate limit and the row alone.
 */
export async function insertIssuedUploadWithinQuotas(
  db: Queryable,
  upload: NewUpload,
  limits: SignatureLimits,
  window: IssuedWindow & { now: Date },
): Promise<NewUploadDecision> {
  const { concurrentUploads, storedBytes, storedSeconds, uploadsPerDay, bytesPerDay } = limits;
  if ([concurrentUploads, storedBytes, storedSeconds, uploadsPerDay, bytesPerDay].every((limit) => limit === undefined)) {
    return insertIssuedUploadWithinRate(db, upload, limits.rate);
  }
  const { rows } = await db.query<UseRow & { refused: QuotaName | null; rate_count: number | null; inserted: number }>(
    `WITH closed AS (
       SELECT upload_id FROM uploads
       WHERE $15::int IS NOT NULL AND user_id = $2 AND status = 'ISSUED' AND ${issuedWindowClosedSql(9, 10, 11)}
       FOR UPDATE
     ), closed_count AS (
       SELECT count(*)::int AS n FROM closed
     ), held AS (
       INSERT INTO user_quotas AS q (user_id) SELECT $2::text FROM closed_count
       ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
       RETURNING q.concurrent_uploads, q.stored_bytes, q.stored_seconds
     ), today AS (
       INSERT INTO user_daily_quotas AS d (user_id, day) SELECT $2::text, upload_quota_day(now()) FROM held
       ON CONFLICT (user_id, day) DO UPDATE SET day = EXCLUDED.day
       RETURNING d.day, d.uploads, d.bytes
     ), decision AS (
       SELECT held.*, today.uploads, today.bytes, today.day::text AS day, closed_count.n AS closed,
         CASE
           WHEN $15::int IS NOT NULL AND held.concurrent_uploads - closed_count.n + 1 > $15 THEN 'concurrentUploads'
           WHEN $16::bigint IS NOT NULL AND held.stored_bytes + COALESCE($4::bigint, 0) > $16 THEN 'storedBytes'
           WHEN $17::numeric IS NOT NULL AND held.stored_seconds >= $17 THEN 'storedSeconds'
           WHEN $18::int IS NOT NULL AND today.uploads + 1 > $18 THEN 'uploadsPerDay'
           WHEN $19::bigint IS NOT NULL AND today.bytes + COALESCE($4::bigint, 0) > $19 THEN 'bytesPerDay'
         END AS refused
       FROM held, today, closed_count
     ), rate AS (
       INSERT INTO rate_limits AS r (subject, window_start, count)
       SELECT $12::text, $13::timestamptz, CASE WHEN refused IS NULL THEN 1 ELSE 0 END FROM decision
       ON CONFLICT (subject, window_start) DO UPDATE SET count = r.count + EXCLUDED.count WHERE r.count < $14
       RETURNING r.count
     ), inserted AS (
       ${insertIssuedSql('FROM rate, decision WHERE decision.refused IS NULL')}
       RETURNING upload_id
     )
     SELECT decision.*, (SELECT count FROM rate) AS rate_count, (SELECT count(*) FROM inserted)::int AS inserted
     FROM decision`,
    [
      ...newUploadParams(upload),
      window.now.toISOString(),
      window.maxAgeSeconds,
      window.graceSeconds,
      limits.rate.subject,
      limits.rate.windowStart.toISOString(),
      limits.rate.limit,
      limits.concurrentUploads ?? null,
      limits.storedBytes ?? null,
      limits.storedSeconds ?? null,
      limits.uploadsPerDay ?? null,
      limits.bytesPerDay ?? null,
    ],
    // Prepared once per connection (lib/db.ts): planning this statement costs more than running it.
    { prepare: 'signature-new-upload' },
  );
  const row = rows[0]!;
  if (row.rate_count === null) return { outcome: 'rate-limited' };
  if (row.refused !== null) return { outcome: 'refused', quota: row.refused, use: toUse(row) };
  if (Number(row.inserted) !== 1) throw new Error('the upload row was not written although every limit allowed it');
  return { outcome: 'issued' };
}

/**
 * No quota and no cap in force: only the rate limit decides, so the counters are neither locked nor read
 * (the trigger still charges them). The same one statement as the full one without its quota part.
 */
async function insertIssuedUploadWithinRate(
  db: Queryable,
  upload: NewUpload,
  rate: SignatureLimits['rate'],
): Promise<NewUploadDecision> {
  const { rows } = await db.query<{ rate_count: number | null; inserted: number }>(
    `WITH rate AS (
       INSERT INTO rate_limits AS r (subject, window_start, count) VALUES ($9::text, $10::timestamptz, 1)
       ON CONFLICT (subject, window_start) DO UPDATE SET count = r.count + 1 WHERE r.count < $11
       RETURNING r.count
     ), inserted AS (
       ${insertIssuedSql('FROM rate')}
       RETURNING upload_id
     )
     SELECT (SELECT count FROM rate) AS rate_count, (SELECT count(*) FROM inserted)::int AS inserted`,
    [...newUploadParams(upload), rate.subject, rate.windowStart.toISOString(), rate.limit],
    { prepare: 'signature-new-upload-rate-only' },
  );
  const row = rows[0]!;
  if (row.rate_count === null) return { outcome: 'rate-limited' };
  if (Number(row.inserted) !== 1) throw new Error('the upload row was not written although the rate limit allowed it');
  return { outcome: 'issued' };
}

export interface RenewalTarget {
  userId: string;
  status: string;
  createdAt: Date;
}

export type RenewalDecision = { outcome: 'rate-limited' } | { outcome: 'checked'; target?: RenewalTarget; renewed: boolean };

/**
 * Re-signing in one statement: the upload row is locked first (the order a VOD event takes: upload, then
 * counters), the rate-limit window is counted only for a renewal that is allowed (the owner's, still
 * ISSUED, younger than the age limit), and the signature's expiry is extended to `LEAST(now + validity,
 * created + max age)` in whole seconds, as the signature says. The caller names the refusal.
 */
export async function renewIssuedUpload(
  db: Queryable,
  renewal: { uploadId: string; userId: string; nowSeconds: number; validitySeconds: number; maxAgeSeconds: number },
  rate: SignatureLimits['rate'],
): Promise<RenewalDecision> {
  const { rows } = await db.query<{
    user_id: string | null;
    status: string | null;
    created_at: Date | string | null;
    allowed: boolean;
    rate_count: number | null;
    renewed: number;
  }>(
    `WITH target AS (
       SELECT user_id, status, created_at FROM uploads WHERE upload_id = $1 FOR UPDATE
     ), checked AS (
       SELECT target.*, COALESCE(target.user_id = $2 AND target.status = 'ISSUED'
                                 AND floor(extract(epoch FROM target.created_at)) + $5::int > $3::bigint, false) AS allowed
       FROM (SELECT 1) AS one LEFT JOIN target ON true
     ), rate AS (
       INSERT INTO rate_limits AS r (subject, window_start, count)
       SELECT $6::text, $7::timestamptz, CASE WHEN allowed THEN 1 ELSE 0 END FROM checked
       ON CONFLICT (subject, window_start) DO UPDATE SET count = r.count + EXCLUDED.count WHERE r.count < $8
       RETURNING r.count
     ), extended AS (
       UPDATE uploads SET updated_at = now(), signature_expires_at = GREATEST(signature_expires_at,
         to_timestamp(LEAST($3::bigint + $4::int, floor(extract(epoch FROM checked.created_at)) + $5::int)::float8))
       FROM checked, rate WHERE upload_id = $1 AND checked.allowed
       RETURNING 1
     )
     SELECT checked.*, (SELECT count FROM rate) AS rate_count, (SELECT count(*) FROM extended)::int AS renewed FROM checked`,
    [
      renewal.uploadId,
      renewal.userId,
      renewal.nowSeconds,
      renewal.validitySeconds,
      renewal.maxAgeSeconds,
      rate.subject,
      rate.windowStart.toISOString(),
      rate.limit,
    ],
    { prepare: 'signature-renewal' },
  );
  const row = rows[0]!;
  if (row.rate_count === null) return { outcome: 'rate-limited' };
  const target =
    row.user_id === null
      ? undefined
      : { userId: row.user_id, status: String(row.status), createdAt: new Date(row.created_at as Date | string) };
  return { outcome: 'checked', target, renewed: Number(row.renewed) === 1 };
}

/** A user's counters now (no lock): `GET /me/usage`. Closed-window ISSUED uploads do not count as concurrent. */
export async function readQuotaUse(db: Queryable, userId: string, window: IssuedWindow & { now: Date }): Promise<QuotaUse> {
  const { rows } = await db.query<UseRow>(
    `SELECT COALESCE(q.concurrent_uploads, 0) AS concurrent_uploads, COALESCE(q.stored_bytes, 0) AS stored_bytes,
            COALESCE(q.stored_seconds, 0) AS stored_seconds, COALESCE(d.uploads, 0) AS uploads,
            COALESCE(d.bytes, 0) AS bytes, upload_quota_day(now())::text AS day,
            (SELECT count(*) FROM uploads WHERE user_id = $1 AND status = 'ISSUED' AND ${issuedWindowClosedSql(2, 3, 4)}) AS closed
     FROM (SELECT 1) AS one
     LEFT JOIN user_quotas q ON q.user_id = $1
     LEFT JOIN user_daily_quotas d ON d.user_id = $1 AND d.day = upload_quota_day(now())`,
    [userId, window.now.toISOString(), window.maxAgeSeconds, window.graceSeconds],
  );
  return toUse(rows[0]!);
}

/**
 * The counters an arriving file is trued up against, locked until the caller's transaction ends (after
 * the upload row, as every writer locks them): the stored ones, and the daily ones of the day the upload
 * was signed.
 */
export async function lockQuotaUse(db: Queryable, userId: string, signedAt: Date): Promise<QuotaUse> {
  const { rows } = await db.query<UseRow>(
    `WITH held AS (
       INSERT INTO user_quotas AS q (user_id) VALUES ($1)
       ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
       RETURNING q.concurrent_uploads, q.stored_bytes, q.stored_seconds
     ), day AS (
       INSERT INTO user_daily_quotas AS d (user_id, day) SELECT $1, upload_quota_day($2::timestamptz) FROM held
       ON CONFLICT (user_id, day) DO UPDATE SET day = EXCLUDED.day
       RETURNING d.day, d.uploads, d.bytes
     )
     SELECT held.*, day.uploads, day.bytes, day.day::text AS day, 0 AS closed FROM held, day`,
    [userId, signedAt.toISOString()],
  );
  return toUse(rows[0]!);
}

/** One user's counters, or a recount of them from the uploads table (the same charge functions). */
export interface QuotaTotals {
  users: Array<{ userId: string; concurrentUploads: number; storedBytes: number; storedSeconds: number }>;
  days: Array<{ userId: string; day: string; uploads: number; bytes: number }>;
}

/** The counters as stored, rows with nothing counted left out (a touched row may hold zeros). */
export async function quotaCounters(db: Queryable): Promise<QuotaTotals> {
  const users = await db.query<{ user_id: string; c: number; b: number | string; s: number | string }>(
    `SELECT user_id, concurrent_uploads AS c, stored_bytes AS b, stored_seconds AS s FROM user_quotas
     WHERE concurrent_uploads <> 0 OR stored_bytes <> 0 OR stored_seconds <> 0 ORDER BY user_id`,
  );
  const days = await db.query<{ user_id: string; day: string; u: number; b: number | string }>(
    `SELECT user_id, day::text AS day, uploads AS u, bytes AS b FROM user_daily_quotas
     WHERE uploads <> 0 OR bytes <> 0 ORDER BY user_id, day`,
  );
  return totals(users.rows, days.rows);
}

/** What the counters must hold, recounted from the uploads. */
export async function recountQuotas(db: Queryable): Promise<QuotaTotals> {
  const users = await db.query<{ user_id: string; c: number; b: number | string; s: number | string }>(
    `SELECT user_id, c, b, s FROM (
       SELECT user_id, count(*) FILTER (WHERE status = 'ISSUED')::int AS c,
              COALESCE(sum(upload_charged_bytes(status, file_size, media)) FILTER (WHERE upload_is_stored(status)), 0) AS b,
              COALESCE(sum(upload_charged_seconds(media)) FILTER (WHERE upload_is_stored(status)), 0) AS s
       FROM uploads GROUP BY user_id) AS counted
     WHERE c <> 0 OR b <> 0 OR s <> 0 ORDER BY user_id`,
  );
  const days = await db.query<{ user_id: string; day: string; u: number; b: number | string }>(
    `SELECT user_id, day, u, b FROM (
       SELECT user_id, upload_quota_day(created_at)::text AS day, count(*)::int AS u,
              sum(upload_charged_bytes(status, file_size, media)) AS b
       FROM uploads WHERE upload_counts_daily(status, file_id) GROUP BY user_id, upload_quota_day(created_at)) AS counted
     WHERE u <> 0 OR b <> 0 ORDER BY user_id, day`,
  );
  return totals(users.rows, days.rows);
}

function totals(
  users: Array<{ user_id: string; c: number; b: number | string; s: number | string }>,
  days: Array<{ user_id: string; day: string; u: number; b: number | string }>,
): QuotaTotals {
  return {
    users: users.map((r) => ({
      userId: r.user_id,
      concurrentUploads: Number(r.c),
      storedBytes: Number(r.b),
      storedSeconds: Number(r.s),
    })),
    days: days.map((r) => ({ userId: r.user_id, day: String(r.day), uploads: Number(r.u), bytes: Number(r.b) })),
  };
}
