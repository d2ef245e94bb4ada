/**
 * The COS part of an upload: the video and cover sent with the official COS SDK (`sliceUploadFile`: parts
 * in parallel, resume of an unfinished multipart upload), each request signed with the temporary
 * credential from ApplyUploadUGC, renewed before it runs out; progress over both files.
 */
import type { SignatureReply } from './backend-api.ts';
import { VodUploadError } from './errors.ts';
import type { RetryPolicy, UploadCallOptions, VodUploaderOptions } from './options.ts';
import type { CosLike, Platform, UploadSource } from './platform.ts';
import { cancelled, failure, withRetry } from './retry.ts';
import type { UgcApplyData } from '#contract';
import type { UgcApi } from './ugc-api.ts';

const MIB = 1024 * 1024;

/** What a COS transfer takes from the uploader. */
export interface CosTransfer {
  platform: Platform;
  /** `cosDomain`, `cosProtocol`, `parallel`, `chunkRetries`, `chunkSize`. */
  options: VodUploaderOptions;
  retryPolicy: Required<RetryPolicy>;
  clock: () => number;
  /** With `ugc`, renews the credential: a fresh signature, then ApplyUploadUGC with the session key. */
  getSignature: (body: { uploadId: string }, signal?: AbortSignal) => Promise<SignatureReply>;
  ugc: UgcApi;
}

/** Measures a recent rate from (time, bytes) samples over a sliding window. */
class RateMeter {
  private samples: Array<{ t: number; bytes: number }> = [];
  constructor(private readonly windowMs = 5000) {}
  add(t: number, bytes: number): number {
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = t - first.t;
    return dt >= 250 ? Math.max(0, ((bytes - first.bytes) * 1000) / dt) : 0;
  }
}

