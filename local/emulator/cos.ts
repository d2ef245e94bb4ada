/**
 * COS XML object API for the buckets VOD hands out: PUT object, multipart upload (initiate, list
 * uploads, upload part, list parts, complete, abort), HEAD/GET with Range, DELETE. Requests are
 * authenticated with the `q-sign-algorithm=sha1` signature and, for VOD's temporary credentials,
 * `x-cos-security-token`; errors are COS's XML `<Error>` documents.
 */
import { randomBytes, createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { computeCosSignature, parseCosAuthorization, parseKeyTime, parseQuery, signaturesEqual } from './cos-auth.ts';
import { fullBucketName } from './context.ts';
import type { EmulatorContext } from './context.ts';
import { corsHeaders, newRequestId, preflight, readBody, toXml, unixSeconds, xmlUnescape } from './http-util.ts';
import { objectIndexKey } from './state.ts';
import type { MultipartUpload, ObjectMeta, TempCredential } from './state.ts';

/** COS limits (from the SDK constants and COS docs; the emulator enforces them). */
export const MIN_PART_SIZE = 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 ** 3;
export const MAX_PART_NUMBER = 10_000;
export const MAX_PUT_SIZE = 5 * 1024 ** 3;

export class CosError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface CosTarget {
  /** `<bucket>-<appid>`; undefined in the bare `Domain: host:port` form until the credential names it. */
  bucket: string | undefined;
  region: string | undefined;
  /** Decoded object key without the leading "/" ("" for bucket-level requests). */
  key: string;
  rawQuery: string;
  /** Host shown in `Location` / `Resource`. */
  host: string;
}

/** Every bucket the emulator serves, with its region. */
export function knownBuckets(ctx: EmulatorContext): Map<string, string> {
  const buckets = new Map<string, string>();
  const apps = [ctx.options.appId, ...ctx.options.subAppIds];
  for (const appId of apps) {
    for (const region of ctx.options.storageRegions) buckets.set(fullBucketName(ctx, appId, region), region);
  }
  return buckets;
}

const VIRTUAL_HOST = /^([a-z0-9-]+-\d+)\.cos\.([a-z0-9-]+)\.(?:myqcloud\.com|tencentcos\.cn)$/;

/** Parses `<bucket>-<appid>.cos.<region>.myqcloud.com` (port stripped), else undefined. */
export function parseVirtualHost(host: string): { bucket: string; region: string } | undefined {
  const m = VIRTUAL_HOST.exec(host.replace(/:\d+$/, '').toLowerCase());
  return m ? { bucket: m[1]!, region: m[2]! } : undefined;
}

function sendCosError(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, error: CosError, target: CosTarget): void {
  const requestId = newRequestId();
  const body = toXml({
    Error: {
      Code: error.code,
      Message: error.message,
      Resource: `${target.host}/${target.key}`,
      RequestId: requestId,
      TraceId: Buffer.from(requestId).toString('base64'),
    },
  });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(error.status, {
    ...corsHeaders(req),
    'content-type': 'application/xml',
    'content-length': String(req.method === 'HEAD' ? 0 : Buffer.byteLength(body)),
    'x-cos-request-id': requestId,
    date: new Date(ctx.now()).toUTCString(),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

interface Authenticated {
  temp?: TempCredential;
  bucket: string;
}

/** Verifies the request signature; returns the credential and the bucket it is for. */
function authenticate(ctx: EmulatorContext, req: IncomingMessage, target: CosTarget, query: [string, string][]): Authenticated {
  let authString = header(req, 'authorization');
  let token = header(req, 'x-cos-security-token');
  if (!authString) {
    // Pre-signed URL: the same fields as query parameters.
    const q = new Map(query);
    if (q.has('q-sign-algorithm')) {
      authString = query
        .filter(([name]) => name.startsWith('q-'))
        .map(([n, v]) => `${n}=${v}`)
        .join('&');
      token ??= q.get('x-cos-security-token');
    }
  }
  if (!authString) throw new CosError(403, 'AccessDenied', 'Access Denied. The request carries no Authorization.');
  const auth = parseCosAuthorization(authString);
  if (!auth) throw new CosError(403, 'AccessDenied', 'The Authorization header is not a valid COS signature.');
  if (auth.algorithm !== 'sha1') throw new CosError(400, 'InvalidArgument', `q-sign-algorithm ${auth.algorithm} is not supported; use sha1.`);

  const nowSeconds = unixSeconds(ctx.now());
  const temp = ctx.store.doc.tempCredentials[auth.ak];
  const permanent = ctx.options.credentials.find((c) => c.secretId === auth.ak && !c.token);
  if (!temp && !permanent) throw new CosError(403, 'InvalidAccessKeyId', 'The access key Id you provided does not exist in our records.');
  if (temp) {
    if (token !== temp.token) {
      throw new CosError(403, 'InvalidAccessKeyId', 'The x-cos-security-token is missing or does not belong to this temporary credential.');
    }
    if (nowSeconds >= temp.expiredTime) throw new CosError(403, 'AccessDenied', 'The temporary credential has expired.');
  }
  const signTime = parseKeyTime(auth.signTime);
  if (!signTime || !parseKeyTime(auth.keyTime)) throw new CosError(403, 'AccessDenied', 'q-sign-time / q-key-time must be "<start>;<end>".');
  if (nowSeconds > signTime.end) throw new CosError(403, 'AccessDenied', 'Request has expired');
  if (nowSeconds < signTime.start - 900) throw new CosError(403, 'RequestTimeTooSkewed', 'The difference between the request time and the server time is too large.');

  const secretKey = temp ? temp.secretKey : permanent!.secretKey;
  const expected = computeCosSignature(
    auth,
    { method: req.method ?? 'GET', pathname: `/${target.key}`, query, headers: req.headers },
    secretKey,
  );
  if (!signaturesEqual(expected, auth.signature)) {
    throw new CosError(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  }

  const bucket = target.bucket ?? temp?.bucket;
  if (!bucket) throw new CosError(400, 'InvalidURI', 'The request does not name a bucket (use the bucket host name or the /cos/<bucket>/<region>/ prefix).');
  if (temp) {
    const allowed = temp.bucket === bucket && (target.key === '' || temp.keys.includes(target.key));
    if (!allowed) throw new CosError(403, 'AccessDenied', 'Access Denied. The temporary credential does not cover this bucket or key.');
  }
  return { temp, bucket };
}

function contentMd5Matches(req: IncomingMessage, md5: Buffer): boolean {
  const given = header(req, 'content-md5');
  return given === undefined || given === md5.toString('base64');
}

function baseHeaders(ctx: EmulatorContext, req: IncomingMessage): Record<string, string> {
  return {
    ...corsHeaders(req),
    'x-cos-request-id': newRequestId(),
    date: new Date(ctx.now()).toUTCString(),
    server: 'tencent-cos',
  };
}

function sendXml(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { ...baseHeaders(ctx, req), 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(xml)) });
  res.end(xml);
}

function sendEmpty(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...baseHeaders(ctx, req), 'content-length': '0', ...headers });
  res.end();
}

const iso = (ms: number) => new Date(ms).toISOString();

/** `encoding-type=url` asks for URL-encoded keys and prefixes in list results. */
const encoderFor = (q: Map<string, string>) => (value: string) => (q.get('encoding-type') === 'url' ? encodeURIComponent(value) : value);

export async function handleCos(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, target: CosTarget): Promise<void> {
  if (req.method === 'OPTIONS') {
    preflight(req, res);
    return;
  }
  const query = parseQuery(target.rawQuery);
  const q = new Map(query);
  try {
    const { bucket } = authenticate(ctx, req, target, query);
    const buckets = knownBuckets(ctx);
    const bucketRegion = buckets.get(bucket);
    if (!bucketRegion || (target.region && target.region !== bucketRegion)) {
      throw new CosError(404, 'NoSuchBucket', 'The specified bucket does not exist.');
    }
    const t = { ...target, bucket };
    const method = req.method ?? 'GET';
    if (t.key === '') {
      if (method === 'GET' && q.has('uploads')) return listMultipartUploads(ctx, req, res, t, q);
      if (method === 'GET') return listObjects(ctx, req, res, t, q);
      if (method === 'HEAD') return sendEmpty(ctx, req, res, 200);
      throw new CosError(405, 'MethodNotAllowed', `${method} on a bucket is not supported by the emulator.`);
    }
    if (method === 'POST' && q.has('uploads')) return initiateMultipart(ctx, req, res, t);
    if (method === 'POST' && q.has('uploadId')) return await completeMultipart(ctx, req, res, t, q.get('uploadId')!);
    if (method === 'PUT' && q.has('uploadId')) return await uploadPart(ctx, req, res, t, q);
    if (method === 'GET' && q.has('uploadId')) return listParts(ctx, req, res, t, q);
    if (method === 'DELETE' && q.has('uploadId')) return abortMultipart(ctx, req, res, t, q.get('uploadId')!);
    if (method === 'PUT') return await putObject(ctx, req, res, t);
    if (method === 'GET' || method === 'HEAD') return serveObject(ctx, req, res, bucket, t.key);
    if (method === 'DELETE') return deleteObject(ctx, req, res, t);
    throw new CosError(405, 'MethodNotAllowed', `${method} is not supported.`);
  } catch (error) {
    if (error instanceof CosError) return sendCosError(ctx, req, res, error, target);
    throw error;
  }
}

type Target = CosTarget & { bucket: string };

async function putObject(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, t: Target): Promise<void> {
  if (header(req, 'x-cos-copy-source')) throw new CosError(501, 'NotImplemented', 'PUT Object - Copy is not supported by the emulator.');
  const declared = Number(header(req, 'content-length') ?? NaN);
  if (declared > MAX_PUT_SIZE) throw new CosError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size (5 GB).');
  const target = ctx.files.objectPath(t.bucket, t.key);
  // Write beside the live object, then swap, so a failed upload keeps the old one.
  const staging = ctx.files.tempPath();
  const written = await ctx.files.writeStream(req, staging, MAX_PUT_SIZE);
  if (!contentMd5Matches(req, written.md5)) {
    ctx.files.remove(staging);
    throw new CosError(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.renameSync(staging, target);
  const etag = `"${written.md5.toString('hex')}"`;
  ctx.store.update((doc) => {
    doc.objects[objectIndexKey(t.bucket, t.key)] = objectMeta(ctx, t, written, etag, header(req, 'content-type') ?? 'application/octet-stream', target);
  });
  sendEmpty(ctx, req, res, 200, { etag });
}

/** The index entry of an object that has just been written to `file`. */
function objectMeta(ctx: EmulatorContext, t: Target, written: { size: number; md5: Buffer }, etag: string, contentType: string, file: string): ObjectMeta {
  return { bucket: t.bucket, key: t.key, size: written.size, etag, md5: written.md5.toString('hex'), contentType, lastModified: ctx.now(), file };
}

function initiateMultipart(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, t: Target): void {
  const uploadId = `${unixSeconds(ctx.now())}${randomBytes(28).toString('hex')}`;
  ctx.store.update((doc) => {
    doc.multipart[uploadId] = {
      uploadId,
      bucket: t.bucket,
      key: t.key,
      initiated: ctx.now(),
      contentType: header(req, 'content-type') || 'application/octet-stream',
      storageClass: header(req, 'x-cos-storage-class') || 'STANDARD',
      parts: {},
    };
  });
  sendXml(ctx, req, res, 200, toXml({ InitiateMultipartUploadResult: { Bucket: t.bucket, Key: t.key, UploadId: uploadId } }));
}

function findUpload(ctx: EmulatorContext, t: Target, uploadId: string): MultipartUpload {
  const upload = ctx.store.doc.multipart[uploadId];
  if (!upload || upload.bucket !== t.bucket || upload.key !== t.key) {
    throw new CosError(404, 'NoSuchUpload', 'The specified multipart upload does not exist.');
  }
  return upload;
}

async function uploadPart(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, t: Target, q: Map<string, string>): Promise<void> {
  const upload = findUpload(ctx, t, q.get('uploadId')!);
  const partNumber = Number(q.get('partNumber'));
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw new CosError(400, 'InvalidArgument', `partNumber must be an integer between 1 and ${MAX_PART_NUMBER}.`);
  }
  if (header(req, 'x-cos-copy-source')) throw new CosError(501, 'NotImplemented', 'Upload Part - Copy is not supported by the emulator.');
  const written = await ctx.files.writeStream(req, ctx.files.tempPath(), MAX_PART_SIZE);
  if (!contentMd5Matches(req, written.md5)) {
    ctx.files.remove(written.file);
    throw new CosError(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  if (!ctx.store.doc.multipart[upload.uploadId]) {
    ctx.files.remove(written.file);
    throw new CosError(404, 'NoSuchUpload', 'The multipart upload was aborted or completed while the part was uploading.');
  }
  const partFile = ctx.files.partPath(upload.uploadId, partNumber);
  fs.mkdirSync(path.dirname(partFile), { recursive: true });
  fs.renameSync(written.file, partFile);
  const etag = `"${written.md5.toString('hex')}"`;
  ctx.store.update(() => {
    upload.parts[String(partNumber)] = { size: written.size, etag, lastModified: ctx.now() };
  });
  sendEmpty(ctx, req, res, 200, { etag });
}

function listParts(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, t: Target, q: Map<string, string>): void {
  const upload = findUpload(ctx, t, q.get('uploadId')!);
  const marker = Number(q.get('part-number-marker') ?? 0) || 0;
  const maxParts = Math.min(Number(q.get('max-parts') ?? 1000) || 1000, 1000);
  const numbers = Object.keys(upload.parts).map(Number).sort((a, b) => a - b).filter((n) => n > marker);
  const page = numbers.slice(0, maxParts);
  const truncated = numbers.length > page.length;
  const owner = { ID: `qcs::cam::uin/${ctx.options.storageAppId}:uin/${ctx.options.storageAppId}`, DisplayName: String(ctx.options.storageAppId) };
  const enc = encoderFor(q);
  sendXml(
    ctx,
    req,
    res,
    200,
    toXml({
      ListPartsResult: {
        Bucket: t.bucket,
        'Encoding-type': q.get('encoding-type'),
        Key: enc(t.key),
        UploadId: upload.uploadId,
        Initiator: owner,
        Owner: owner,
        StorageClass: upload.storageClass,
        PartNumberMarker: marker,
        NextPartNumberMarker: page.length ? page[page.length - 1] : marker,
        MaxParts: maxParts,
        IsTruncated: truncated,
        Part: page.map((n) => {
          const part = upload.parts[String(n)]!;
          return { PartNumber: n, LastModified: iso(part.lastModified), ETag: part.etag, Size: part.size };
        }),
      },
    }),
  );
}

function listMultipartUploads(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, t: Target, q: Map<string, string>): void {
  const prefix = q.get('prefix') ?? '';
  const uploads = Object.values(ctx.store.doc.multipart)
    .filter((u) => u.bucket === t.bucket && u.key.startsWith(prefix))
    .sort((a, b) => (a.key === b.key ? a.initiated - b.initiated : a.key < b.key ? -1 : 1));
  const owner = { ID: `qcs::cam::uin/${ctx.options.storageAppId}:uin/${ctx.options.storageAppId}`, DisplayName: String(ctx.options.storageAppId) };
  const enc = encoderFor(q);
  sendXml(
    ctx,
    req,
    res,
    200,
    toXml({
      ListMultipartUploadsResult: {
        Bucket: t.bucket,
        'Encoding-Type': q.get('encoding-type'),
        KeyMarker: '',
        UploadIdMarker: '',
        NextKeyMarker: '',
        NextUploadIdMarker: '',
        MaxUploads: 1000,
        IsTruncated: false,
        Prefix: enc(prefix),
        Upload: uploads.map((u) => ({
          Key: enc(u.key),
          UploadId: u.uploadId,
          StorageClass: u.storageClass,
          Initiator: owner,
          Owner: owner,
          Initiated: iso(u.initiated),
        })),
      },
    }),
  );
}

function parseCompleteBody(xml: string): { partNumber: number; etag: string }[] {
  if (!/<CompleteMultipartUpload[\s>]/.test(xml)) throw new CosError(400, 'MalformedXML', 'The XML you provided was not well-formed.');
  const parts: { partNumber: number; etag: string }[] = [];
  for (const m of xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
    const number = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(m[1]!);
    const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(m[1]!);
    if (!number || !etag) throw new CosError(400, 'MalformedXML', 'Every <Part> needs a <PartNumber> and an <ETag>.');
    parts.push({ partNumber: Number(number[1]), etag: xmlUnescape(etag[1]!.trim()) });
  }
  if (parts.length === 0) throw new CosError(400, 'MalformedXML', 'The CompleteMultipartUpload document lists no parts.');
  return parts;
}

const bareEtag = (etag: string) => etag.replace(/^"|"$/g, '').toLowerCase();

async function completeMultipart(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, t: Target, uploadId: string): Promise<void> {
  const upload = findUpload(ctx, t, uploadId);
  const body = await readBody(req, 4 << 20);
  if (!contentMd5Matches(req, createHash('md5').update(body).digest())) {
    throw new CosError(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  const listed = parseCompleteBody(body.toString('utf8'));
  let previous = 0;
  for (const { partNumber } of listed) {
    if (partNumber <= previous) throw new CosError(400, 'InvalidPartOrder', 'The list of parts was not in ascending order.');
    previous = partNumber;
  }
  for (const { partNumber, etag } of listed) {
    const stored = upload.parts[String(partNumber)];
    if (!stored || bareEtag(stored.etag) !== bareEtag(etag)) {
      throw new CosError(400, 'InvalidPart', `Part ${partNumber} could not be found or its ETag does not match.`);
    }
  }
  listed.forEach(({ partNumber }, index) => {
    const stored = upload.parts[String(partNumber)]!;
    if (index < listed.length - 1 && stored.size < MIN_PART_SIZE) {
      throw new CosError(400, 'EntityTooSmall', `Part ${partNumber} is smaller than the 1 MB minimum (only the last part may be).`);
    }
  });
  const target = ctx.files.objectPath(t.bucket, t.key);
  const written = await ctx.files.concat(
    listed.map(({ partNumber }) => ctx.files.partPath(uploadId, partNumber)),
    target,
  );
  const combined = createHash('md5');
  for (const { partNumber } of listed) combined.update(Buffer.from(bareEtag(upload.parts[String(partNumber)]!.etag), 'hex'));
  const etag = `"${combined.digest('hex')}-${listed.length}"`;
  ctx.store.update((doc) => {
    doc.objects[objectIndexKey(t.bucket, t.key)] = objectMeta(ctx, t, written, etag, upload.contentType, target);
    delete doc.multipart[uploadId];
  });
  ctx.files.removeUpload(uploadId);
  sendXml(
    ctx,
    req,
    res,
    200,
    toXml({ CompleteMultipartUploadResult: { Location: `${t.host}/${t.key}`, Bucket: t.bucket, Key: t.key, ETag: etag } }),
  );
}

function abortMultipart(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, t: Target, uploadId: string): void {
  findUpload(ctx, t, uploadId);
  ctx.store.update((doc) => {
    delete doc.multipart[uploadId];
  });
  ctx.files.removeUpload(uploadId);
  sendEmpty(ctx, req, res, 204);
}

function listObjects(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, t: Target, q: Map<string, string>): void {
  const prefix = q.get('prefix') ?? '';
  const maxKeys = Math.min(Number(q.get('max-keys') ?? 1000) || 1000, 1000);
  const all = Object.values(ctx.store.doc.objects)
    .filter((o) => o.bucket === t.bucket && o.key.startsWith(prefix))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
  const page = all.slice(0, maxKeys);
  const enc = encoderFor(q);
  sendXml(
    ctx,
    req,
    res,
    200,
    toXml({
      ListBucketResult: {
        Name: t.bucket,
        EncodingType: q.get('encoding-type'),
        Prefix: enc(prefix),
        Marker: '',
        MaxKeys: maxKeys,
        IsTruncated: all.length > page.length,
        Contents: page.map((o) => ({ Key: enc(o.key), LastModified: iso(o.lastModified), ETag: o.etag, Size: o.size, StorageClass: 'STANDARD' })),
      },
    }),
  );
}

function deleteObject(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, t: Target): void {
  const meta = ctx.store.doc.objects[objectIndexKey(t.bucket, t.key)];
  if (meta) {
    ctx.store.update((doc) => {
      delete doc.objects[objectIndexKey(t.bucket, t.key)];
    });
    ctx.files.remove(meta.file);
  }
  sendEmpty(ctx, req, res, 204);
}

/** Parses one `bytes=` range against `size`; undefined = whole object; 'invalid' = 416. */
export function parseRange(value: string | undefined, size: number): { start: number; end: number } | undefined | 'invalid' {
  if (!value) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // unsupported forms (multi-range) → whole object, as S3/COS do
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'invalid';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) return 'invalid';
  return { start, end };
}

/** GET/HEAD of a stored object with Range support; used by COS and by the public media URLs. */
export function sendObject(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, meta: ObjectMeta, extra: Record<string, string> = {}): void {
  const range = parseRange(header(req, 'range'), meta.size);
  const common = {
    ...baseHeaders(ctx, req),
    etag: meta.etag,
    'last-modified': new Date(meta.lastModified).toUTCString(),
    'accept-ranges': 'bytes',
    'content-type': meta.contentType,
    ...extra,
  };
  if (range === 'invalid') {
    throw new CosError(416, 'InvalidRange', 'The requested range is not satisfiable.');
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? meta.size - 1;
  const length = meta.size === 0 ? 0 : end - start + 1;
  res.writeHead(range ? 206 : 200, {
    ...common,
    'content-length': String(length),
    ...(range ? { 'content-range': `bytes ${start}-${end}/${meta.size}` } : {}),
  });
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  const stream = fs.createReadStream(meta.file, { start, end });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

function serveObject(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, bucket: string, key: string): void {
  const meta = ctx.store.doc.objects[objectIndexKey(bucket, key)];
  if (!meta) throw new CosError(404, 'NoSuchKey', 'The specified key does not exist.');
  sendObject(ctx, req, res, meta);
}
