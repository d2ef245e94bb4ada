/**
 * VOD event-callback authentication (vod-protocol.md §4.5): with a SignKey configured, a callback
 * carries `T` (expiry, Unix seconds) and `Sign` = md5(SignKey + T) as lower-case hex.
 * The backend needs the same computation to check callbacks: this belongs in `lib/` once the shared
 * core has a home for it (kept here so the emulator does not depend on unwritten lib code).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export function callbackSign(signKey: string, t: number | string): string {
  return createHash('md5').update(`${signKey}${t}`, 'utf8').digest('hex');
}

/** True when `sign` matches and `t` has not passed (`nowSeconds` defaults to the wall clock). */
export function verifyCallbackSign(signKey: string, t: number | string, sign: string, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  if (!/^\d+$/.test(String(t)) || Number(t) < nowSeconds) return false;
  const expected = Buffer.from(callbackSign(signKey, t));
  const given = Buffer.from(String(sign).toLowerCase());
  return expected.length === given.length && timingSafeEqual(expected, given);
}
