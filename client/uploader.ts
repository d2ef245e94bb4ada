/**
 * The platform-neutral upload client: signature from this backend → ApplyUploadUGC → COS multipart
 * upload with the official COS SDK → CommitUploadUGC → optionally wait for READY. It speaks HTTP only
 * (global `fetch`), imports nothing from Node or the browser: `node.ts` and `browser.ts` supply the COS
 * SDK build, file access and the resume store (see `Platform`).
 */
import { BackendApi } from './backend-api.ts';
import type { SignatureReply } from './backend-api.ts';
import { uploadToCos } from './cos-transfer.ts';
import type { CosTransfer } from './cos-transfer.ts';
import { VodUploadError } from './errors.ts';
import { createHttpCall, trimSlash } from './http-call.ts';
import type { StageEvent, UploadCallOptions, UploadResult, VodUploaderOptions, WaitOptions } from './options.ts';
import type { Platform } from './platform.ts';
import { LibraryApi } from './library-api.ts';
import type { DeleteResult, ListOptions, UploadPage, UsageReport } from './library-api.ts';
import { isResumeRecord, RESUME_MAX_AGE_MS } from './resume-store.ts';
import type { ResumeRecord, ResumeStore } from './resume-store.ts';
import { cancelled, sleep } from './retry.ts';
import { UgcApi } from './ugc-api.ts';
import type { UgcApplyData, UgcCommitData } from '#contract';
import { MEDIA_NAME_FORBIDDEN_CHARS } from '#contract';
import type { UploadStatus, UploadView } from '#contract';

const extension = (name: string) => {
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot + 1).toLowerCase() : '';
};
const baseName = (name: string) => {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
};
/** VOD refuses `\ / : * ? " < > |` in media names (vod-js-sdk-v6). */
const cleanMediaName = (name: string) => name.replace(new RegExp(MEDIA_NAME_FORBIDDEN_CHARS, 'g'), '_').trim() || 'video';

/** Statuses an upload never leaves but for DELETED: waiting for READY ends there. */
const ENDED: ReadonlySet<string> = new Set(['FAILED', 'REJECTED', 'EXPIRED', 'BLOCKED', 'DELETED']);

export class VodUploaderCore {
  readonly apiBaseUrl: string;
  readonly vodApiUrl: string;
  private readonly options: VodUploaderOptions;
  private readonly backend: BackendApi;
  private readonly ugc: UgcApi;
  private readonly library: LibraryApi;
  private readonly cos: CosTransfer;
  private store: ResumeStore | undefined;

  constructor(
    private readonly platform: Platform,
    options: VodUploaderOptions,
  ) {
    if (!options || typeof options.apiBaseUrl !== 'string' || !/^https?:\/\//i.test(options.apiBaseUrl)) {
      throw new VodUploadError('bad-input', 'apiBaseUrl must be an http(s) URL of the upload backend');
    }
    if (options.vodApiUrl !== undefined && !/^https?:\/\//i.test(options.vodApiUrl)) {
      throw new VodUploadError('bad-input', 'vodApiUrl must be an http(s) URL');
    }
    this.options = options;
    const retryPolicy = { retries: 3, minDelayMs: 500, maxDelayMs: 8000, ...options.retry };
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new VodUploadError('bad-input', 'no fetch implementation: pass options.fetch');
    const http = createHttpCall(f.bind(globalThis) as typeof fetch, () => options.requestTimeoutMs ?? 15_000);
    // The UGC calls and the credential renewal re-sign the same upload through this backend.
    const getSignature = (body: { uploadId: string }, signal?: AbortSignal) => this.getSignature(body, signal);
    this.backend = new BackendApi(trimSlash(options.apiBaseUrl), options, http, retryPolicy);
    this.ugc = new UgcApi(options.vodApiUrl, http, retryPolicy, getSignature);
    this.library = new LibraryApi(this.backend, http, retryPolicy);
    this.cos = { platform, options, retryPolicy, clock: options.clock ?? Date.now, getSignature, ugc: this.ugc };
    this.apiBaseUrl = this.backend.apiBaseUrl;
    this.vodApiUrl = this.ugc.vodApiUrl;
  }

  private resumeStore(): ResumeStore | undefined {
    if (this.options.resume === false) return undefined;
    this.store ??= this.options.resumeStore ?? this.platform.defaultResumeStore();
    return this.store;
  }

  /** `POST /upload-signature` (with retries on network errors and 5xx). */
  getSignature(body: Record<string, unknown>, signal?: AbortSignal): Promise<SignatureReply> {
    return this.backend.getSignature(body, signal);
  }

  /** `GET /uploads/{uploadId}`: the backend's view of one upload. */
  getUpload(uploadId: string, signal?: AbortSignal): Promise<UploadView> {
    return this.backend.getUpload(uploadId, signal);
  }

  /** `GET /uploads`: one page of the user's uploads, newest first (library-api.ts). */
  list(options?: ListOptions): Promise<UploadPage> {
    return this.library.list(options);
  }

