/**
 * VOD client-upload signature (docs/vod-protocol/upload-signature.md §1, Tencent doc 266/9221):
 *   original  = URL query string of the parameters (values URL-encoded)
 *   signature = Base64( HMAC-SHA1(SecretKey, original) [20 bytes] || original )
 * The plaintext travels inside the signature, so `decode` recovers every parameter and `verify`
 * recomputes the MAC with the SecretKey that belongs to `secretId`.
 */
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { TASK_NOTIFY_MODES, type TaskNotifyMode } from '#contract';

/** Longest validity VOD accepts: 90 days. */
export const MAX_VALIDITY_SECONDS = 7_776_000;
export const MAX_SOURCE_CONTEXT_LENGTH = 250;
export const MAX_SESSION_CONTEXT_LENGTH = 1000;

const MAC_LENGTH = 20;
const MAX_UINT32 = 0xffff_ffff;
/** Anything above this is a millisecond timestamp passed by mistake (year 5138 in seconds). */
const MAX_UNIX_SECONDS = 100_000_000_000;

/** Every parameter of §1.2, as it appears in the signature's plaintext. */
export interface UploadSignatureParams {
  secretId: string;
  currentTimeStamp: number;
  expireTime: number;
  random: number;
  classId?: number;
  procedure?: string;
  taskPriority?: number;
  taskNotifyMode?: TaskNotifyMode;
  sourceContext?: string;
  oneTimeValid?: 0 | 1;
  vodSubAppId?: number;
  sessionContext?: string;
  storageRegion?: string;
}

/** What a caller of `sign` chooses: `random` is always fresh, the times default to now + 1 hour. */
export type SignInput = Omit<UploadSignatureParams, 'random' | 'currentTimeStamp' | 'expireTime'> & {
  currentTimeStamp?: number;
  /** Either an absolute `expireTime` or a `validitySeconds` (default 3600). */
  expireTime?: number;
  validitySeconds?: number;
};

type SignatureErrorCode =
  | 'InvalidParameter'
  | 'MalformedSignature'
  | 'SignatureMismatch'
  | 'SignatureExpired'
  | 'UnknownSecretId';

/** Thrown for any parameter out of its documented range, or a signature that does not check out. */
export class UploadSignatureError extends Error {
  constructor(
    readonly code: SignatureErrorCode,
    message: string,
    /** The offending parameter, when one is to blame. */
    readonly parameter?: string,
  ) {
    super(message);
    this.name = 'UploadSignatureError';
  }
}

const invalid = (parameter: string, message: string) =>
  new UploadSignatureError('InvalidParameter', `${parameter}: ${message}`, parameter);

/** Order of the plaintext: the doc's template puts the required four first. */
const PARAMETER_ORDER = [
  'secretId',
  'currentTimeStamp',
  'expireTime',
  'random',
  'classId',
  'procedure',
  'taskPriority',
  'taskNotifyMode',
  'sourceContext',
  'oneTimeValid',
  'vodSubAppId',
  'sessionContext',
  'storageRegion',
] as const satisfies readonly (keyof UploadSignatureParams)[];

const REQUIRED_PARAMETERS: readonly string[] = ['secretId', 'currentTimeStamp', 'expireTime', 'random'];

const INTEGER_PARAMETERS = new Set<string>([
  'currentTimeStamp',
  'expireTime',
  'random',
  'classId',
  'taskPriority',
  'oneTimeValid',
  'vodSubAppId',
]);

/** A crypto-random uint32, so that signatures issued in the same second always differ. */
function newRandom(): number {
  return randomInt(0, MAX_UINT32 + 1);
}

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(name, 'must be an integer');
  if (value < min || value > max) throw invalid(name, `must be between ${min} and ${max}, got ${value}`);
}

function checkString(name: string, value: unknown, maxLength: number): void {
  if (typeof value !== 'string' || value.length === 0) throw invalid(name, 'must be a non-empty string');
  if ([...value].length > maxLength) throw invalid(name, `must be at most ${maxLength} characters`);
}

