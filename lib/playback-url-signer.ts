/**
 * Key hotlink protection (Key 防盗链) for VOD playback URLs (docs/vod-protocol/hotlink.md §8; Tencent's doc 266/14047,
 * English 266/33986). With it enabled on a domain, VOD's CDN answers 403 to any media URL without a valid
 * signature, so the app hands out signed URLs:
 *
 *   sign = md5(KEY + Dir + t + exper + rlimit + us + whref + bkref + whreg + bkreg)   (lower-case hex)
 *
 * where Dir is the URL path without the file name (`/dir1/dir2/` for `/dir1/dir2/v.mp4`, so one signature
 * also covers the HLS segments beside a playlist, if the player carries the playlist's query to them:
 * nothing here makes a plain player do so, docs/vod-protocol/hotlink.md §8.3), `t` the expiry in
 * lower-case hexadecimal Unix seconds, and absent optional parameters are empty strings.
 *
 * Decisions where the doc is silent:
 * - Query order: `t, exper, rlimit, us, whref, bkref, whreg, bkreg, sign` (absent ones left out): the doc's
 *   required order for the five it names, with the list parameters in formula order before `sign`.
 * - An existing query is kept: its other parameters stay first, in their order, and the hotlink parameters
 *   are appended ("added at the end of the original URL"). Hotlink parameters already present (an already
 *   signed URL) are dropped, so re-signing replaces the old signature instead of stacking a second one.
 * - Values are never percent-encoded: `us` and the lists are restricted to characters that need no
 *   encoding, so the string the CDN hashes is exactly the string we hashed. Anything else is refused.
 * - The path is hashed as it appears in the URL (percent-encoded where the URL encodes it).
 * - `exper: 0` means "whole video", the same as leaving it out, and is left out.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The CDN still accepts a URL this long after its `t` (clock skew between devices and nodes). */
export const HOTLINK_CLOCK_SKEW_SECONDS = 300;
/** Largest `rlimit` the CDN accepts. */
const HOTLINK_MAX_RLIMIT = 9;

/** The hotlink parameters in their query order; `sign` comes last. */
const SIGNED_PARAMS = ['t', 'exper', 'rlimit', 'us', 'whref', 'bkref', 'whreg', 'bkreg'] as const;
const HOTLINK_PARAMS = new Set<string>([...SIGNED_PARAMS, 'sign']);
/** The order the doc requires for the parameters it names. */
const ORDERED_PARAMS = ['t', 'exper', 'rlimit', 'us', 'sign'];

type ListParam = 'whref' | 'bkref' | 'whreg' | 'bkreg';

interface HotlinkOptions {
  /** The domain's hotlink key: 8–20 letters or digits. */
  key: string;
  /** When the URL stops working, Unix seconds (the CDN allows `HOTLINK_CLOCK_SKEW_SECONDS` more). */
  expiresAt: number;
  /** A random link id making each URL unique (recommended; see `newHotlinkId`). */
  us?: string;
  /** At most this many distinct client IPs may play the URL (1–9). */
  rlimit?: number;
  /** Preview length in seconds; 0 or absent plays the whole video. */
  exper?: number;
  /** Referer allow list (1–10 domains, wildcards allowed, no scheme). */
  whref?: string | readonly string[];
  /** Referer block list. */
  bkref?: string | readonly string[];
  /** Region allow list (1–10 three-letter ISO 3166 codes). */
  whreg?: string | readonly string[];
  /** Region block list. */
  bkreg?: string | readonly string[];
}

type HotlinkVerdict = 'ok' | 'missing' | 'expired' | 'mismatch';

export class HotlinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HotlinkError';
  }
}

const KEY_PATTERN = /^[A-Za-z0-9]{8,20}$/;
/** URL-unreserved characters only: nothing the CDN could decode differently from how we hashed it. */
const US_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;
const DOMAIN_PATTERN = /^[A-Za-z0-9*][A-Za-z0-9*._:/-]{0,252}$/;
const REGION_PATTERN = /^[A-Za-z]{3}$/;
const T_PATTERN = /^[0-9a-f]{1,16}$/;
const SIGN_PATTERN = /^[0-9a-fA-F]{32}$/;

