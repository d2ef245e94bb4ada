/**
 * Authenticity of VOD's PUSH callbacks (vod-protocol.md §4.5): pure primitives, and
 * `authenticatedCallbackBody`, which applies them to a request and decides the HTTP answer. Two
 * independent checks:
 *
 * 1. A secret token in the callback URL registered with ModifyEventConfig (`?token=` or a path suffix),
 *    compared in constant time against a list so that it can be rotated: `tokenMatches`.
 * 2. When a `SignKey` is configured with ModifyEventConfig, VOD adds `Sign` and `T` to each callback:
 *    `Sign = md5(SignKey + T)` (string concatenation, hex), `T` = the signature's *expiry* as a Unix time
 *    (by default 10 minutes after sending); a passed `T` is a replay: `verifyCallbackSign`.
 *
 * Where Sign and T ride is not stated by Tencent (vod-protocol.md §4.5, UNCONFIRMED). The API model
 * lists them as fields of the callback, and Tencent's live-streaming callbacks put `sign`/`t` in the
 * JSON body, so we read them as top-level body fields beside `EventType` (`{"EventType": …, "Sign": …,
 * "T": …}`), accept the lower-case spelling too, and fall back to the query string. Neither field
 * is part of the event itself: the event parser ignores them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '#lib/config';
import { ForbiddenError, UnauthorizedError } from '#lib/errors';
import { jsonBody, type HttpRequest } from '#lib/http';

/** VOD's documented lifetime of a callback signature. */
export const CALLBACK_SIGN_VALIDITY_SECONDS = 600;
/** Clock skew tolerated beyond that lifetime before a `T` counts as forged (far future = never expires). */
export const CALLBACK_SIGN_MAX_SKEW_SECONDS = 3600;

/**
 * True when `presented` equals one of the `accepted` tokens. Both sides are hashed first, so the
 * comparison is over equal-length digests and neither a token's length nor which entry matched leaks
 * through timing; every entry is compared. Empty tokens never match (an unset secret is not a secret).
 */
export function tokenMatches(presented: string | undefined, accepted: readonly string[]): boolean {
  if (presented === undefined || presented === '') return false;
  const presentedDigest = sha256(presented);
  let matched = false;
  for (const token of accepted) {
    if (token === '') continue;
    // Compare first, then combine: no short-circuit on the first match.
    matched = timingSafeEqual(presentedDigest, sha256(token)) || matched;
  }
  return matched;
}

/** `md5(signKey + t)` as lower-case hex: the `Sign` VOD sends with expiry `t`. */
export function callbackSign(signKey: string, t: string | number): string {
  return createHash('md5').update(`${signKey}${t}`, 'utf8').digest('hex');
}

export interface CallbackSignFields {
  sign?: string;
  /** As sent: the signature covers its exact decimal text. */
  t?: string;
}

/** Reads `Sign`/`T` from a decoded callback body (see the module comment), else from the query string. */
export function callbackSignFields(body: unknown, query: Readonly<Record<string, string | undefined>> = {}): CallbackSignFields {
  const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  return {
    sign: asText(fields.Sign ?? fields.sign ?? query.Sign ?? query.sign),
    t: asText(fields.T ?? fields.t ?? query.T ?? query.t),
  };
}

/**
 * - `missing`: no Sign or no T (with a SignKey configured, VOD always sends both);
 * - `expired`: T has passed — a replay, or a callback that took too long;
 * - `future`: T lies further ahead than VOD ever sets it (lifetime + skew) — forged or a broken clock;
 * - `mismatch`: T or Sign malformed, or Sign made with none of the accepted keys.
 */
export type CallbackSignVerdict = 'ok' | 'missing' | 'expired' | 'future' | 'mismatch';

/**
 * Checks `Sign = md5(SignKey + T)` against every accepted key (a list, so the key can be rotated:
 * configure the new key here first, then in VOD, then drop the old one).
 */
export function verifyCallbackSign(
  fields: { sign?: string | number; t?: string | number },
  signKeys: readonly string[],
  nowSeconds: number,
): CallbackSignVerdict {
  const sign = asText(fields.sign);
  const t = asText(fields.t);
  if (sign === undefined || t === undefined) return 'missing';
  if (!/^\d{1,12}$/.test(t) || !/^[0-9a-fA-F]{32}$/.test(sign)) return 'mismatch';

  const expiresAt = Number(t);
  if (expiresAt < nowSeconds) return 'expired';
  if (expiresAt > nowSeconds + CALLBACK_SIGN_VALIDITY_SECONDS + CALLBACK_SIGN_MAX_SKEW_SECONDS) return 'future';

  const presented = Buffer.from(sign.toLowerCase(), 'hex');
  let matched = false;
  for (const key of signKeys) {
    if (key === '') continue;
    matched = timingSafeEqual(presented, Buffer.from(callbackSign(key, t), 'hex')) || matched;
  }
  return matched ? 'ok' : 'mismatch';
}

/**
 * The body of an authentic callback. The URL token comes first (401 without one, 403 for a wrong one),
 * so nothing of an unauthenticated request is read; then the JSON body (400/415 like any body); then,
 * with SignKeys configured, its Sign/T (403).
 */
export function authenticatedCallbackBody(request: HttpRequest, settings: Config['callback'], nowSeconds?: number): unknown {
  const token = request.query.token ?? request.pathParams.token;
  if (token === undefined) throw new UnauthorizedError('The callback URL carries no token');
  if (!tokenMatches(token, settings.tokens)) throw new ForbiddenError('The callback token is not valid');

  const body = jsonBody(request);
  if (settings.signKeys.length > 0) {
    const verdict = verifyCallbackSign(callbackSignFields(body, request.query), settings.signKeys, nowSeconds ?? Math.floor(Date.now() / 1000));
    if (verdict !== 'ok') throw new ForbiddenError(`The callback signature is ${verdict === 'missing' ? 'missing' : `not valid (${verdict})`}`);
  }
  return body;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Strings as they are; integers (a JSON `T` is a number) in their decimal form; anything else is absent. */
function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
}
