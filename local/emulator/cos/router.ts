/**
 * COS XML object API for the buckets VOD hands out: PUT object, multipart upload (initiate, list
 * uploads, upload part, list parts, complete, abort), HEAD/GET with Range, DELETE. Requests are
 * authenticated with the `q-sign-algorithm=sha1` signature and, for VOD's temporary credentials,
 * `x-cos-security-token`; errors are COS's XML `<Error>` documents. Here: the bucket check and the
 * route to objects.ts or multipart.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fullBucketName } from '../context.ts';
import type { EmulatorContext } from '../context.ts';
import { preflight } from '../http-front.ts';
import { authenticate } from './authenticate.ts';
import { CosError, sendCosError, sendEmpty } from './messages.ts';
import type { CosTarget } from './messages.ts';
import {
  abortMultipart,
  completeMultipart,
  initiateMultipart,
  listMultipartUploads,
  listParts,
  uploadPart,
} from './multipart.ts';
import { deleteObject, listObjects, putObject, serveObject } from './objects.ts';
import { parseQuery } from './signature.ts';

/** Every bucket the emulator serves, with its region. */
function knownBuckets(ctx: EmulatorContext): Map<string, string> {
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

export async function handleCos(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  target: CosTarget,
): Promise<void> {
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
    if (method === 'POST' && q.has('uploads')) return await initiateMultipart(ctx, req, res, t);
    if (method === 'POST' && q.has('uploadId')) return await completeMultipart(ctx, req, res, t, q.get('uploadId')!);
    if (method === 'PUT' && q.has('uploadId')) return await uploadPart(ctx, req, res, t, q);
    if (method === 'GET' && q.has('uploadId')) return listParts(ctx, req, res, t, q);
    if (method === 'DELETE' && q.has('uploadId')) return await abortMultipart(ctx, req, res, t, q.get('uploadId')!);
    if (method === 'PUT') return await putObject(ctx, req, res, t);
    if (method === 'GET' || method === 'HEAD') return serveObject(ctx, req, res, bucket, t.key);
    if (method === 'DELETE') return deleteObject(ctx, req, res, t);
    throw new CosError(405, 'MethodNotAllowed', `${method} is not supported.`);
  } catch (error) {
    if (error instanceof CosError) return sendCosError(ctx, req, res, error, target);
    throw error;
  }
}
