/**
 * Authenticity of VOD's PUSH callbacks (docs/vod-protocol/events.md §4.5): pure primitives, and
 * `authenticatedCallbackBody`, which applies them to a request and decides the HTTP answer. Two
 * independent checks:
 *
 * 1. A secret token in the callback URL registered with ModifyEventConfig (`?token=` or a path suffix),
 *    compared in constant time against a list so that it can be rotated: `tokenMatches`.
 * 2. When a `SignKey` is configured with ModifyEventConfig, VOD adds `Sign` and `T` to each callback:
 *    `Sign = md5(SignKey + T)` (string concatenation, hex), `T` = the signature's *expiry* as a Unix time
 *    (by default 10 minutes after sending); a passed `T` is a replay: `verifyCallbackSign`.
 *
 * Where Sign and T ride, and which Content-Type a callback has, are not stated by Tencent
 * (vod-protocol/events.md §4.5, UNCONFIRMED). The API model lists Sign/T as fields of the callback and
 * Tencent's live-streaming callbacks put `sign`/`t` in the JSON body, but a wrong guess would refuse every
 * callback, so every plausible place is accepted: top-level body fields, the query string (both in any
 * case), or request headers (`Sign`/`T`, `X-Vod-Sign`/`X-Vod-T`, `X-Sign`/`X-T`). The first place that
 * carries both is used. Neither field is part of the event itself: the event parser ignores them.
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
  /** Where the pair was found, by name only (`body Sign+T`, `header x-vod-sign+x-vod-t`): for diagnostics. */
  foundAt?: string;
}

type Fields = Readonly<Record<string, unknown>>;

/** One place Sign/T may ride, with the names to look for (exact spellings first, then any case). */
interface SignPlace {
  place: 'body' | 'query' | 'header';
  fields: Fields;
  signNames: readonly string[];
  tNames: readonly string[];
}

/** Header pairs, in order of preference; header names arrive lower-cased (lib/http.ts). */
const HEADER_PAIRS = [
  ['sign', 't'],
  ['x-vod-sign', 'x-vod-t'],
  ['x-sign', 'x-t'],
] as const;

function signPlaces(body: unknown, query: Fields, headers: Fields): SignPlace[] {
  const bodyFields = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Fields) : {};
  return [
    { place: 'body', fields: bodyFields, signNames: ['Sign', 'sign'], tNames: ['T', 't'] },
    { place: 'query', fields: query, signNames: ['Sign', 'sign'], tNames: ['T', 't'] },
    ...HEADER_PAIRS.map(([sign, t]): SignPlace => ({ place: 'header', fields: headers, signNames: [sign], tNames: [t] })),
  ];
}

/** The first usable value among `names`, then among keys equal to one of them in any case. */
function lookUp(fields: Fields, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = Object.hasOwn(fields, name) ? asText(fields[name]) : undefined;
    if (value !== undefined) return { name, value };
  }
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  for (const [name, raw] of Object.entries(fields)) {
    const value = wanted.has(name.toLowerCase()) ? asText(raw) : undefined;
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

/**
 * Reads `Sign`/`T` from the first place carrying both (see the module comment): the decoded body, then
 * the query string, then the headers. `partial` names places holding only one of the two.
 */
export function locateCallbackSign(
  body: unknown,
  query: Fields = {},
  headers: Fields = {},
): CallbackSignFields & { partial: string[] } {
  const partial: string[] = [];
  for (const { place, fields, signNames, tNames } of signPlaces(body, query, headers)) {
    const sign = lookUp(fields, signNames);
    const t = lookUp(fields, tNames);
    if (sign && t) return { sign: sign.value, t: t.value, foundAt: `${place} ${sign.name}+${t.name}`, partial };
    if (sign ?? t) partial.push(`${place} ${(sign ?? t)!.name}`);
  }
  return { partial };
}

/** `Sign`/`T` of a callback, from the first place carrying both (see `locateCallbackSign`). */
export function callbackSignFields(body: unknown, query: Fields = {}, headers: Fields = {}): CallbackSignFields {
  const { sign, t, foundAt } = locateCallbackSign(body, query, headers);
  return { sign, t, foundAt };
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
 * What authenticating a callback saw, filled in as it goes, so that the diagnostics can describe a
 * refused callback too. Holds the decoded body, never a token or key.
 */
export interface CallbackAuthNotes {
  /** True once the body was decoded (only after the token passed); `body` is then its value. */
  bodyRead?: boolean;
  body?: unknown;
  /** Why the callback was refused, in words fit for a log: no values. */
  refusal?: string;
}

/**
 * The body of an authentic callback. The URL token comes first (401 without one, 403 for a wrong one),
 * so nothing of an unauthenticated request is read; then the body, as JSON whatever its Content-Type
 * (400 when it is not JSON); then, with SignKeys configured, its Sign/T (403).
 */
export function authenticatedCallbackBody(
  request: HttpRequest,
  settings: Pick<Config['callback'], 'tokens' | 'signKeys'>,
  nowSeconds?: number,
  notes: CallbackAuthNotes = {},
): unknown {
  const refuse = (error: Error): never => {
    notes.refusal = error.message;
    throw error;
  };
  const token = request.query.token ?? request.pathParams.token;
  if (token === undefined) refuse(new UnauthorizedError('The callback URL carries no token'));
  if (!tokenMatches(token, settings.tokens)) refuse(new ForbiddenError('The callback token is not valid'));

  let body: unknown;
  try {
    body = jsonBody(request, { anyContentType: true });
  } catch (error) {
    // lib/http's messages for a body that is not JSON name no value.
    return refuse(error as Error);
  }
  notes.bodyRead = true;
  notes.body = body;
  if (settings.signKeys.length > 0) {
    const fields = callbackSignFields(body, request.query, request.headers);
    const verdict = verifyCallbackSign(fields, settings.signKeys, nowSeconds ?? Math.floor(Date.now() / 1000));
    if (verdict !== 'ok')
      refuse(new ForbiddenError(`The callback signature is ${verdict === 'missing' ? 'missing' : `not valid (${verdict})`}`));
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
