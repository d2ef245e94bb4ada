/**
 * COS XML API request signature, `q-sign-algorithm=sha1` (docs/vod-protocol/cos.md §7; Tencent doc 436/7778),
 * verified the way the official SDKs compute it: the signed path is "/" + the decoded object key, the
 * signed parameters and headers are the ones named in q-url-param-list / q-header-list, with names
 * lower-cased and values encoded like encodeURIComponent plus !'()*.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

function camSafeUrlEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/!/g, '%21')
    .replace(/'/g, '%27')
    .replace(/\(/g, '%28')
    .replace(/\)/g, '%29')
    .replace(/\*/g, '%2A');
}

export interface CosAuthorization {
  algorithm: string;
  ak: string;
  signTime: string;
  keyTime: string;
  headerList: string[];
  urlParamList: string[];
  signature: string;
}

/** Parses `q-sign-algorithm=sha1&q-ak=…&…`; undefined when it is not a COS authorization. */
export function parseCosAuthorization(value: string): CosAuthorization | undefined {
  const fields = new Map<string, string>();
  for (const pair of value.split('&')) {
    const eq = pair.indexOf('=');
    if (eq > 0) fields.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  const algorithm = fields.get('q-sign-algorithm');
  const ak = fields.get('q-ak');
  const signTime = fields.get('q-sign-time');
  const keyTime = fields.get('q-key-time');
  const signature = fields.get('q-signature');
  if (!algorithm || !ak || !signTime || !keyTime || !signature) return undefined;
  const list = (name: string) => (fields.get(name) ?? '').split(';').filter((s) => s.length > 0);
  return {
    algorithm,
    ak,
    signTime,
    keyTime,
    headerList: list('q-header-list'),
    urlParamList: list('q-url-param-list'),
    signature,
  };
}

/** Query parameters decoded, in order, keeping parameters without `=` (e.g. `?uploads`). */
export function parseQuery(raw: string): [string, string][] {
  if (!raw) return [];
  const out: [string, string][] = [];
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s.replace(/\+/g, ' '));
      } catch {
        return s;
      }
    };
    out.push([decode(name), decode(value)]);
  }
  return out;
}

export interface SignInput {
  method: string;
  /** "/" + decoded key ("/" for bucket-level requests). */
  pathname: string;
  query: [string, string][];
  headers: IncomingHttpHeaders;
}

function canonical(names: string[], lookup: (name: string) => string | undefined): string {
  return [...names]
    .sort()
    .map((name) => `${name}=${camSafeUrlEncode(lookup(name) ?? '')}`)
    .join('&');
}

/** The expected hex signature for `auth` over `input` with `secretKey`. */
export function computeCosSignature(auth: CosAuthorization, input: SignInput, secretKey: string): string {
  const queryByName = new Map<string, string>();
  for (const [name, value] of input.query) queryByName.set(camSafeUrlEncode(name).toLowerCase(), value);
  const httpParameters = canonical(auth.urlParamList, (name) => queryByName.get(name));
  const httpHeaders = canonical(auth.headerList, (name) => {
    const value = input.headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  });
  const httpString = [input.method.toLowerCase(), input.pathname, httpParameters, httpHeaders, ''].join('\n');
  const stringToSign = ['sha1', auth.signTime, createHash('sha1').update(httpString, 'utf8').digest('hex'), ''].join('\n');
  const signKey = createHmac('sha1', secretKey).update(auth.keyTime).digest('hex');
  return createHmac('sha1', signKey).update(stringToSign).digest('hex');
}

export function signaturesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase());
  const y = Buffer.from(b.toLowerCase());
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `start;end` in Unix seconds, or undefined when malformed. */
export function parseKeyTime(value: string): { start: number; end: number } | undefined {
  const m = /^(\d+);(\d+)$/.exec(value);
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]) };
}