  /** Every page of `GET /uploads`, following `nextCursor`. */
  listAll(options?: ListOptions): AsyncGenerator<UploadPage> {
    return this.library.listAll(options);
  }

  /** `DELETE /uploads/{uploadId}` (idempotent). */
  deleteUpload(uploadId: string, signal?: AbortSignal): Promise<DeleteResult> {
    return this.library.deleteUpload(uploadId, signal);
  }

  /** `GET /me/usage`: quota use and limits. */
  usage(options?: { userId?: string; signal?: AbortSignal }): Promise<UsageReport> {
    return this.library.usage(options);
  }

  /** Uploads a video (and optional cover) and commits it; see UploadCallOptions. */
  async upload(file: unknown, call: UploadCallOptions = {}): Promise<UploadResult> {
    const leases: Array<() => void> = [];
    try {
      return await this.uploadOnce(file, call, leases);
    } finally {
      for (const release of leases) release();
    }
  }

  private async uploadOnce(file: unknown, call: UploadCallOptions, leases: Array<() => void>): Promise<UploadResult> {
    const started = Date.now();
    const signal = call.signal;
    const stage = (event: Omit<StageEvent, 'elapsedMs'>) => call.onStage?.({ ...event, elapsedMs: Date.now() - started });
    if (signal?.aborted) throw cancelled();

    const video = await this.platform.describe(file, 'video');
    const cover = call.cover === undefined || call.cover === null ? undefined : await this.platform.describe(call.cover, 'cover');
    const videoType = (call.fileType ?? extension(video.name)).toLowerCase().replace(/^\./, '');
    if (!videoType)
      throw new VodUploadError(
        'bad-input',
        `cannot tell the video type of "${video.name}": give it an extension or pass fileType`,
      );
    if (video.size === 0) throw new VodUploadError('bad-input', `"${video.name}" is empty`);
    const coverType = cover ? extension(cover.name) : undefined;
    if (cover && !coverType) throw new VodUploadError('bad-input', `cannot tell the image type of the cover "${cover.name}"`);
    if (cover && cover.size === 0) throw new VodUploadError('bad-input', `the cover "${cover.name}" is empty`);
    const totalBytes = video.size + (cover?.size ?? 0);

    let store = this.resumeStore();
    const resumeKey = `${this.apiBaseUrl}|${video.identity}|${cover?.identity ?? ''}`;
    if (store?.lock) {
      // Two uploads of the same file at once must not share (and take over) one record.
      const release = await store.lock(resumeKey);
      if (release) leases.push(release);
      else store = undefined;
    }
    let record: ResumeRecord | undefined;
    if (store) {
      const saved = await store.get(resumeKey);
      if (saved && isResumeRecord(saved) && Date.now() - saved.savedAt < RESUME_MAX_AGE_MS) record = saved;
      else if (saved) await store.delete(resumeKey);
    }

    const timings: UploadResult['timings'] = { signatureMs: 0, applyMs: 0, uploadMs: 0, commitMs: 0, totalMs: 0 };
    let apply: UgcApplyData | undefined;
    let uploadId = '';
    let resumed = false;

    if (record) {
      // Continue: re-sign the same upload, and ApplyUploadUGC with the session key (same paths, new credential).
      try {
        stage({ stage: 'signature', uploadId: record.uploadId });
        let t = Date.now();
        const sig = await this.getSignature({ uploadId: record.uploadId }, signal);
        timings.signatureMs += Date.now() - t;
        stage({ stage: 'apply', uploadId: record.uploadId, resumed: true });
        t = Date.now();
        apply = await this.ugc.call<UgcApplyData>(
          'ApplyUploadUGC',
          record.uploadId,
          sig.signature,
          { vodSessionKey: record.vodSessionKey },
          signal,
        );
        timings.applyMs += Date.now() - t;
        uploadId = record.uploadId;
        resumed = true;
      } catch (error) {
        // The upload moved on (404/409 from the backend) or VOD forgot the session (10005): start over.
        const stale =
          error instanceof VodUploadError &&
          ((error.kind === 'signature-refused' && (error.status === 404 || error.status === 409)) ||
            (error.kind === 'apply-failed' && (error.code === 10005 || error.code === 10002)));
        if (!stale) throw error;
        await store?.delete(resumeKey);
        record = undefined;
        apply = undefined;
      }
    }

    if (!apply) {
      stage({ stage: 'signature' });
      let t = Date.now();
      const sig = await this.getSignature(
        { fileName: video.name, fileSize: video.size, fileType: videoType, ...(coverType ? { coverType } : {}) },
        signal,
      );
      timings.signatureMs += Date.now() - t;
      uploadId = sig.uploadId;
      stage({ stage: 'apply', uploadId, resumed: false });
      t = Date.now();
      try {
        apply = await this.ugc.call<UgcApplyData>(
          'ApplyUploadUGC',
          uploadId,
          sig.signature,
          {
            videoName: cleanMediaName(call.mediaName ?? baseName(video.name)),
            videoType,
            videoSize: video.size,
            ...(cover && coverType ? { coverName: cleanMediaName(baseName(cover.name)), coverType, coverSize: cover.size } : {}),
          },
          signal,
        );
      } catch (error) {
        if (error instanceof VodUploadError) error.uploadId ??= uploadId;
        throw error;
      }
      timings.applyMs += Date.now() - t;
      record = { uploadId, vodSessionKey: apply.vodSessionKey, savedAt: Date.now() };
      await store?.set(resumeKey, record);
    }
    if (!apply.tempCertificate || !apply.vodSessionKey || (!apply.video && !record?.uploaded)) {
      throw new VodUploadError('apply-failed', 'ApplyUploadUGC answered without a credential, session key or storage path', {
        uploadId,
      });
    }

    // COS
    stage({ stage: 'upload', uploadId, resumed });
    let t = Date.now();
    let credentialRefreshes = 0;
    let resumedBytes = 0;
    if (!record?.uploaded) {
      const outcome = await uploadToCos(this.cos, apply, uploadId, video, cover, call, signal, totalBytes);
      credentialRefreshes = outcome.refreshes;
      resumedBytes = outcome.resumedBytes;
      record = { ...record!, uploaded: true, savedAt: Date.now() };
      await store?.set(resumeKey, record);
    } else {
      resumedBytes = totalBytes;
      call.onProgress?.({ loaded: totalBytes, total: totalBytes, fraction: 1, bytesPerSecond: 0, etaSeconds: 0 });
    }
    timings.uploadMs = Date.now() - t;

    // Commit, with a fresh signature.
    stage({ stage: 'commit', uploadId });
    t = Date.now();
    let commit: UgcCommitData;
    try {
      commit = await this.ugc.call<UgcCommitData>(
        'CommitUploadUGC',
        uploadId,
        undefined,
        { vodSessionKey: apply.vodSessionKey },
        signal,
      );
    } catch (error) {
      if (error instanceof VodUploadError && error.kind === 'commit-failed' && error.code === 10008 && store && record) {
        await store.set(resumeKey, { ...record, uploaded: false }); // the objects are not all there: upload again next time
      }
      if (error instanceof VodUploadError) error.uploadId ??= uploadId;
      throw error;
    }
    timings.commitMs = Date.now() - t;
    await store?.delete(resumeKey);

    const result: UploadResult = {
      uploadId,
      fileId: commit.fileId,
      videoUrl: commit.video?.url,
      coverUrl: commit.cover?.url,
      status: 'COMMITTED',
      resumed,
      resumedBytes,
      totalBytes,
      credentialRefreshes,
      timings,
    };
    if (call.waitForReady) {
      const wait = typeof call.waitForReady === 'object' ? call.waitForReady : {};
      t = Date.now();
      let last: UploadStatus | undefined;
      result.upload = await this.waitForReady(uploadId, {
        ...wait,
        signal: wait.signal ?? signal,
        onStatus: (view) => {
          if (view.status !== last) {
            last = view.status;
            stage({ stage: 'processing', uploadId, status: view.status, fileId: commit.fileId });
          }
          wait.onStatus?.(view);
        },
      }).catch((error: unknown) => {
        if (error instanceof VodUploadError) error.fileId ??= commit.fileId;
        throw error;
      });
      result.status = result.upload.status;
      timings.processingMs = Date.now() - t;
    }
    timings.totalMs = Date.now() - started;
    stage({ stage: 'done', uploadId, fileId: commit.fileId, status: result.upload?.status });
    return result;
  }