/**
 * The playback URL with Key hotlink parameters appended. Accepts an absolute URL or an absolute path
 * (`/dir/video.mp4?x=1`); returns the same kind. Pure: the same input always gives the same URL.
 */
export function signPlaybackUrl(url: string, options: HotlinkOptions): string {
  const key = options.key;
  if (!KEY_PATTERN.test(key))
    throw new HotlinkError('the hotlink key must be 8-20 letters or digits (the KEY set for the VOD domain)');
  if (!Number.isSafeInteger(options.expiresAt) || options.expiresAt <= 0) {
    throw new HotlinkError(`expiresAt must be a positive whole number of Unix seconds, got ${String(options.expiresAt)}`);
  }
  const values: Partial<Record<(typeof SIGNED_PARAMS)[number], string>> = { t: options.expiresAt.toString(16) };
  if (options.exper !== undefined) {
    if (!Number.isSafeInteger(options.exper) || options.exper < 0)
      throw new HotlinkError(`exper must be whole seconds >= 0, got ${String(options.exper)}`);
    if (options.exper > 0) values.exper = String(options.exper);
  }
  if (options.rlimit !== undefined) {
    if (!Number.isInteger(options.rlimit) || options.rlimit < 1 || options.rlimit > HOTLINK_MAX_RLIMIT) {
      throw new HotlinkError(`rlimit must be an integer from 1 to ${HOTLINK_MAX_RLIMIT}, got ${String(options.rlimit)}`);
    }
    values.rlimit = String(options.rlimit);
  }
  if (options.us !== undefined) {
    if (!US_PATTERN.test(options.us)) throw new HotlinkError('us must be 1-64 letters, digits, ".", "_", "~" or "-"');
    values.us = options.us;
  }
  for (const name of ['whref', 'bkref', 'whreg', 'bkreg'] as const) {
    const list = listValue(name, options[name]);
    if (list !== undefined) values[name] = list;
  }

  const parsed = parseUrl(url);
  const sign = hotlinkSign(key, hotlinkDir(parsed.path), values);
  const kept = parsed.query.filter(([name]) => !HOTLINK_PARAMS.has(name)).map(([, raw]) => raw);
  const added = SIGNED_PARAMS.flatMap((name) => (values[name] === undefined ? [] : [`${name}=${values[name]}`]));
  const query = [...kept, ...added, `sign=${sign}`].join('&');
  return `${parsed.origin}${parsed.path}?${query}${parsed.hash}`;
}

/**
 * What VOD's CDN would decide for this URL, for the local emulator: `missing` (no `t` or no `sign`),
 * `mismatch` (a signature that does not match, a malformed or repeated parameter, parameters out of the
 * required order), `expired` (authentic, but more than `HOTLINK_CLOCK_SKEW_SECONDS` past `t`), else `ok`.
 * The signature is checked before the expiry, so a forged URL is never reported as merely expired.
 * `url` may be absolute or a path with its query (an HTTP request line's target).
 */
export function verifyPlaybackUrl(url: string, key: string, nowSeconds: number): HotlinkVerdict {
  let parsed: ParsedUrl;
  try {
    parsed = parseUrl(url);
  } catch {
    return 'missing';
  }
  const found = new Map<string, string>();
  const order: string[] = [];
  for (const [name, raw] of parsed.query) {
    if (!HOTLINK_PARAMS.has(name)) continue;
    if (found.has(name)) return 'mismatch';
    let value: string;
    try {
      const equalsAt = raw.indexOf('=');
      value = equalsAt === -1 ? '' : decodeURIComponent(raw.slice(equalsAt + 1));
    } catch {
      return 'mismatch';
    }
    found.set(name, value);
    order.push(name);
  }
  const t = found.get('t');
  const sign = found.get('sign');
  if (t === undefined || t === '' || sign === undefined || sign === '') return 'missing';

  const named = order.filter((name) => ORDERED_PARAMS.includes(name));
  const expected = ORDERED_PARAMS.filter((name) => found.has(name));
  if (named.join() !== expected.join() || order[order.length - 1] !== 'sign') return 'mismatch';
  if (!T_PATTERN.test(t) || !SIGN_PATTERN.test(sign) || !KEY_PATTERN.test(key)) return 'mismatch';

  const values = Object.fromEntries(SIGNED_PARAMS.map((name) => [name, found.get(name)]));
  const computed = Buffer.from(hotlinkSign(key, hotlinkDir(parsed.path), values), 'ascii');
  if (!timingSafeEqual(computed, Buffer.from(sign.toLowerCase(), 'ascii'))) return 'mismatch';

  return nowSeconds > Number.parseInt(t, 16) + HOTLINK_CLOCK_SKEW_SECONDS ? 'expired' : 'ok';
}