/** Checks every parameter against its documented limits; throws naming the first one out of range. */
function validateParams(params: UploadSignatureParams): void {
  checkString('secretId', params.secretId, 128);
  checkInteger('currentTimeStamp', params.currentTimeStamp, 0, MAX_UNIX_SECONDS);
  checkInteger('expireTime', params.expireTime, 0, MAX_UNIX_SECONDS);
  if (params.expireTime <= params.currentTimeStamp) throw invalid('expireTime', 'must be after currentTimeStamp');
  if (params.expireTime - params.currentTimeStamp > MAX_VALIDITY_SECONDS) {
    throw invalid('expireTime', `validity must be at most ${MAX_VALIDITY_SECONDS} s (90 days)`);
  }
  checkInteger('random', params.random, 0, MAX_UINT32);
  if (params.classId !== undefined) checkInteger('classId', params.classId, 0, MAX_UINT32);
  if (params.procedure !== undefined) checkString('procedure', params.procedure, 128);
  if (params.taskPriority !== undefined) checkInteger('taskPriority', params.taskPriority, -10, 10);
  if (params.taskNotifyMode !== undefined && !TASK_NOTIFY_MODES.includes(params.taskNotifyMode)) {
    throw invalid('taskNotifyMode', `must be one of ${TASK_NOTIFY_MODES.join(', ')}`);
  }
  if (params.sourceContext !== undefined) checkString('sourceContext', params.sourceContext, MAX_SOURCE_CONTEXT_LENGTH);
  if (params.oneTimeValid !== undefined) checkInteger('oneTimeValid', params.oneTimeValid, 0, 1);
  if (params.vodSubAppId !== undefined) checkInteger('vodSubAppId', params.vodSubAppId, 0, MAX_UINT32);
  if (params.sessionContext !== undefined) {
    checkString('sessionContext', params.sessionContext, MAX_SESSION_CONTEXT_LENGTH);
  }
  if (params.storageRegion !== undefined) {
    checkString('storageRegion', params.storageRegion, 64);
    if (!/^[a-z]+(-[a-z0-9]+)+$/.test(params.storageRegion)) {
      throw invalid('storageRegion', 'must be a region short name such as ap-guangzhou');
    }
  }
}

/** The plaintext query string, values URL-encoded, parameters in the documented order. */
export function encodeOriginal(params: UploadSignatureParams): string {
  const pairs: string[] = [];
  for (const name of PARAMETER_ORDER) {
    const value = params[name];
    if (value !== undefined) pairs.push(`${name}=${encodeURIComponent(String(value))}`);
  }
  return pairs.join('&');
}

function mac(original: string, secretKey: string): Buffer {
  return createHmac('sha1', Buffer.from(secretKey, 'utf8')).update(Buffer.from(original, 'utf8')).digest();
}

/** Builds a fresh upload signature. Throws `UploadSignatureError` naming any parameter out of range. */
export function sign(input: SignInput, secretKey: string, now: Date = new Date()): string {
  if (typeof secretKey !== 'string' || secretKey.length === 0) throw invalid('secretKey', 'must be a non-empty string');
  const { validitySeconds, ...rest } = input;
  if (input.expireTime !== undefined && validitySeconds !== undefined) {
    throw invalid('validitySeconds', 'give either expireTime or validitySeconds, not both');
  }
  if (validitySeconds !== undefined) checkInteger('validitySeconds', validitySeconds, 1, MAX_VALIDITY_SECONDS);
  const currentTimeStamp = input.currentTimeStamp ?? Math.floor(now.getTime() / 1000);
  const params: UploadSignatureParams = {
    ...rest,
    currentTimeStamp,
    expireTime: input.expireTime ?? currentTimeStamp + (validitySeconds ?? 3600),
    random: newRandom(),
  };
  for (const name of ['taskPriority', 'taskNotifyMode', 'sessionContext'] as const) {
    if (params[name] !== undefined && params.procedure === undefined) {
      throw invalid(name, 'only applies together with procedure');
    }
  }
  validateParams(params);
  const original = encodeOriginal(params);
  return Buffer.concat([mac(original, secretKey), Buffer.from(original, 'utf8')]).toString('base64');
}

