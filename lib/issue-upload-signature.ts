/**
 * Issuing an upload signature to an app user. The server alone decides every VOD parameter (procedure,
 * class, sub-app, region, priority, notify mode, one-time use, validity); the client only gives hints
 * about the file, checked against configured limits. A new upload is recorded ISSUED before its
 * signature leaves; re-signing (the web SDK asks again at commit and when its COS credential nears
 * expiry) is allowed for the owner while the upload is still ISSUED and younger than
 * UPLOAD_MAX_AGE_SECONDS (a re-signed signature never runs past that age). Both count against a per-user
 * rate limit kept in the database; a new upload also against UPLOAD_MAX_ISSUED_PER_USER, so one account
 * cannot keep the cleanup's recovery busy with endless open uploads, and against the per-user quotas
 * (lib/quota.ts), reserving its announced size. Each is decided in one database statement, one round
 * trip (lib/quota-store.ts); a refusal writes nothing.
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import type { Config } from '#lib/config';
import type { Database } from '#lib/db';
import { BadRequestError, ConflictError, HttpError, NotFoundError, TooManyRequestsError } from '#lib/errors';
import type { Logger } from '#lib/log';
import { concurrentLimit, quotaLimits, quotaRefusal, requireFileSize } from '#lib/quota';
import { insertIssuedUploadWithinQuotas, renewIssuedUpload } from '#lib/quota-store';
import { rateWindow } from '#lib/rate-limit';
import { encodeUploadContext } from '#lib/upload-context';
import { UploadStatus } from '#lib/upload-lifecycle';
import '#lib/zod-messages';
import { sign, type SignInput } from '#lib/upload-signature-codec';

/** The 200 answer (docs/openapi.json is generated from these schemas: lib/openapi.ts; built when asked for). */
export const signatureResponseSchema = () =>
  z.strictObject({
    signature: z
      .string()
      .check(z.minLength(1))
      .register(z.globalRegistry, { description: "VOD's client-upload signature, for ApplyUploadUGC" }),
    uploadId: z
      .uuid()
      .register(z.globalRegistry, { description: 'The upload this signature is for: pass it back to re-sign the same upload' }),
    expiresAt: z.iso.datetime().register(z.globalRegistry, { description: 'When the signature stops being valid' }),
  });

type SignatureResponse = z.infer<ReturnType<typeof signatureResponseSchema>>;

const printable = (max: number) =>
  z.string().check(
    z.minLength(1),
    z.maxLength(max),
    z.refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'must not contain control characters'),
  );

/** A file extension, without its dot and lower-cased, that must be one of `allowed`. */
const extension = (allowed: readonly string[]) =>
  z.pipe(
    z.string().check(z.minLength(1), z.maxLength(16), z.regex(/^\.?[A-Za-z0-9]+$/, 'must be a file extension such as mp4')),
    z
      .transform((value: string) => value.replace(/^\./, '').toLowerCase())
      .check(z.refine((type) => allowed.includes(type), { error: `must be one of ${allowed.join(', ')}` })),
  );

/** The request body, with this configuration's limits (lib/openapi.ts documents it with the defaults). */
export function signatureRequestSchema(config: Pick<Config, 'upload'>) {
  const { upload } = config;
  return z.strictObject({
    uploadId: z
      .optional(
        z.pipe(
          z.uuid({ error: 'must be an upload id returned by an earlier call' }),
          z.transform((v: string) => v.toLowerCase()),
        ),
      )
      .register(z.globalRegistry, { description: 'Re-sign this upload (yours, still ISSUED); omit to start a new upload' }),
    fileName: z
      .optional(printable(255))
      .register(z.globalRegistry, { description: "The video's file name; its extension must be an accepted type" }),
    fileSize: z
      .optional(
        z.number().check(z.int(), z.gte(1), z.lte(upload.maxFileSize, { error: `must be at most ${upload.maxFileSize} bytes` })),
      )
      .register(z.globalRegistry, { description: 'Bytes, at most UPLOAD_MAX_FILE_SIZE' }),
    fileType: z.optional(extension(upload.allowedTypes)).register(z.globalRegistry, {
      description: `The video's extension, one of UPLOAD_ALLOWED_TYPES (${upload.allowedTypes.join(', ')})`,
    }),
    coverType: z.optional(extension(upload.allowedCoverTypes)).register(z.globalRegistry, {
      description: `The cover image's extension, one of UPLOAD_ALLOWED_COVER_TYPES (${upload.allowedCoverTypes.join(', ')})`,
    }),
  });
}

