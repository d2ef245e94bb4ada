/**
 * The upload lifecycle shared by the UGC API (ApplyUploadUGC / CommitUploadUGC) and API 3.0
 * (ApplyUpload / CommitUpload): allocate a fileId and storage paths, issue COS temporary credentials
 * scoped to those keys, and on commit check that the objects arrived, probe them and create the media.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { fullBucketName, mediaUrl, shortBucketName } from './context.ts';
import type { EmulatorContext } from './context.ts';
import { isoTime, unixSeconds } from './times.ts';
import { probeMedia } from './probe.ts';
import { startProcedure } from './processing/procedures.ts';
import { newTaskId } from './processing/tasks.ts';
import { objectIndexKey } from './state.ts';
import type { MediaRecord, StoredFile, TempCredential, UploadSession } from './state.ts';
import { MEDIA_NAME_FORBIDDEN_CHARS } from '#contract';

export class UploadError extends Error {
  constructor(
    readonly kind: 'InvalidParameter' | 'SessionNotFound' | 'ObjectMissing' | 'SizeMismatch' | 'FileNotFound',
    message: string,
  ) {
    super(message);
  }
}

const NEVER_EXPIRES = '9999-12-31T23:59:59Z';

export interface FileRequest {
  name: string;
  type: string;
  size?: number;
}

export interface ApplyInput {
  appId: number;
  subAppId?: number;
  region: string;
  video?: FileRequest;
  cover?: FileRequest;
  coverOnlyFor?: string;
  classId?: number;
  procedure?: string;
  taskPriority?: number;
  taskNotifyMode?: string;
  sourceContext?: string;
  sessionContext?: string;
  mediaExpireTime?: string;
  via: 'ugc' | 'api';
}

function checkFile(kind: string, file: FileRequest): void {
  if (MEDIA_NAME_FORBIDDEN_CHARS.test(file.name))
    throw new UploadError('InvalidParameter', `${kind} name must not contain \\ / : * ? " < > |`);
  if (!/^[a-zA-Z0-9]{1,16}$/.test(file.type))
    throw new UploadError('InvalidParameter', `${kind} type must be a file extension such as mp4`);
  if (file.size !== undefined && (!Number.isInteger(file.size) || file.size < 0)) {
    throw new UploadError('InvalidParameter', `${kind} size must be a non-negative integer`);
  }
}

const randomName = (length: number) => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
};

function issueCredential(ctx: EmulatorContext, session: UploadSession): TempCredential {
  const now = unixSeconds(ctx.now());
  const keys = [session.video?.storagePath, session.cover?.storagePath].filter((p): p is string => !!p).map((p) => p.slice(1));
  const credential: TempCredential = {
    secretId: `AKIDtmp${randomName(29)}`,
    secretKey: randomName(32),
    token: randomBytes(48).toString('base64url'),
    startTime: now,
    expiredTime: now + ctx.options.tempCredentialTtlSeconds,
    bucket: session.bucket,
    region: session.region,
    keys,
  };
  ctx.store.update((doc) => {
    for (const [id, c] of Object.entries(doc.tempCredentials)) if (c.expiredTime + 86_400 < now) delete doc.tempCredentials[id];
    doc.tempCredentials[credential.secretId] = credential;
    const s = doc.sessions[session.vodSessionKey];
    if (s) s.tempSecretId = credential.secretId;
  });
  return credential;
}

/** Starts an upload: a new session with its paths and a temporary COS credential. */
export function applyUpload(ctx: EmulatorContext, input: ApplyInput): { session: UploadSession; credential: TempCredential } {
  if (input.video) checkFile('video', input.video);
  if (input.cover) checkFile('cover', input.cover);
  if (!input.video && !(input.coverOnlyFor && input.cover)) {
    throw new UploadError('InvalidParameter', 'give a video (videoName, videoType) or a fileId with a cover');
  }
  if (input.procedure && !ctx.options.acceptAnyProcedure && !Object.hasOwn(ctx.options.procedures, input.procedure)) {
    throw new UploadError('InvalidParameter', `the task-flow template ${input.procedure} does not exist`);
  }
  let fileId: string;
  if (input.coverOnlyFor) {
    const media = ctx.store.doc.media[input.coverOnlyFor];
    if (!media || media.appId !== input.appId)
      throw new UploadError('FileNotFound', `the media ${input.coverOnlyFor} does not exist`);
    fileId = media.fileId;
  } else {
    fileId = ctx.store.allocateFileId();
  }
  const short = shortBucketName(input.appId, input.region);
  const dir = `/${short}/${createHash('md5').update(fileId).digest('hex').slice(0, 8)}${fileId}`;
  const video: StoredFile | undefined = input.video && {
    ...input.video,
    storagePath: `${dir}/${randomName(12)}.${input.video.type.toLowerCase()}`,
  };
  const cover: StoredFile | undefined = input.cover && {
    ...input.cover,
    storagePath: `${dir}/${randomName(12)}.${input.cover.type.toLowerCase()}`,
  };
  const session: UploadSession = {
    vodSessionKey: randomBytes(48).toString('base64url'),
    appId: input.appId,
    subAppId: input.subAppId,
    fileId,
    bucket: fullBucketName(ctx, input.appId, input.region),
    region: input.region,
    video,
    cover,
    coverOnlyFor: input.coverOnlyFor,
    classId: input.classId ?? 0,
    procedure: input.procedure,
    taskPriority: input.taskPriority,
    taskNotifyMode: input.taskNotifyMode,
    sourceContext: input.sourceContext,
    sessionContext: input.sessionContext,
    mediaExpireTime: input.mediaExpireTime,
    via: input.via,
    createdAt: ctx.now(),
    tempSecretId: '',
  };
  ctx.store.update((doc) => {
    doc.sessions[session.vodSessionKey] = session;
  });
  return { session, credential: issueCredential(ctx, session) };
}

