/**
 * The UGC client-upload API (`POST /v3/index.php?Action=ApplyUploadUGC|CommitUploadUGC|PrepareUploadUGC`,
 * docs/vod-protocol/ugc-upload.md §2) as vod-js-sdk-v6 and the mobile SDKs call it: JSON in, `{ code, message, data }` out,
 * always HTTP 200. The client-upload signature is verified with `verify()` from `#lib/upload-signature-codec`.
 */
import { createHash, createHmac, randomInt } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verify, UploadSignatureError } from '#lib/upload-signature-codec';
import type { UploadSignatureParams } from '#lib/upload-signature-codec';
import { mediaUrl, regionAbbreviation, shortBucketName } from './context.ts';
import type { EmulatorContext } from './context.ts';
import { BodyTooLargeError, readBody, sendJson } from './http-front.ts';
import { unixSeconds } from './times.ts';
import { applyUpload, commitUpload, findSession, resumeUpload, UploadError, verifyContent } from './uploads.ts';
import type { TempCredential, UploadSession } from './state.ts';
import { UGC_ACTIONS, UGC_CODES } from '#contract';

class UgcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function fromUploadError(error: UploadError): UgcError {
  switch (error.kind) {
    case 'InvalidParameter':
      return new UgcError(UGC_CODES.InvalidParameter, error.message);
    case 'SessionNotFound':
      return new UgcError(UGC_CODES.SessionInvalid, error.message);
    case 'FileNotFound':
      return new UgcError(UGC_CODES.FileNotFound, error.message);
    case 'ObjectMissing':
    case 'SizeMismatch':
      return new UgcError(UGC_CODES.UploadIncomplete, error.message);
  }
}

interface VerifiedSignature {
  params: UploadSignatureParams;
  appId: number;
  subAppId?: number;
}

function verifySignature(ctx: EmulatorContext, signature: unknown, consumeOneTime: boolean): VerifiedSignature {
  if (typeof signature !== 'string' || signature.length === 0)
    throw new UgcError(UGC_CODES.SignatureInvalid, 'signature is required');
  let params: UploadSignatureParams;
  try {
    params = verify(signature, (id) => ctx.options.credentials.find((c) => c.secretId === id)?.secretKey, new Date(ctx.now()));
  } catch (error) {
    if (!(error instanceof UploadSignatureError)) throw error;
    if (error.code === 'SignatureExpired') throw new UgcError(UGC_CODES.SignatureExpired, `signature expired: ${error.message}`);
    if (error.code === 'InvalidParameter')
      throw new UgcError(UGC_CODES.InvalidParameter, `signature parameter invalid: ${error.message}`);
    throw new UgcError(UGC_CODES.SignatureInvalid, `signature invalid (${error.code}): ${error.message}`);
  }
  const sub = params.vodSubAppId;
  let appId = ctx.options.appId;
  let subAppId: number | undefined;
  if (sub !== undefined && sub !== 0 && sub !== ctx.options.appId) {
    if (!ctx.options.subAppIds.includes(sub))
      throw new UgcError(UGC_CODES.InvalidParameter, `vodSubAppId ${sub} is not an application of this account`);
    appId = sub;
    subAppId = sub;
  }
  if (params.oneTimeValid === 1 && consumeOneTime) {
    const digest = createHash('sha256').update(signature).digest('hex');
    const nowSeconds = unixSeconds(ctx.now());
    if (ctx.store.doc.usedSignatures[digest] !== undefined) {
      throw new UgcError(
        UGC_CODES.SignatureReused,
        'this one-time signature (oneTimeValid=1) has already been used; fetch a new one',
      );
    }
    ctx.store.update((doc) => {
      for (const [k, exp] of Object.entries(doc.usedSignatures)) if (exp < nowSeconds) delete doc.usedSignatures[k];
      doc.usedSignatures[digest] = params.expireTime;
    });
  }
  return { params, appId, subAppId };
}

function chooseRegion(ctx: EmulatorContext, signed: string | undefined, requested: unknown): string {
  const region = signed ?? (typeof requested === 'string' && requested ? requested : ctx.options.region);
  if (!ctx.options.storageRegions.includes(region)) {
    throw new UgcError(UGC_CODES.InvalidParameter, `storageRegion ${region} is not a storage region of this application`);
  }
  return region;
}