/** The `Dir` of the formula: the path up to and including its last `/` (`/a/b/` for `/a/b/v.mp4`). */
export function hotlinkDir(path: string): string {
  const withSlash = path.startsWith('/') ? path : `/${path}`;
  return withSlash.slice(0, withSlash.lastIndexOf('/') + 1);
}

/** `md5(KEY + Dir + t + exper + rlimit + us + whref + bkref + whreg + bkreg)`, lower-case hex. */
function hotlinkSign(
  key: string,
  dir: string,
  values: Partial<Record<(typeof SIGNED_PARAMS)[number], string | undefined>>,
): string {
  const parts = [key, dir, ...SIGNED_PARAMS.map((name) => values[name] ?? '')];
  return createHash('md5').update(parts.join(''), 'utf8').digest('hex');
}

/** A fresh random `us` (link id): 10 hex characters, as in Tencent's examples. Not pure, by design. */
export function newHotlinkId(): string {
  return randomBytes(5).toString('hex');
}

function listValue(name: ListParam, value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const items = (typeof value === 'string' ? value.split(',') : [...value])
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) return undefined;
  if (items.length > 10) throw new HotlinkError(`${name} takes at most 10 entries, got ${items.length}`);
  const region = name === 'whreg' || name === 'bkreg';
  for (const item of items) {
    if (region ? !REGION_PATTERN.test(item) : !DOMAIN_PATTERN.test(item) || /^https?:/i.test(item)) {
      throw new HotlinkError(
        region
          ? `${name}: "${item}" is not a three-letter region code (ISO 3166 alpha-3, e.g. CHN)`
          : `${name}: "${item}" is not a domain (letters, digits, "*", ".", "-", no http:// prefix)`,
      );
    }
  }
  return items.join(',');
}

interface ParsedUrl {
  /** `https://host[:port]`, or '' for a path-only input. */
  origin: string;
  path: string;
  /** Each query item as written (`name=value`), beside its name. */
  query: Array<[string, string]>;
  hash: string;
}

/** Splits without re-encoding anything, so the path and query keep exactly their written form. */
function parseUrl(url: string): ParsedUrl {
  let origin = '';
  let rest = url;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    new URL(url); // throws on a malformed URL
    const authorityAt = url.indexOf('//') + 2;
    const pathAt = url.slice(authorityAt).search(/[/?#]/);
    origin = pathAt === -1 ? url : url.slice(0, authorityAt + pathAt);
    rest = url.slice(origin.length);
  } else if (!url.startsWith('/')) {
    throw new HotlinkError(`not an absolute URL or path: ${JSON.stringify(url)}`);
  }
  const hashAt = rest.indexOf('#');
  const beforeHash = hashAt === -1 ? rest : rest.slice(0, hashAt);
  const hash = hashAt === -1 ? '' : rest.slice(hashAt);
  const queryAt = beforeHash.indexOf('?');
  const rawPath = queryAt === -1 ? beforeHash : beforeHash.slice(0, queryAt);
  const rawQuery = queryAt === -1 ? '' : beforeHash.slice(queryAt + 1);
  const query = rawQuery
    .split('&')
    .filter((item) => item !== '')
    .map((item): [string, string] => [item.split('=', 1)[0] ?? '', item]);
  return { origin, path: rawPath === '' ? '/' : rawPath, query, hash };
}
