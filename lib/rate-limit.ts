/**
 * Fixed-window rate limits kept in the database, so they hold across every function instance. The
 * conditional upsert is atomic: concurrent callers never push a window past its limit. The cleanup
 * purges past windows. `consumeRateLimit` also holds a lock on the subject until the transaction ends, so
 * what the caller decides next about that subject is decided one request at a time, across window
 * boundaries too. The signature endpoint counts its window inside its own statement instead
 * (lib/quota-store.ts, with `rateWindow`), where the user's quota row serialises the user's requests.
 */
import type { Queryable } from '#lib/db';

/** The first key of the two-key advisory locks on rate-limit subjects (apart from single-key locks). */
const SUBJECT_LOCK_SPACE = 7_104;

export type RateLimitDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number };

export async function consumeRateLimit(
  db: Queryable,
  subject: string,
  limit: number,
  windowSeconds: number,
  now: Date = new Date(),
): Promise<RateLimitDecision> {
  const windowMs = windowSeconds * 1000;
  const windowStart = new Date(Math.floor(now.getTime() / windowMs) * windowMs);
  const { rows } = await db.query<{ count: number }>(
    `INSERT INTO rate_limits (subject, window_start, count)
     SELECT $1::text, $2::timestamptz, 1 FROM (SELECT pg_advisory_xact_lock(${SUBJECT_LOCK_SPACE}, hashtext($1::text))) AS serialised
     ON CONFLICT (subject, window_start) DO UPDATE SET count = rate_limits.count + 1
       WHERE rate_limits.count < $3
     RETURNING count`,
    [subject, windowStart, limit],
  );
  const row = rows[0];
  if (row === undefined) {
    return { allowed: false, retryAfterSeconds: (windowStart.getTime() + windowMs - now.getTime()) / 1000 };
  }
  return { allowed: true, remaining: limit - Number(row.count) };
}

/** The fixed window `now` falls in, for a statement that counts it itself (lib/quota-store.ts). */
export function rateWindow(
  subject: string,
  limit: number,
  windowSeconds: number,
  now: Date,
): { subject: string; windowStart: Date; limit: number; retryAfterSeconds: number } {
  const windowMs = windowSeconds * 1000;
  const windowStart = new Date(Math.floor(now.getTime() / windowMs) * windowMs);
  return { subject, windowStart, limit, retryAfterSeconds: (windowStart.getTime() + windowMs - now.getTime()) / 1000 };
}

/** Deletes up to `limit` windows that started over a day ago; returns how many. */
export async function purgeRateLimitWindows(db: Queryable, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM rate_limits WHERE (subject, window_start) IN (
       SELECT subject, window_start FROM rate_limits WHERE window_start < now() - interval '1 day' LIMIT $1 FOR UPDATE SKIP LOCKED)`,
    [limit],
  );
  return rowCount;
}
