/**
 * Issuing an upload signature to an app user. The server alone decides every VOD parameter (procedure,
 * class, sub-app, region, priority, notify mode, one-time use, validity); the client only gives hints
 * about the file, checked against configured limits. A new upload is recorded ISSUED before its
 * signature leaves; re-signing (the web SDK asks again at commit and when its COS credential nears
 * expiry) is allowed for the owner while the upload is still ISSUED. Both count against a per-user
 * rate limit kept in the database.
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import type { Config } from '#lib/config';
import type { Database } from '#lib/db';
import { BadRequestError, ConflictError, NotFoundError, TooManyRequestsError } from '#lib/errors';
import type { Logger } from '#lib/log';
import { consumeRateLimit } from '#lib/rate-limit';
import { encodeUploadContext } from '#lib/upload-context';
import { UploadStatus } from '#lib/upload-lifecycle';
import { extendSignatureExpiry, getUpload, insertIssuedUpload } from '#lib/upload-store';
import { sign, type SignInput } from '#lib/upload-signature-codec';

/** The 200 answer (docs/openapi.json is generated from these schemas: lib/openapi.ts). */
export const signatureResponseSchema = z
  .object({
    signature: z.string().min(1).meta({ description: "VOD's client-upload signature, for ApplyUploadUGC" }),
    uploadId: z.uuid().meta({ description: 'The upload this signature is for: pass it back to re-sign the same upload' }),
    expiresAt: z.iso.datetime().meta({ description: 'When the signature stops being valid' }),
  })
  .strict();

type SignatureResponse = z.infer<typeof signatureResponseSchema>;

const printable = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'must not contain control characters');

const extension = z
  .string()
  .min(1)
  .max(16)
  .regex(/^\.?[A-Za-z0-9]+$/, 'must be a file extension such as mp4')
  .transform((value) => value.replace(/^\./, '').toLowerCase());

/** The request body, with this configuration's limits (lib/openapi.ts documents it with the defaults). */
export function signatureRequestSchema(config: Pick<Config, 'upload'>) {
  return z
    .object({
      uploadId: z
        .uuid({ error: 'must be an upload id returned by an earlier call' })
        .transform((v) => v.toLowerCase())
        .optional()
        .meta({ description: 'Re-sign this upload (yours, still ISSUED); omit to start a new upload' }),
      fileName: printable(255).optional().meta({ description: "The video's file name; its extension must be an accepted type" }),
      fileSize: z
        .number()
        .int()
        .min(1)
        .max(config.upload.maxFileSize, {
          error: `must be at most ${config.upload.maxFileSize} bytes`,
        })
        .optional()
        .meta({ description: 'Bytes, at most UPLOAD_MAX_FILE_SIZE' }),
      fileType: extension
        .refine((type) => config.upload.allowedTypes.includes(type), {
          error: `must be one of ${config.upload.allowedTypes.join(', ')}`,
        })
        .optional()
        .meta({ description: `The video's extension, one of UPLOAD_ALLOWED_TYPES (${config.upload.allowedTypes.join(', ')})` }),
      coverType: extension
        .refine((type) => config.upload.allowedCoverTypes.includes(type), {
          error: `must be one of ${config.upload.allowedCoverTypes.join(', ')}`,
        })
        .optional()
        .meta({ description: `The cover image's extension, one of UPLOAD_ALLOWED_COVER_TYPES (${config.upload.allowedCoverTypes.join(', ')})` }),
    })
    .strict();
}

type SignatureRequest = z.infer<ReturnType<typeof signatureRequestSchema>>;

/** Builds the body validator once per config; its errors name the first bad field. */
export function signatureRequestParser(config: Config): (body: unknown) => SignatureRequest {
  const schema = signatureRequestSchema(config);
  return (body) => parseSignatureRequest(config, schema, body);
}

function parseSignatureRequest(config: Config, schema: ReturnType<typeof signatureRequestSchema>, body: unknown): SignatureRequest {
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
    throw new BadRequestError(`fileName: type .${fromName} is not accepted; use ${config.upload.allowedTypes.join(', ')}`, 'fileName');
  }
  return { ...request, fileType: request.fileType ?? fromName };
}

interface IssueDeps {
  config: Config;
  db: Database;
  log: Logger;
  now?: () => Date;
}

function signatureParams(config: Config, uploadId: string, userId: string, now: Date): SignInput & { expireTime: number } {
  const context = encodeUploadContext({ uploadId, userId });
  const upload = config.upload;
  const currentTimeStamp = Math.floor(now.getTime() / 1000);
  return {
    secretId: config.vod.secretId,
    currentTimeStamp,
    expireTime: currentTimeStamp + upload.signatureValiditySeconds,
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

export async function issueUploadSignature(
  deps: IssueDeps,
  userId: string,
  request: SignatureRequest,
): Promise<SignatureResponse> {
  const { config, db } = deps;
  const now = deps.now?.() ?? new Date();
  const uploadId = request.uploadId ?? randomUUID();

  const params = signatureParams(config, uploadId, userId, now);
  const expiresAt = new Date(params.expireTime * 1000);
  // Signed before the row is written: a signing error must not leave an upload nobody can use.
  const signature = sign(params, config.vod.secretKey);

  await db.transaction(async (tx) => {
    if (request.uploadId === undefined) {
      await insertIssuedUpload(tx, {
        uploadId,
        userId,
        fileName: request.fileName,
        fileSize: request.fileSize,
        fileType: request.fileType,
        coverType: request.coverType,
        procedure: config.upload.procedure,
        signatureExpiresAt: expiresAt,
      });
    } else {
      const existing = await getUpload(tx, uploadId, { forUpdate: true });
      // Someone else's upload looks exactly like a missing one: ids are not to be probed.
      if (existing === undefined || existing.userId !== userId) throw new NotFoundError(`Upload ${uploadId} not found`);
      if (existing.status !== UploadStatus.ISSUED) {
        throw new ConflictError(`Upload ${uploadId} is ${existing.status}; request a new upload instead`, 'UploadNotPending');
      }
      await extendSignatureExpiry(tx, uploadId, expiresAt);
    }
    // Counted last, so the user's counter row stays locked only until the commit; a refusal rolls
    // the upload back with it.
    const limit = await consumeRateLimit(tx, `signature:${userId}`, config.rateLimit.signatures, config.rateLimit.windowSeconds, now);
    if (!limit.allowed) throw new TooManyRequestsError(limit.retryAfterSeconds);
  });

  deps.log.info(request.uploadId === undefined ? 'upload signature issued' : 'upload signature renewed', {
    uploadId,
    userId,
    expiresAt: expiresAt.toISOString(),
  });
  return { signature, uploadId, expiresAt: expiresAt.toISOString() };
}