export function findSession(ctx: EmulatorContext, vodSessionKey: unknown, appId: number): UploadSession {
  const session = typeof vodSessionKey === 'string' ? ctx.store.doc.sessions[vodSessionKey] : undefined;
  if (!session || session.appId !== appId)
    throw new UploadError('SessionNotFound', 'the vodSessionKey is unknown or belongs to another application');
  return session;
}

/** Resume: the same paths with a fresh temporary credential. */
export function resumeUpload(ctx: EmulatorContext, session: UploadSession): TempCredential {
  if (session.committedAt !== undefined) throw new UploadError('SessionNotFound', 'this upload has already been committed');
  return issueCredential(ctx, session);
}

/** `Base64(HMAC-SHA1(verifyKey, "ExpTime=<t>&FileId=<id>") || plaintext)` (docs/vod-protocol/upload-signature.md §1.4). */
export function verifyContent(ctx: EmulatorContext, fileId: string): string {
  const plain = `ExpTime=${unixSeconds(ctx.now()) + 86_400}&FileId=${fileId}`;
  const mac = createHmac('sha1', ctx.options.verifyKey).update(plain).digest();
  return Buffer.concat([mac, Buffer.from(plain)]).toString('base64');
}

function storedObject(ctx: EmulatorContext, session: UploadSession, file: StoredFile, kind: string) {
  const meta = ctx.store.doc.objects[objectIndexKey(session.bucket, file.storagePath.slice(1))];
  if (!meta) throw new UploadError('ObjectMissing', `the ${kind} has not been uploaded to COS (${file.storagePath})`);
  if (file.size !== undefined && meta.size !== file.size) {
    throw new UploadError('SizeMismatch', `the uploaded ${kind} has ${meta.size} bytes, not the ${file.size} announced at apply`);
  }
  return meta;
}

