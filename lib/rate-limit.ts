/**
 * Fixed-window rate limits kept in the database, so they hold across every function instance. The
 * signature endpoint counts its window inside its own statement (lib/quota-store.ts, with `rateWindow`):
 * a conditional upsert, so concurrent callers never push a window past its limit, while the user's quota
 * row serialises the user's requests. The cleanup purges past windows.
 */
import type { Queryable } from '#lib/db';

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