interface DecodedSignature {
  params: UploadSignatureParams;
  /** The plaintext exactly as signed. */
  original: string;
  mac: Buffer;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeComponent(raw: string): string {
  try {
    // '+' is a space in form encoding (PHP's http_build_query); our encoder always writes %2B.
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new UploadSignatureError('MalformedSignature', 'The signature contains an invalid URL escape');
  }
}

/**
 * Splits a signature into MAC and plaintext and parses the parameters (without checking the MAC).
 * Unknown parameters are ignored, and an optional one given as `name=` is absent, as VOD does; a
 * missing required one or one out of range throws. `sign` never writes an empty value.
 */
export function decode(signature: string): DecodedSignature {
  if (typeof signature !== 'string' || signature.length === 0 || signature.length % 4 !== 0 || !BASE64.test(signature)) {
    throw new UploadSignatureError('MalformedSignature', 'The signature is not standard Base64');
  }
  const bytes = Buffer.from(signature, 'base64');
  if (bytes.length <= MAC_LENGTH) throw new UploadSignatureError('MalformedSignature', 'The signature is too short');
  const original = bytes.subarray(MAC_LENGTH).toString('utf8');
  if (Buffer.compare(Buffer.from(original, 'utf8'), bytes.subarray(MAC_LENGTH)) !== 0) {
    throw new UploadSignatureError('MalformedSignature', 'The signature plaintext is not valid UTF-8');
  }
  const fields: Record<string, string> = {};
  for (const pair of original.split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UploadSignatureError('MalformedSignature', 'The signature plaintext is not a query string');
    const name = decodeComponent(pair.slice(0, eq));
    if (Object.hasOwn(fields, name)) throw new UploadSignatureError('MalformedSignature', `${name} appears twice`);
    fields[name] = decodeComponent(pair.slice(eq + 1));
  }
  const params: Record<string, string | number> = {};
  for (const name of PARAMETER_ORDER) {
    const value = fields[name];
    // An optional parameter with an empty value is absent: Tencent's own Node sample signs
    // `procedure=&sourceContext=`, and VOD accepts it (docs/vod-protocol/upload-signature.md).
    if (value === undefined || (value === '' && !REQUIRED_PARAMETERS.includes(name))) continue;
    if (INTEGER_PARAMETERS.has(name)) {
      if (!/^-?\d{1,15}$/.test(value)) throw invalid(name, 'must be an integer');
      params[name] = Number(value);
    } else {
      params[name] = value;
    }
  }
  for (const name of REQUIRED_PARAMETERS) {
    if (params[name] === undefined) throw invalid(name, 'is required');
  }
  const typed = params as unknown as UploadSignatureParams;
  validateParams(typed);
  return { params: typed, original, mac: bytes.subarray(0, MAC_LENGTH) };
}

/**
 * Decodes, then checks the MAC with the key of `secretId` and the expiry. `secretKey` may be a lookup
 * (an emulator serving several keys). Returns the parameters of a valid signature.
 */
export function verify(
  signature: string,
  secretKey: string | ((secretId: string) => string | undefined),
  now: Date = new Date(),
): UploadSignatureParams {
  const decoded = decode(signature);
  const key = typeof secretKey === 'function' ? secretKey(decoded.params.secretId) : secretKey;
  if (!key) throw new UploadSignatureError('UnknownSecretId', 'The signature names an unknown secretId', 'secretId');
  const expected = mac(decoded.original, key);
  if (!timingSafeEqual(expected, decoded.mac)) {
    throw new UploadSignatureError('SignatureMismatch', 'The signature does not match its parameters');
  }
  if (decoded.params.expireTime <= Math.floor(now.getTime() / 1000)) {
    throw new UploadSignatureError('SignatureExpired', 'The signature has expired', 'expireTime');
  }
  return decoded.params;
}