type SignatureRequest = z.infer<ReturnType<typeof signatureRequestSchema>>;

/** Builds the body validator once per config; its errors name the first bad field. */
export function signatureRequestParser(config: Config): (body: unknown) => SignatureRequest {
  const schema = signatureRequestSchema(config);
  return (body) => parseSignatureRequest(config, schema, body);
}

function parseSignatureRequest(
  config: Config,
  schema: ReturnType<typeof signatureRequestSchema>,
  body: unknown,
): SignatureRequest {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('The request body must be a JSON object');
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const field = issue.keys[0]!;
      throw new BadRequestError(`${field}: unknown field`, field);
    }
    const field = issue.path.join('.');
    throw new BadRequestError(`${field}: ${issue.message}`, field);
  }
  const request = result.data;
  // The client derives the container from the file name; refuse one we would reject later anyway.
  const fromName = request.fileName ? /\.([A-Za-z0-9]{1,16})$/.exec(request.fileName)?.[1]?.toLowerCase() : undefined;
  if (request.fileType === undefined && fromName !== undefined && !config.upload.allowedTypes.includes(fromName)) {
    throw new BadRequestError(
      `fileName: type .${fromName} is not accepted; use ${config.upload.allowedTypes.join(', ')}`,
      'fileName',
    );
  }
  return { ...request, fileType: request.fileType ?? fromName };
}

interface IssueDeps {
  config: Config;
  db: Database;
  log: Logger;
  now?: () => Date;
}

/** `closesAt`: epoch seconds past which the signature must not run (the upload's age limit). */
function signatureParams(
  config: Config,
  uploadId: string,
  userId: string,
  now: Date,
  closesAt = Infinity,
): SignInput & { expireTime: number } {
  const context = encodeUploadContext({ uploadId, userId });
  const upload = config.upload;
  const currentTimeStamp = Math.floor(now.getTime() / 1000);
  return {
    secretId: config.vod.secretId,
    currentTimeStamp,
    expireTime: Math.min(currentTimeStamp + upload.signatureValiditySeconds, closesAt),
    sourceContext: context,
    classId: upload.classId,
    vodSubAppId: config.vod.subAppId,
    storageRegion: upload.storageRegion,
    oneTimeValid: upload.oneTimeSignature ? 1 : undefined,
    // These three only mean something with a procedure (and VOD's limits say so).
    ...(upload.procedure === undefined
      ? {}
      : {
          procedure: upload.procedure,
          taskPriority: upload.taskPriority,
          taskNotifyMode: upload.taskNotifyMode,
          sessionContext: context,
        }),
  };
}

/** 429 for a new upload while its user holds UPLOAD_MAX_ISSUED_PER_USER uploads not yet committed. */
export class TooManyPendingUploadsError extends HttpError {
  override name = 'TooManyPendingUploadsError';
  constructor(limit: number) {
    super(429, 'TooManyPendingUploads', `You already have ${limit} uploads waiting for their file; finish or abandon one first`, {
      limit,
    });
  }
}