const optionalString = (body: Record<string, unknown>, name: string): string | undefined => {
  const v = body[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new UgcError(UGC_CODES.InvalidParameter, `${name} must be a string`);
  return v;
};
const optionalSize = (body: Record<string, unknown>, name: string): number | undefined => {
  const v = body[name];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    throw new UgcError(UGC_CODES.InvalidParameter, `${name} must be a non-negative integer`);
  return n;
};

function storageSignature(credential: TempCredential, session: UploadSession, storagePath: string, appId: number): string {
  // Legacy COS v4 signature; the web SDK ignores it, but it has the documented shape.
  const short = session.bucket.replace(/-\d+$/, '');
  const plain = `a=${appId}&b=${short}&k=${credential.secretId}&e=${credential.expiredTime}&t=${credential.startTime}&r=${randomInt(0, 2 ** 31)}&f=/${appId}/${short}/${short}${storagePath}`;
  return Buffer.concat([createHmac('sha1', credential.secretKey).update(plain).digest(), Buffer.from(plain)]).toString('base64');
}

function applyData(ctx: EmulatorContext, session: UploadSession, credential: TempCredential) {
  const file = (f: { storagePath: string } | undefined) =>
    f && {
      storageSignature: storageSignature(credential, session, f.storagePath, ctx.options.storageAppId),
      storagePath: f.storagePath,
    };
  return {
    video: file(session.video),
    cover: file(session.cover),
    storageAppId: ctx.options.storageAppId,
    storageBucket: shortBucketName(session.appId, session.region),
    storageRegion: regionAbbreviation(session.region),
    storageRegionV5: session.region,
    domain: 'vod2.qcloud.com',
    vodSessionKey: session.vodSessionKey,
    tempCertificate: {
      secretId: credential.secretId,
      secretKey: credential.secretKey,
      token: credential.token,
      expiredTime: credential.expiredTime,
    },
    appId: session.appId,
    timestamp: credential.startTime,
    StorageRegionV5: session.region,
  };
}

async function apply(ctx: EmulatorContext, body: Record<string, unknown>) {
  const { params, appId, subAppId } = verifySignature(ctx, body.signature, true);
  if (body.vodSessionKey !== undefined && body.vodSessionKey !== '') {
    let session: UploadSession;
    try {
      session = findSession(ctx, body.vodSessionKey, appId);
    } catch (error) {
      if (error instanceof UploadError) throw fromUploadError(error);
      throw error;
    }
    return applyData(ctx, session, resumeUpload(ctx, session));
  }
  const videoName = optionalString(body, 'videoName');
  const videoType = optionalString(body, 'videoType');
  const coverType = optionalString(body, 'coverType');
  const fileId = optionalString(body, 'fileId');
  if (!videoType && !(fileId && coverType)) {
    throw new UgcError(UGC_CODES.InvalidParameter, 'videoType is required (or fileId with coverType for a cover replacement)');
  }
  const { session, credential } = applyUpload(ctx, {
    appId,
    subAppId,
    region: chooseRegion(ctx, params.storageRegion, body.storageRegion),
    video: videoType ? { name: videoName ?? 'video', type: videoType, size: optionalSize(body, 'videoSize') } : undefined,
    cover: coverType
      ? { name: optionalString(body, 'coverName') ?? 'cover', type: coverType, size: optionalSize(body, 'coverSize') }
      : undefined,
    coverOnlyFor: videoType ? undefined : fileId,
    classId: params.classId,
    procedure: params.procedure,
    taskPriority: params.taskPriority,
    taskNotifyMode: params.taskNotifyMode,
    sourceContext: params.sourceContext,
    sessionContext: params.sessionContext,
    mediaExpireTime: optionalString(body, 'ExpireTime'),
    via: 'ugc',
  });
  return applyData(ctx, session, credential);
}

async function commit(ctx: EmulatorContext, body: Record<string, unknown>) {
  const { appId } = verifySignature(ctx, body.signature, true);
  const session = findSession(ctx, body.vodSessionKey, appId);
  const media = await commitUpload(ctx, session);
  const url = (key: string | undefined) => (key ? mediaUrl(ctx, `/${key}`) : undefined);
  const verify = verifyContent(ctx, media.fileId);
  return {
    video: session.video ? { url: url(media.videoKey), verify_content: verify } : undefined,
    cover: session.cover ? { url: url(media.coverKey), verify_content: verify } : undefined,
    fileId: media.fileId,
  };
}

function prepare(ctx: EmulatorContext, body: Record<string, unknown>) {
  const { appId } = verifySignature(ctx, body.signature, false);
  return {
    appId,
    cosRegionList: ctx.options.storageRegions.map((region) => ({
      region,
      domain: `${shortBucketName(appId, region)}-${ctx.options.storageAppId}.cos.${region}.myqcloud.com`,
      isAcc: false,
    })),
  };
}

/** Handles one UGC API request (index.ts applies fault injection before calling it). */
export async function handleUgc(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, action: string): Promise<void> {
  const reply = (code: number, message: string, data?: unknown) => sendJson(req, res, 200, { code, message, data: data ?? {} });
  try {
    if (req.method !== 'POST') throw new UgcError(UGC_CODES.InvalidParameter, 'use POST with a JSON body');
    if (!(UGC_ACTIONS as readonly string[]).includes(action))
      throw new UgcError(UGC_CODES.InvalidAction, `unknown Action ${action}`);
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse((await readBody(req, 64 << 10)).toString('utf8') || '{}');
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw new UgcError(UGC_CODES.InvalidParameter, error.message);
      throw new UgcError(UGC_CODES.InvalidParameter, 'the body must be a JSON object');
    }
    const data =
      action === 'ApplyUploadUGC'
        ? await apply(ctx, body)
        : action === 'CommitUploadUGC'
          ? await commit(ctx, body)
          : prepare(ctx, body);
    reply(UGC_CODES.OK, '成功', data);
  } catch (error) {
    if (error instanceof UgcError) return reply(error.code, error.message);
    if (error instanceof UploadError) {
      const mapped = fromUploadError(error);
      return reply(mapped.code, mapped.message);
    }
    ctx.options.log(`UGC ${action} failed: ${error instanceof Error ? error.stack : String(error)}`);
    reply(UGC_CODES.InternalError, 'internal error');
  }
}
