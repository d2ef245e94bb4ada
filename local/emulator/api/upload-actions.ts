/** API 3.0 upload actions (ApplyUpload, CommitUpload): the upload lifecycle of uploads.ts with VOD's API error codes. */
import { MAX_SOURCE_CONTEXT_LENGTH, MAX_SESSION_CONTEXT_LENGTH } from '#lib/upload-signature-codec';
import { mediaUrl } from '../context.ts';
import { applyUpload, commitUpload, findSession, UploadError } from '../uploads.ts';
import type { ActionHandler } from './endpoint.ts';
import { ApiError } from './error.ts';
import { optionalInteger, optionalString, requireString } from './params.ts';

function fromUploadError(error: UploadError): ApiError {
  switch (error.kind) {
    case 'InvalidParameter':
      return new ApiError('InvalidParameterValue', error.message);
    case 'SessionNotFound':
      return new ApiError('InvalidParameterValue.VodSessionKey', error.message);
    case 'FileNotFound':
      return new ApiError('ResourceNotFound.FileNotExist', error.message);
    case 'ObjectMissing':
    case 'SizeMismatch':
      return new ApiError('FailedOperation', error.message);
  }
}

async function uploadCall<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof UploadError) throw fromUploadError(error);
    throw error;
  }
}

export const applyUploadAction: ActionHandler = ({ ctx, appId }, params) =>
  uploadCall(() => {
    const mediaType = requireString(params, 'MediaType');
    const region = optionalString(params, 'StorageRegion') ?? ctx.options.region;
    if (!ctx.options.storageRegions.includes(region)) {
      throw new ApiError(
        'InvalidParameterValue.StorageRegion',
        `StorageRegion ${region} is not a storage region of this application.`,
      );
    }
    const coverType = optionalString(params, 'CoverType');
    const { session, credential } = applyUpload(ctx, {
      appId,
      subAppId: appId === ctx.options.appId ? undefined : appId,
      region,
      video: { name: optionalString(params, 'MediaName') ?? 'media', type: mediaType },
      cover: coverType ? { name: 'cover', type: coverType } : undefined,
      classId: optionalInteger(params, 'ClassId'),
      procedure: optionalString(params, 'Procedure'),
      sourceContext: optionalString(params, 'SourceContext', MAX_SOURCE_CONTEXT_LENGTH),
      sessionContext: optionalString(
        params,
        'SessionContext',
        MAX_SESSION_CONTEXT_LENGTH,
        'InvalidParameterValue.SessionContextTooLong',
      ),
      mediaExpireTime: optionalString(params, 'ExpireTime'),
      via: 'api',
    });
    return {
      StorageBucket: session.bucket,
      StorageRegion: session.region,
      VodSessionKey: session.vodSessionKey,
      MediaStoragePath: session.video?.storagePath ?? null,
      CoverStoragePath: session.cover?.storagePath ?? null,
      TempCertificate: {
        SecretId: credential.secretId,
        SecretKey: credential.secretKey,
        Token: credential.token,
        ExpiredTime: credential.expiredTime,
      },
    };
  });

export const commitUploadAction: ActionHandler = ({ ctx, appId }, params) =>
  uploadCall(async () => {
    const session = findSession(ctx, requireString(params, 'VodSessionKey'), appId);
    const media = await commitUpload(ctx, session);
    return {
      FileId: media.fileId,
      MediaUrl: media.videoKey ? mediaUrl(ctx, `/${media.videoKey}`) : null,
      CoverUrl: media.coverKey ? mediaUrl(ctx, `/${media.coverKey}`) : null,
    };
  });