export async function issueUploadSignature(
  deps: IssueDeps,
  userId: string,
  request: SignatureRequest,
): Promise<SignatureResponse> {
  const { config, db } = deps;
  const now = deps.now?.() ?? new Date();
  const uploadId = request.uploadId ?? randomUUID();
  const rate = rateWindow(`signature:${userId}`, config.rateLimit.signatures, config.rateLimit.windowSeconds, now);

  let signed: { signature: string; expiresAt: Date };
  if (request.uploadId === undefined) {
    requireFileSize(config, request.fileSize);
    const params = signatureParams(config, uploadId, userId, now);
    // Signed before the row is written: a signing error leaves nothing behind.
    const signature = sign(params, config.vod.secretKey);
    const expiresAt = new Date(params.expireTime * 1000);
    const concurrent = concurrentLimit(config);
    const decision = await insertIssuedUploadWithinQuotas(
      db,
      {
        uploadId,
        userId,
        fileName: request.fileName,
        fileSize: request.fileSize,
        fileType: request.fileType,
        coverType: request.coverType,
        procedure: config.upload.procedure,
        signatureExpiresAt: expiresAt,
      },
      { ...quotaLimits(config), concurrentUploads: concurrent?.limit, rate },
      { now, maxAgeSeconds: config.upload.maxAgeSeconds, graceSeconds: config.cleanup.expiryGraceSeconds },
    );
    if (decision.outcome === 'rate-limited') throw new TooManyRequestsError(rate.retryAfterSeconds);
    if (decision.outcome === 'refused') {
      if (decision.quota === 'concurrentUploads' && concurrent?.from === 'cap')
        throw new TooManyPendingUploadsError(concurrent.limit);
      throw quotaRefusal(config, decision.quota, decision.use, now);
    }
    signed = { signature, expiresAt };
  } else {
    signed = await renewSignature(deps, userId, request.uploadId, now, rate);
  }

  deps.log.info(request.uploadId === undefined ? 'upload signature issued' : 'upload signature renewed', {
    uploadId,
    userId,
    expiresAt: signed.expiresAt.toISOString(),
  });
  return { signature: signed.signature, uploadId, expiresAt: signed.expiresAt.toISOString() };
}

/** Re-signing an upload still ISSUED: one statement checks, counts and extends; the refusals are named here. */
async function renewSignature(
  deps: IssueDeps,
  userId: string,
  uploadId: string,
  now: Date,
  rate: ReturnType<typeof rateWindow>,
): Promise<{ signature: string; expiresAt: Date }> {
  const { config } = deps;
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const decision = await renewIssuedUpload(
    deps.db,
    {
      uploadId,
      userId,
      nowSeconds,
      validitySeconds: config.upload.signatureValiditySeconds,
      maxAgeSeconds: config.upload.maxAgeSeconds,
    },
    rate,
  );
  if (decision.outcome === 'rate-limited') throw new TooManyRequestsError(rate.retryAfterSeconds);
  const existing = decision.target;
  // Someone else's upload looks exactly like a missing one: ids are not to be probed.
  if (existing === undefined || existing.userId !== userId) throw new NotFoundError(`Upload ${uploadId} not found`);
  if (existing.status !== UploadStatus.ISSUED) {
    throw new ConflictError(`Upload ${uploadId} is ${existing.status}; request a new upload instead`, 'UploadNotPending');
  }
  // Without an age limit one upload could be kept ISSUED (and searched for) forever by re-signing it.
  const closesAt = Math.floor(existing.createdAt.getTime() / 1000) + config.upload.maxAgeSeconds;
  if (closesAt <= nowSeconds || !decision.renewed) {
    throw new ConflictError(
      `Upload ${uploadId} is older than ${config.upload.maxAgeSeconds} s and can no longer be signed; request a new upload instead`,
      'UploadTooOld',
    );
  }
  // The statement extended the expiry to exactly this signature's expireTime.
  const params = signatureParams(config, uploadId, userId, now, closesAt);
  return { signature: sign(params, config.vod.secretKey), expiresAt: new Date(params.expireTime * 1000) };
}
