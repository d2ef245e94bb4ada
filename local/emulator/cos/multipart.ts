/** COS multipart upload: initiate, list uploads, upload part, list parts, complete, abort. */
import { randomBytes, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorContext } from '../context.ts';
import { readBody } from '../http-front.ts';
import { toXml, xmlUnescape } from './xml.ts';
import { unixSeconds } from '../times.ts';
import type { MultipartUpload } from '../state.ts';
import { objectIndexKey } from '../state.ts';
import { contentMd5Matches, CosError, header, iso, encoderFor, sendEmpty, sendXml } from './messages.ts';
import type { Target } from './messages.ts';
import { objectMeta } from './objects.ts';
import { assembleParts, isCompleting, receivePart } from './part-files.ts';
import { advanceWholeMd5, dropWholeMd5, wholeMd5 } from './whole-md5.ts';

/** COS limits (from the SDK constants and COS docs; the emulator enforces them). */
const MIN_PART_SIZE = 1024 * 1024;
const MAX_PART_SIZE = 5 * 1024 ** 3;
const MAX_PART_NUMBER = 10_000;

/** The owner and initiator COS names in multipart listings: the storage account itself. */
function bucketOwner(ctx: EmulatorContext) {
  const uin = ctx.options.storageAppId;
  return { ID: `qcs::cam::uin/${uin}:uin/${uin}`, DisplayName: String(uin) };
}
export async function initiateMultipart(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  t: Target,
): Promise<void> {
  const uploadId = `${unixSeconds(ctx.now())}${randomBytes(28).toString('hex')}`;
  await ctx.store.commit((doc) => {
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

export async function uploadPart(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  t: Target,
  q: Map<string, string>,
): Promise<void> {
  const upload = findUpload(ctx, t, q.get('uploadId')!);
  const partNumber = Number(q.get('partNumber'));
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw new CosError(400, 'InvalidArgument', `partNumber must be an integer between 1 and ${MAX_PART_NUMBER}.`);
  }
  if (header(req, 'x-cos-copy-source'))
    throw new CosError(501, 'NotImplemented', 'Upload Part - Copy is not supported by the emulator.');
  const received = await receivePart(ctx, upload, partNumber, req, MAX_PART_SIZE);
  let keep = false;
  try {
    if (!contentMd5Matches(req, received.md5)) {
      throw new CosError(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    if (!ctx.store.doc.multipart[upload.uploadId]) {
      throw new CosError(404, 'NoSuchUpload', 'The multipart upload was aborted or completed while the part was uploading.');
    }
    keep = true;
  } finally {
    received.settle(keep);
  }
  const etag = `"${received.md5.toString('hex')}"`;
  // Parts arrive in parallel: their records share writes, and none blocks the event loop.
  const stored = ctx.store.commit(() => {
    upload.parts[String(partNumber)] = { size: received.size, etag, lastModified: ctx.now() };
  });
  advanceWholeMd5(ctx, upload);
  await stored;
  sendEmpty(ctx, req, res, 200, { etag });
}

export function listParts(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  t: Target,
  q: Map<string, string>,
): void {
  const upload = findUpload(ctx, t, q.get('uploadId')!);
  const marker = Number(q.get('part-number-marker') ?? 0) || 0;
  const maxParts = Math.min(Number(q.get('max-parts') ?? 1000) || 1000, 1000);
  const numbers = Object.keys(upload.parts)
    .map(Number)
    .sort((a, b) => a - b)
    .filter((n) => n > marker);
  const page = numbers.slice(0, maxParts);
  const truncated = numbers.length > page.length;
  const owner = bucketOwner(ctx);
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

export function listMultipartUploads(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  t: Target,
  q: Map<string, string>,
): void {
  const prefix = q.get('prefix') ?? '';
  const uploads = Object.values(ctx.store.doc.multipart)
    .filter((u) => u.bucket === t.bucket && u.key.startsWith(prefix))
    .sort((a, b) => (a.key === b.key ? a.initiated - b.initiated : a.key < b.key ? -1 : 1));
  const owner = bucketOwner(ctx);
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
  if (!/<CompleteMultipartUpload[\s>]/.test(xml))
    throw new CosError(400, 'MalformedXML', 'The XML you provided was not well-formed.');
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

export async function completeMultipart(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  t: Target,
  uploadId: string,
): Promise<void> {
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
      throw new CosError(
        400,
        'EntityTooSmall',
        `Part ${partNumber} is smaller than the 1 MB minimum (only the last part may be).`,
      );
    }
  });
  if (isCompleting(uploadId)) {
    throw new CosError(409, 'OperationAborted', 'This multipart upload is already being completed by another request.');
  }
  const target = ctx.files.objectPath(t.bucket, t.key);
  const numbers = listed.map(({ partNumber }) => partNumber);
  const etags = numbers.map((n) => upload.parts[String(n)]!.etag);
  const written = await assembleParts(ctx, upload, numbers, target, () => wholeMd5(uploadId, etags));
  const combined = createHash('md5');
  for (const { partNumber } of listed) combined.update(Buffer.from(bareEtag(upload.parts[String(partNumber)]!.etag), 'hex'));
  const etag = `"${combined.digest('hex')}-${listed.length}"`;
  // The object is durable before Complete answers, and before its parts' files go.
  await ctx.store.commit((doc) => {
    doc.objects[objectIndexKey(t.bucket, t.key)] = objectMeta(ctx, t, written, etag, upload.contentType, target);
    delete doc.multipart[uploadId];
  });
  ctx.files.removeUpload(uploadId);
  dropWholeMd5(uploadId);
  sendXml(
    ctx,
    req,
    res,
    200,
    toXml({ CompleteMultipartUploadResult: { Location: `${t.host}/${t.key}`, Bucket: t.bucket, Key: t.key, ETag: etag } }),
  );
}

export async function abortMultipart(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  t: Target,
  uploadId: string,
): Promise<void> {
  findUpload(ctx, t, uploadId);
  await ctx.store.commit((doc) => {
    delete doc.multipart[uploadId];
  });
  ctx.files.removeUpload(uploadId);
  dropWholeMd5(uploadId);
  sendEmpty(ctx, req, res, 204);
}
