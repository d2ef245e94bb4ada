/** COS objects: PUT, GET/HEAD with Range (also behind the public media URLs), DELETE, and the bucket listing. */
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorContext } from '../context.ts';
import { toXml } from './xml.ts';
import { objectIndexKey } from '../state.ts';
import type { ObjectMeta } from '../state.ts';
import { baseHeaders, contentMd5Matches, CosError, encoderFor, header, iso, sendEmpty, sendXml } from './messages.ts';
import type { Target } from './messages.ts';

/** COS's largest single PUT (from the SDK constants and COS docs; the emulator enforces it). */
const MAX_PUT_SIZE = 5 * 1024 ** 3;

export async function putObject(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, t: Target): Promise<void> {
  if (header(req, 'x-cos-copy-source'))
    throw new CosError(501, 'NotImplemented', 'PUT Object - Copy is not supported by the emulator.');
  const declared = Number(header(req, 'content-length') ?? NaN);
  if (declared > MAX_PUT_SIZE)
    throw new CosError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size (5 GB).');
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
  await ctx.store.commit((doc) => {
    doc.objects[objectIndexKey(t.bucket, t.key)] = objectMeta(
      ctx,
      t,
      written,
      etag,
      header(req, 'content-type') ?? 'application/octet-stream',
      target,
    );
  });
  sendEmpty(ctx, req, res, 200, { etag });
}

/** The index entry of an object that has just been written to `file`. */
export function objectMeta(
  ctx: EmulatorContext,
  t: Target,
  written: { size: number; md5: Buffer },
  etag: string,
  contentType: string,
  file: string,
): ObjectMeta {
  return {
    bucket: t.bucket,
    key: t.key,
    size: written.size,
    etag,
    md5: written.md5.toString('hex'),
    contentType,
    lastModified: ctx.now(),
    file,
  };
}

export function listObjects(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  t: Target,
  q: Map<string, string>,
): void {
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
        Contents: page.map((o) => ({
          Key: enc(o.key),
          LastModified: iso(o.lastModified),
          ETag: o.etag,
          Size: o.size,
          StorageClass: 'STANDARD',
        })),
      },
    }),
  );
}

export function deleteObject(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, t: Target): void {
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
function parseRange(value: string | undefined, size: number): { start: number; end: number } | undefined | 'invalid' {
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
export function sendObject(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  meta: ObjectMeta,
  extra: Record<string, string> = {},
): void {
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

export function serveObject(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, bucket: string, key: string): void {
  const meta = ctx.store.doc.objects[objectIndexKey(bucket, key)];
  if (!meta) throw new CosError(404, 'NoSuchKey', 'The specified key does not exist.');
  sendObject(ctx, req, res, meta);
}
