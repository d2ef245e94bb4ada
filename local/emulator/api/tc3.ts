/**
 * TC3-HMAC-SHA256 verification of API 3.0 requests (docs/vod-protocol/api-signing.md §6), accepting exactly what the
 * official SDK (`tencentcloud-sdk-nodejs-common` Sign.sign3) sends:
 *  - the service in the credential scope must be `vod` or the first label of the Host header, which is what
 *    the SDK signs (`endpoint.split(".")[0]`: "127" for 127.0.0.1:PORT, "localhost:PORT" for localhost:PORT);
 *    any other service is `AuthFailure.SignatureFailure`, as VOD refuses a request signed for another product;
 *  - the canonical `host` is the host name without the port (the SDK signs `new URL(url).hostname`);
 *    the full Host header value is accepted too, for signers that keep the port;
 *  - the timestamp must be within 5 minutes of the emulator's clock;
 *  - a temporary credential must come with its `X-TC-Token`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { EmulatorCredential } from '../options.ts';
import { ApiError } from './error.ts';

const MAX_CLOCK_SKEW_SECONDS = 300;

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

interface ParsedTc3 {
  secretId: string;
  date: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseTc3Authorization(value: string): ParsedTc3 | undefined {
  const m =
    /^TC3-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{4}-\d{2}-\d{2})\/([^/,\s]+)\/tc3_request\s*,\s*SignedHeaders=([a-z0-9;-]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/i.exec(
      value.trim(),
    );
  if (!m) return undefined;
  return {
    secretId: m[1]!,
    date: m[2]!,
    service: m[3]!,
    signedHeaders: m[4]!.toLowerCase().split(';'),
    signature: m[5]!.toLowerCase(),
  };
}

function utcDate(timestampSeconds: number): string {
  return new Date(timestampSeconds * 1000).toISOString().slice(0, 10);
}

export interface Tc3Request {
  method: string;
  path: string;
  rawQuery: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

function tc3Signature(secretKey: string, parsed: ParsedTc3, timestamp: string, canonicalRequest: string): string {
  const stringToSign = `TC3-HMAC-SHA256\n${timestamp}\n${parsed.date}/${parsed.service}/tc3_request\n${sha256Hex(canonicalRequest)}`;
  const kDate = hmac(`TC3${secretKey}`, parsed.date);
  const kService = hmac(kDate, parsed.service);
  const kSigning = hmac(kService, 'tc3_request');
  return createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
}

function canonicalRequest(req: Tc3Request, signedHeaders: string[], hostValue: string): string {
  const headerLines = signedHeaders
    .map((name) => {
      const raw = name === 'host' ? hostValue : req.headers[name];
      const value = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
      return `${name}:${value.trim()}\n`;
    })
    .join('');
  return [req.method, req.path, req.rawQuery, headerLines, signedHeaders.join(';'), sha256Hex(req.body)].join('\n');
}

/** Verifies the request; returns the credential that signed it, or throws ApiError with VOD's code. */
export function verifyTc3(req: Tc3Request, credentials: EmulatorCredential[], nowMs: number): EmulatorCredential {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || header.length === 0) {
    throw new ApiError('AuthFailure.SignatureFailure', 'The request carries no Authorization header.');
  }
  const parsed = parseTc3Authorization(header);
  if (!parsed) {
    throw new ApiError('AuthFailure.SignatureFailure', 'The Authorization header is not a TC3-HMAC-SHA256 signature.');
  }
  const timestampHeader = req.headers['x-tc-timestamp'];
  const timestamp = typeof timestampHeader === 'string' && /^\d+$/.test(timestampHeader) ? Number(timestampHeader) : NaN;
  if (!Number.isFinite(timestamp)) throw new ApiError('MissingParameter', 'X-TC-Timestamp is required (Unix seconds).');
  if (Math.abs(Math.floor(nowMs / 1000) - timestamp) > MAX_CLOCK_SKEW_SECONDS) {
    throw new ApiError(
      'AuthFailure.SignatureExpire',
      'Signature expired: the timestamp is more than 5 minutes away from the server time.',
    );
  }
  const credential = credentials.find((c) => c.secretId === parsed.secretId);
  if (!credential) throw new ApiError('AuthFailure.SecretIdNotFound', `The SecretId ${parsed.secretId} does not exist.`);
  if (credential.token !== undefined) {
    if (req.headers['x-tc-token'] !== credential.token) {
      throw new ApiError('AuthFailure.TokenFailure', 'The X-TC-Token of this temporary credential is missing or wrong.');
    }
  }
  if (parsed.date !== utcDate(timestamp)) {
    throw new ApiError('AuthFailure.SignatureFailure', 'The credential scope date does not match X-TC-Timestamp.');
  }
  if (!parsed.signedHeaders.includes('host') || !parsed.signedHeaders.includes('content-type')) {
    throw new ApiError('AuthFailure.SignatureFailure', 'SignedHeaders must include content-type and host.');
  }
  const host = typeof req.headers.host === 'string' ? req.headers.host : '';
  const services = new Set(['vod', host.split('.')[0], host.replace(/:\d+$/, '').split('.')[0]]);
  if (!services.has(parsed.service)) {
    throw new ApiError(
      'AuthFailure.SignatureFailure',
      `The credential scope names service "${parsed.service}"; this endpoint is vod.`,
    );
  }
  const candidates = new Set([host.replace(/:\d+$/, ''), host]);
  const given = Buffer.from(parsed.signature, 'hex');
  for (const hostValue of candidates) {
    const expected = Buffer.from(
      tc3Signature(
        credential.secretKey,
        parsed,
        timestampHeader as string,
        canonicalRequest(req, parsed.signedHeaders, hostValue),
      ),
      'hex',
    );
    if (expected.length === given.length && timingSafeEqual(expected, given)) return credential;
  }
  throw new ApiError(
    'AuthFailure.SignatureFailure',
    'The provided credentials could not be validated. Please check your signature is correct.',
  );
}