/** Sends the video (and cover) to COS; tells how often the credential was renewed and how many bytes COS already had. */
export async function uploadToCos(
  transfer: CosTransfer,
  apply: UgcApplyData,
  uploadId: string,
  video: UploadSource,
  cover: UploadSource | undefined,
  call: UploadCallOptions,
  signal: AbortSignal | undefined,
  totalBytes: number,
): Promise<{ refreshes: number; resumedBytes: number }> {
  // The temporary credential, renewed (ApplyUploadUGC again with a fresh signature and the session key)
  // once 90 % of its lifetime has passed, as vod-js-sdk-v6 does.
  const obtain = (data: UgcApplyData) => ({ ...data.tempCertificate, startTime: data.timestamp, obtainedAt: transfer.clock() });
  let credential = obtain(apply);
  let refreshing: Promise<void> | undefined;
  let refreshes = 0;
  let forceRefresh = false;
  const lifetimeMs = (c: typeof credential) => Math.max(0, c.expiredTime - c.startTime) * 1000;
  const refreshDue = (c: typeof credential) => forceRefresh || transfer.clock() >= c.obtainedAt + 0.9 * lifetimeMs(c);
  const stillValid = (c: typeof credential) => transfer.clock() < c.obtainedAt + lifetimeMs(c) - 5_000;
  const refresh = async () => {
    const sig = await transfer.getSignature({ uploadId }, signal);
    const data = await transfer.ugc.call<UgcApplyData>(
      'ApplyUploadUGC',
      uploadId,
      sig.signature,
      { vodSessionKey: apply.vodSessionKey },
      signal,
    );
    credential = obtain(data);
    forceRefresh = false;
    refreshes += 1;
    call.onCredentialsRefreshed?.({ expiredTime: credential.expiredTime, refreshes });
  };

  let fatal: ((error: VodUploadError) => void) | undefined;
  const fatalPromise = new Promise<never>((_, reject) => {
    fatal = reject;
  });
  fatalPromise.catch(() => undefined);
  let fatalError: VodUploadError | undefined;
  const fail = (error: VodUploadError) => {
    if (!fatalError) {
      fatalError = error;
      fatal?.(error);
    }
  };

  const currentCredential = async () => {
    if (fatalError) throw fatalError;
    if (refreshDue(credential)) {
      refreshing ??= refresh().finally(() => {
        refreshing = undefined;
      });
      try {
        await refreshing;
      } catch (error) {
        if (error instanceof VodUploadError && error.kind === 'cancelled') throw error;
        // Keep using the current credential while it lasts; renewal is tried again on the next request.
        if (!stillValid(credential)) {
          throw new VodUploadError(
            'credentials-expired',
            `the temporary COS credential expired and could not be renewed: ${error instanceof Error ? error.message : String(error)}`,
            {
              uploadId,
              cause: error,
            },
          );
        }
      }
    }
    return credential;
  };

  const domain = transfer.options.cosDomain;
  const protocol = transfer.options.cosProtocol ?? (domain && transfer.ugc.vodApiUrl.startsWith('http:') ? 'http:' : 'https:');
  const cos = transfer.platform.createCos({
    ...(domain ? { Domain: domain, AutoSwitchHost: false } : {}),
    Protocol: protocol,
    ForceSignHost: false,
    ChunkParallelLimit: transfer.options.parallel ?? 4,
    ChunkRetryTimes: transfer.options.chunkRetries ?? 3,
    ChunkSize: Math.max(MIB, transfer.options.chunkSize ?? 8 * MIB),
    FileParallelLimit: 2,
    ProgressInterval: 200,
    getAuthorization: (
      options: {
        Method?: string;
        Pathname?: string;
        Key?: string;
        Query?: Record<string, unknown>;
        Headers?: Record<string, unknown>;
      },
      callback: (auth: Record<string, unknown>) => void,
    ) => {
      currentCredential().then(
        (c) => {
          const Authorization = transfer.platform.signCos({
            SecretId: c.secretId,
            SecretKey: c.secretKey,
            Method: options.Method,
            Pathname: options.Pathname ?? `/${options.Key ?? ''}`,
            Query: options.Query,
            Headers: options.Headers,
            KeyTime: `${c.startTime};${c.expiredTime}`,
            ForceSignHost: false,
          });
          callback({ Authorization, SecurityToken: c.token });
        },
        (error: unknown) => {
          fail(
            error instanceof VodUploadError
              ? error
              : new VodUploadError('credentials-expired', String(error), { uploadId, cause: error }),
          );
          callback({}); // the SDK turns this into a request error; the upload is already failing
        },
      );
    },
  });

  // Progress over both files. Bytes COS already had (a resumed upload) count as loaded but not
  // towards the rate.
  const loaded = { video: 0, cover: 0 };
  const kept = { video: 0, cover: 0 };
  const meter = new RateMeter();
  const report = () => {
    const sum = loaded.video + loaded.cover;
    const rate = meter.add(Date.now(), sum - kept.video - kept.cover);
    call.onProgress?.({
      loaded: sum,
      total: totalBytes,
      fraction: totalBytes ? Math.min(1, sum / totalBytes) : 1,
      bytesPerSecond: rate,
      etaSeconds: rate > 0 ? Math.max(0, (totalBytes - sum) / rate) : undefined,
    });
  };

  const bucket = `${apply.storageBucket}-${apply.storageAppId}`;
  const region = apply.storageRegionV5;
  const jobs: Array<{ role: 'video' | 'cover'; source: UploadSource; key: string }> = [];
  if (apply.video) jobs.push({ role: 'video', source: video, key: apply.video.storagePath.replace(/^\/+/, '') });
  if (cover) {
    if (!apply.cover) throw new VodUploadError('apply-failed', 'ApplyUploadUGC gave no storage path for the cover', { uploadId });
    jobs.push({ role: 'cover', source: cover, key: apply.cover.storagePath.replace(/^\/+/, '') });
  }

  const tasks: string[] = [];
  const onAbort = () => fail(cancelled(uploadId));
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  try {
    await Promise.race([
      fatalPromise,
      Promise.all(
        jobs.map((job) =>
          runCosTask(
            cos,
            tasks,
            {
              Bucket: bucket,
              Region: region,
              Key: job.key,
              ...job.source.cosParams,
              UploadData: watchUploadData((bytes) => {
                kept[job.role] = Math.min(job.source.size, bytes);
                loaded[job.role] = Math.max(loaded[job.role], kept[job.role]);
                if (bytes > 0) report();
              }),
              onProgress: (info: { loaded?: number }) => {
                loaded[job.role] = Math.min(job.source.size, Math.max(kept[job.role], Number(info?.loaded ?? 0)));
                report();
              },
            },
            transfer.retryPolicy,
            signal,
            uploadId,
            () => {
              forceRefresh = true;
            },
            () => fatalError,
          ),
        ),
      ),
    ]);
  } catch (error) {
    for (const id of tasks) cos.cancelTask(id); // also frees the COS upload ids for a later resume
    throw fatalError ?? error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  loaded.video = video.size;
  loaded.cover = cover?.size ?? 0;
  report();
  return { refreshes, resumedBytes: kept.video + kept.cover };
}

/**
 * One `sliceUploadFile` task. The SDK resumes by itself (GET /?uploads, then list parts, comparing
 * each part's MD5 with the file). A failed task is restarted (`restartTask` keeps the parts already
 * sent) after a backoff, for network errors, 5xx and an expired credential (renewed first).
 */
function runCosTask(
  cos: CosLike,
  tasks: string[],
  params: Record<string, unknown>,
  retryPolicy: Required<RetryPolicy>,
  signal: AbortSignal | undefined,
  uploadId: string,
  forceRefresh: () => void,
  fatalError: () => VodUploadError | undefined,
): Promise<unknown> {
  let taskId = '';
  // The SDK calls the task's callback at the end of every run: the first one and each restart.
  let run: { resolve: (data: unknown) => void; reject: (error: unknown) => void } | undefined;
  const done = (err: unknown, data: unknown) => {
    if (!err) return run?.resolve(data);
    run?.reject(fatalError() ?? classifyCosError(err, uploadId));
  };
  return withRetry(
    retryPolicy,
    signal,
    (attempt) =>
      new Promise((resolve, reject) => {
        run = { resolve, reject };
        if (attempt > 0) {
          cos.restartTask(taskId);
          return;
        }
        cos.sliceUploadFile(
          {
            ...params,
            onTaskReady: (id: string) => {
              taskId = id;
              tasks.push(id);
            },
          },
          done,
        );
      }),
    (error) => {
      if (error.kind === 'credentials-expired') forceRefresh();
    },
  );
}

/**
 * The COS SDKs keep a task's multipart state in `params.UploadData` (shared by reference) and assign its
 * `PartList` once the upload id is settled, with `Uploaded: true` on the parts COS already has (found
 * by `GET /?uploads` + list parts on resume). Watching that assignment tells how many bytes were kept.
 */
function watchUploadData(onKept: (bytes: number) => void): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  let parts: unknown;
  Object.defineProperty(data, 'PartList', {
    enumerable: true,
    configurable: true,
    get: () => parts,
    set(value: unknown) {
      parts = value;
      if (!Array.isArray(value)) return;
      let bytes = 0;
      for (const part of value as Array<{ Uploaded?: boolean; Size?: number | string }>)
        if (part?.Uploaded) bytes += Number(part.Size) || 0;
      onKept(bytes);
    },
  });
  return data;
}

/** Maps a COS SDK error to a typed one (retryable: network, 5xx, expired credential, request timeouts). */
export function classifyCosError(err: unknown, uploadId?: string): VodUploadError {
  const e = (err ?? {}) as {
    statusCode?: number;
    code?: string;
    message?: string;
    error?: { Code?: string; Message?: string } | string;
  };
  const inner = typeof e.error === 'object' && e.error ? e.error : undefined;
  const code = inner?.Code ?? e.code;
  const message = inner?.Message ?? e.message ?? (typeof e.error === 'string' ? e.error : 'COS request failed');
  const status = e.statusCode;
  if (status === 403 && /expired/i.test(`${code} ${message}`)) {
    return failure(
      'credentials-expired',
      `COS refused the temporary credential: ${message}`,
      { status, code, uploadId, cause: err },
      true,
    );
  }
  if (status === undefined || status === 0) {
    return failure(
      'network',
      `COS could not be reached: ${message}${code ? ` (${code})` : ''}`,
      { code, uploadId, cause: err },
      true,
    );
  }
  return failure(
    'upload-failed',
    `COS answered ${status}${code ? ` ${code}` : ''}: ${message}`,
    { status, code, uploadId, cause: err },
    status >= 500 || status === 408 || status === 429,
  );
}