  /**
   * Polls `GET /uploads/{uploadId}` until READY (resolves), FAILED/REJECTED/EXPIRED/BLOCKED/DELETED, or the
   * timeout. IN_REVIEW is waited through: a person may still allow it.
   */
  async waitForReady(uploadId: string, options: WaitOptions = {}): Promise<UploadView> {
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    let interval = options.intervalMs ?? 1000;
    let view: UploadView | undefined;
    for (;;) {
      view = await this.getUpload(uploadId, options.signal);
      options.onStatus?.(view);
      if (view.status === 'READY') return view;
      if (ENDED.has(view.status)) {
        const label =
          view.status === 'BLOCKED' && view.review?.label ? `: blocked by the content review (${view.review.label})` : '';
        const why = view.error?.message ? `: ${view.error.message}` : label;
        throw new VodUploadError('processing-failed', `upload ${uploadId} ended ${view.status}${why}`, {
          uploadId,
          upload: view,
          ...(view.error?.code ? { code: view.error.code } : {}),
        });
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new VodUploadError(
          'timeout',
          `upload ${uploadId} is still ${view.status} after ${options.timeoutMs ?? 600_000} ms`,
          { uploadId, upload: view },
        );
      }
      await sleep(Math.min(interval, left), options.signal);
      interval = Math.min(options.maxIntervalMs ?? 5000, Math.round(interval * 1.5));
    }
  }
}