/** Commit: checks the objects, creates (or updates) the media and emits NewFileUpload. Idempotent. */
export async function commitUpload(ctx: EmulatorContext, session: UploadSession): Promise<MediaRecord> {
  const existing = ctx.store.doc.media[session.fileId];
  if (session.committedAt !== undefined) {
    if (!existing) throw new UploadError('FileNotFound', `the media ${session.fileId} was deleted`);
    return existing;
  }
  const videoMeta = session.video && storedObject(ctx, session, session.video, 'video');
  const coverMeta = session.cover && storedObject(ctx, session, session.cover, 'cover');
  const now = ctx.now();
  const coverUrl = session.cover ? mediaUrl(ctx, session.cover.storagePath) : '';

  // A cover replacement (web SDK `fileId` + `coverFile`, vod-protocol/ugc-upload.md §2.3): any signature of
  // the media's application may do it, as no signature parameter names a file; it emits no event.
  if (session.coverOnlyFor) {
    if (!existing) throw new UploadError('FileNotFound', `the media ${session.coverOnlyFor} was deleted`);
    return ctx.store.update((doc) => {
      existing.basicInfo.CoverUrl = coverUrl;
      existing.basicInfo.UpdateTime = isoTime(now);
      existing.coverKey = coverMeta?.key;
      doc.sessions[session.vodSessionKey]!.committedAt = now;
      return existing;
    });
  }

  const video = session.video!;
  const probe = await probeMedia(videoMeta!.file, videoMeta!.size, videoMeta!.md5, video.type, ctx.options.ffprobePath);
  const mediaUrlValue = mediaUrl(ctx, video.storagePath);
  const procedureTaskId = session.procedure ? newTaskId(session.appId, true) : undefined;
  const basicInfo: Record<string, unknown> = {
    Name: video.name,
    Description: '',
    CreateTime: isoTime(now),
    UpdateTime: isoTime(now),
    ExpireTime: session.mediaExpireTime ?? NEVER_EXPIRES,
    ClassId: session.classId,
    ClassName: 'Other',
    ClassPath: 'Other',
    CoverUrl: coverUrl,
    Type: video.type.toLowerCase(),
    MediaUrl: mediaUrlValue,
    SourceInfo: { SourceType: 'Upload', SourceContext: session.sourceContext ?? '' },
    StorageRegion: session.region,
    StoragePath: video.storagePath,
    TagSet: [],
    Vid: session.fileId,
    Category: probe.category,
    Status: 'Normal',
    StorageClass: 'STANDARD',
  };
  const media: MediaRecord = {
    fileId: session.fileId,
    appId: session.appId,
    bucket: session.bucket,
    region: session.region,
    basicInfo,
    metaData: probe.metaData,
    videoKey: videoMeta!.key,
    coverKey: coverMeta?.key,
    procedure: session.procedure,
    procedureTaskId,
    sessionContext: session.sessionContext,
    taskPriority: session.taskPriority,
    taskNotifyMode: session.taskNotifyMode,
    createdAt: now,
  };
  // A concurrent commit of the same session may have finished while ffprobe ran.
  const again = ctx.store.doc.sessions[session.vodSessionKey];
  if (again?.committedAt !== undefined && ctx.store.doc.media[session.fileId]) return ctx.store.doc.media[session.fileId]!;
  ctx.store.update((doc) => {
    doc.media[media.fileId] = media;
    doc.sessions[session.vodSessionKey]!.committedAt = now;
  });
  if (session.procedure && procedureTaskId) {
    const mode = session.taskNotifyMode;
    startProcedure(
      ctx,
      media,
      session.procedure,
      {
        priority: session.taskPriority ?? 0,
        notifyMode: mode === 'Change' || mode === 'None' ? mode : 'Finish',
        sessionContext: session.sessionContext ?? '',
        sessionId: '',
      },
      undefined,
      procedureTaskId,
    );
  }
  ctx.events.emitVodEvent(session.appId, 'NewFileUpload', 'FileUploadEvent', {
    FileId: media.fileId,
    // The event says what the media was at upload: a later change (a cover replacement) must not reach it.
    MediaBasicInfo: structuredClone(basicInfo),
    ProcedureTaskId: procedureTaskId ?? '',
    ReviewAudioVideoTaskId: '',
    MetaData: probe.metaData,
  });
  return media;
}

/** Deletes a media file and its stored objects. */
export function deleteMediaFiles(ctx: EmulatorContext, media: MediaRecord, originalOnly: boolean): void {
  const keys = [media.videoKey, media.coverKey].filter((k): k is string => !!k);
  if (!originalOnly) for (const entry of media.derived ?? []) keys.push(...entry.keys);
  const files: string[] = [];
  ctx.store.update((doc) => {
    for (const key of keys) {
      const meta = doc.objects[objectIndexKey(media.bucket, key)];
      if (meta) files.push(meta.file);
      delete doc.objects[objectIndexKey(media.bucket, key)];
    }
    if (originalOnly) {
      delete media.videoKey;
      delete media.coverKey;
      media.basicInfo.MediaUrl = '';
      media.basicInfo.CoverUrl = '';
    } else {
      delete doc.media[media.fileId];
    }
  });
  for (const file of files) ctx.files.remove(file);
}
