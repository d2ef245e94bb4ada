/**
 * The platform-neutral upload client: signature from this backend → ApplyUploadUGC → COS multipart
 * upload with the official COS SDK → CommitUploadUGC → optionally wait for READY. It speaks HTTP only
 * (global `fetch`), imports nothing from Node or the browser: `node.ts` and `browser.ts` supply the COS
 * SDK build, file access and the resume store (see `Platform`).
 */
import { VodUploadError } from './errors.ts';
import type { VodUploadErrorKind } from './errors.ts';
import type { UploadStatus, UploadView } from './upload-view.ts';

export const DEFAULT_VOD_API_URL = 'https://vod2.qcloud.com';
/** vod-js-sdk-v6 switches to this host after a failed request to the default one, and back. */
export const BACKUP_VOD_API_URL = 'https://vod2.dnsv1.com';
const MIB = 1024 * 1024;

// ───────────────────────────── platform seam ─────────────────────────────

/** A file to upload, as the platform describes it. */
export interface UploadSource {
  /** Base name with extension, e.g. `clip.mp4`. */
  name: string;
  size: number;
  /** Stable identity of this file's content (path + size + mtime, name + size + lastModified): the resume key. */
  identity: string;
  /** What to pass to COS `sliceUploadFile`: `{ FilePath }` (Node) or `{ Body }` (browser). */
  cosParams: Record<string, unknown>;
}

/** The subset of the COS SDK (cos-nodejs-sdk-v5 / cos-js-sdk-v5) this client drives. */
export interface CosLike {
  sliceUploadFile(params: Record<string, unknown>, callback: (err: unknown, data: unknown) => void): unknown;
  cancelTask(taskId: string): void;
  restartTask(taskId: string): void;
}

export interface Platform {
  /** Turns what the caller passed (a path, a File…) into an UploadSource; throws bad-input when unusable. */
  describe(file: unknown, role: 'video' | 'cover'): Promise<UploadSource>;
  /** `new COS(options)` of the platform's SDK build (plus platform options such as `ConfCwd`). */
  createCos(options: Record<string, unknown>): CosLike;
  /** `COS.getAuthorization(options)`: the SDK's own request signer. */
  signCos(options: Record<string, unknown>): string;
  /** Where resume records go when the caller gives no store. */
  defaultResumeStore(): ResumeStore;
}

// ───────────────────────────── resume store ─────────────────────────────

/** What is kept between runs so an interrupted upload continues instead of starting over. */
export interface ResumeRecord {
  uploadId: string;
  vodSessionKey: string;
  /** Every file reached COS; only the commit is left. */
  uploaded?: boolean;
  savedAt: number;
}

export interface ResumeStore {
  get(key: string): ResumeRecord | undefined | Promise<ResumeRecord | undefined>;
  set(key: string, record: ResumeRecord): void | Promise<void>;
  delete(key: string): void | Promise<void>;
  /**
   * Optional: claims a record for one running upload. Returns a release function, or undefined when
   * another live upload holds it (that upload's record is then left alone: this one runs without resume).
   */
  lock?(key: string): (() => void) | undefined | Promise<(() => void) | undefined>;
}

export class MemoryResumeStore implements ResumeStore {
  private readonly records = new Map<string, ResumeRecord>();
  get(key: string) {
    return this.records.get(key);
  }
  set(key: string, record: ResumeRecord) {
    this.records.set(key, record);
  }
  delete(key: string) {
    this.records.delete(key);
  }
}

/** Resume records older than this are ignored (the upload's signature has long expired by then). */
export const RESUME_MAX_AGE_MS = 7 * 24 * 3600_000;

export function isResumeRecord(value: unknown): value is ResumeRecord {
  const v = value as ResumeRecord | null;
  return !!v && typeof v === 'object' && typeof v.uploadId === 'string' && typeof v.vodSessionKey === 'string' && typeof v.savedAt === 'number';
}

// ───────────────────────────── options and results ─────────────────────────────

export interface RetryPolicy {
  /** Retries after the first attempt. Default 3. */
  retries?: number;
  /** First pause; doubles each retry, with jitter. Default 500 ms. */
  minDelayMs?: number;
  /** Longest pause. Default 8000 ms. */
  maxDelayMs?: number;
}

export interface VodUploaderOptions {
  /** This backend's base URL (where `POST /upload-signature` and `GET /uploads/{id}` live). */
  apiBaseUrl: string;
  /** The app user's bearer token, or a function returning a current one (called for every request). */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** Extra headers for calls to this backend (e.g. `X-User-Id` with `AUTH_MODE=none` locally). */
  headers?: Record<string, string>;
  /**
   * Base URL of the VOD UGC upload API. Default `https://vod2.qcloud.com` (Tencent's), switching to
   * `https://vod2.dnsv1.com` and back after transport or HTTP failures, as vod-js-sdk-v6 does.
   */
  vodApiUrl?: string;
  /**
   * COS `Domain` override, e.g. the local emulator's `127.0.0.1:8081/cos/{Bucket}/{Region}`.
   * Default: Tencent's `<bucket>.cos.<region>.myqcloud.com`.
   */
  cosDomain?: string;
  /** COS protocol. Default: `http:` when `cosDomain` is set and `vodApiUrl` is http, else `https:`. */
  cosProtocol?: 'http:' | 'https:';
  /** Part size in bytes (at least 1 MiB; COS raises it for files over 10000 parts). Default 8 MiB. */
  chunkSize?: number;
  /** Parts uploaded in parallel. Default 4. */
  parallel?: number;
  /** COS SDK retries per part. Default 3. */
  chunkRetries?: number;
  /** Retries of whole calls (signature, apply, commit, status, a failed COS upload) with backoff. */
  retry?: RetryPolicy;
  /** Timeout of each call to this backend and the UGC API. Default 15000 ms. */
  requestTimeoutMs?: number;
  /** Keep resume records and continue interrupted uploads. Default true. */
  resume?: boolean;
  /** Where resume records go. Default: a JSON file (Node) or localStorage (browser). */
  resumeStore?: ResumeStore;
  /** Milliseconds since the epoch, for credential renewal decisions (tests move it). Default Date.now. */
  clock?: () => number;
  /** fetch implementation. Default the global one. */
  fetch?: typeof fetch;
}

export interface WaitOptions {
  /** Give up after this long. Default 10 minutes. */
  timeoutMs?: number;
  /** First polling interval; grows ×1.5 up to `maxIntervalMs`. Default 1000 ms. */
  intervalMs?: number;
  /** Default 5000 ms. */
  maxIntervalMs?: number;
  signal?: AbortSignal;
  /** Called with every view polled. */
  onStatus?: (upload: UploadView) => void;
}

export interface UploadProgress {
  /** Bytes of the video and cover on COS so far (parts kept from an interrupted run included). */
  loaded: number;
  total: number;
  /** 0..1 */
  fraction: number;
  /** Recent upload rate (last few seconds), bytes/s; 0 until measurable. */
  bytesPerSecond: number;
  /** Seconds left at the recent rate; undefined until measurable. */
  etaSeconds: number | undefined;
}

export type UploadStage = 'signature' | 'apply' | 'upload' | 'commit' | 'processing' | 'done';

export interface StageEvent {
  stage: UploadStage;
  /** Milliseconds since `upload()` started. */
  elapsedMs: number;
  uploadId?: string;
  /** Set on `apply`: this run continues an interrupted upload. */
  resumed?: boolean;
  /** Set on `processing` when the backend reported a (new) status. */
  status?: UploadStatus;
  fileId?: string;
}

export interface UploadCallOptions {
  /** A cover image (same kinds of value as the video). */
  cover?: unknown;
  /** Media name in VOD. Default: the file name without extension. */
  mediaName?: string;
  /** The video's type (extension), when the file name has none. */
  fileType?: string;
  signal?: AbortSignal;
  onProgress?: (progress: UploadProgress) => void;
  onStage?: (event: StageEvent) => void;
  /** Called whenever the temporary COS credential is renewed. */
  onCredentialsRefreshed?: (info: { expiredTime: number; refreshes: number }) => void;
  /** Wait for READY after the commit (polling `GET /uploads/{uploadId}`). */
  waitForReady?: boolean | WaitOptions;
}

export interface UploadResult {
  uploadId: string;
  fileId: string;
  /** VOD's URL of the original upload (CommitUploadUGC `video.url`). */
  videoUrl?: string;
  coverUrl?: string;
  /** `COMMITTED` when not waiting; else the final status (READY). */
  status: UploadStatus | 'COMMITTED';
  /** The backend's view once READY (with `waitForReady`). */
  upload?: UploadView;
  /** This run continued an interrupted upload. */
  resumed: boolean;
  /** Bytes already on COS when this run started (kept parts of an interrupted run). */
  resumedBytes: number;
  totalBytes: number;
  /** Times renewed the temporary COS credential. */
  credentialRefreshes: number;
  timings: { signatureMs: number; applyMs: number; uploadMs: number; commitMs: number; processingMs?: number; totalMs: number };
}

// ───────────────────────────── wire shapes ─────────────────────────────

interface SignatureReply {
  signature: string;
  uploadId: string;
  expiresAt?: string;
}

interface ApplyData {
  video?: { storagePath: string };
  cover?: { storagePath: string };
  storageAppId: number;
  storageBucket: string;
  storageRegionV5: string;
  vodSessionKey: string;
  tempCertificate: { secretId: string; secretKey: string; token: string; expiredTime: number };
  timestamp: number;
}

interface CommitData {
  fileId: string;
  video?: { url?: string };
  cover?: { url?: string };
}

// ───────────────────────────── helpers ─────────────────────────────

const RETRYABLE = Symbol('retryable');
type RetryableError = VodUploadError & { [RETRYABLE]?: boolean };

function failure(kind: VodUploadErrorKind, message: string, details: ConstructorParameters<typeof VodUploadError>[2] = {}, retryable = false): VodUploadError {
  const error = new VodUploadError(kind, message, details) as RetryableError;
  if (retryable) Object.defineProperty(error, RETRYABLE, { value: true });
  return error;
}

const isRetryable = (error: unknown) => error instanceof VodUploadError && (error as RetryableError)[RETRYABLE] === true;

function cancelled(uploadId?: string): VodUploadError {
  return new VodUploadError('cancelled', 'the upload was cancelled', uploadId ? { uploadId } : {});
}

/** Sleeps, or rejects with `cancelled` when the signal fires. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function backoffMs(attempt: number, policy: Required<RetryPolicy>): number {
  const base = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** attempt);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

async function withRetry<T>(policy: Required<RetryPolicy>, signal: AbortSignal | undefined, op: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw cancelled();
    try {
      return await op(attempt);
    } catch (error) {
      if (!isRetryable(error) || attempt >= policy.retries) throw error;
      await sleep(backoffMs(attempt, policy), signal);
    }
  }
}

const extension = (name: string) => {
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot + 1).toLowerCase() : '';
};
const baseName = (name: string) => {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
};
/** VOD refuses `\ / : * ? " < > |` in media names (vod-js-sdk-v6). */
const cleanMediaName = (name: string) => name.replace(/[\\/:*?"<>|]/g, '_').trim() || 'video';

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
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

// ───────────────────────────── the uploader ─────────────────────────────

interface HttpAnswer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

export class VodUploaderCore {
  readonly apiBaseUrl: string;
  readonly vodApiUrl: string;
  /** The UGC API host in use (alternates with the backup host when `vodApiUrl` is the default). */
  private vodHosts: string[];
  private vodHost = 0;
  private readonly options: VodUploaderOptions;
  private readonly retryPolicy: Required<RetryPolicy>;
  private readonly clock: () => number;
  private readonly fetchImpl: typeof fetch;
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
    this.apiBaseUrl = trimSlash(options.apiBaseUrl);
    this.vodApiUrl = trimSlash(options.vodApiUrl ?? DEFAULT_VOD_API_URL);
    this.vodHosts = options.vodApiUrl === undefined ? [DEFAULT_VOD_API_URL, BACKUP_VOD_API_URL] : [this.vodApiUrl];
    this.retryPolicy = { retries: 3, minDelayMs: 500, maxDelayMs: 8000, ...options.retry };
    this.clock = options.clock ?? Date.now;
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new VodUploadError('bad-input', 'no fetch implementation: pass options.fetch');
    this.fetchImpl = f.bind(globalThis) as typeof fetch;
  }

  private resumeStore(): ResumeStore | undefined {
    if (this.options.resume === false) return undefined;
    this.store ??= this.options.resumeStore ?? this.platform.defaultResumeStore();
    return this.store;
  }

  // ── HTTP ──

  private async http(url: string, init: RequestInit, signal: AbortSignal | undefined, what: string): Promise<HttpAnswer> {
    if (signal?.aborted) throw cancelled();
    const controller = new AbortController();
    const timeoutMs = this.options.requestTimeoutMs ?? 15_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await this.fetchImpl(url, { ...init, signal: controller.signal });
      const text = await response.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      return { status: response.status, headers: response.headers, body, text };
    } catch (error) {
      if (signal?.aborted) throw cancelled();
      if (timedOut) throw failure('network', `${what}: no answer from ${url} within ${timeoutMs} ms`, { cause: error }, true);
      const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      throw failure('network', `${what}: cannot reach ${url} (${reason})`, { cause: error }, true);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private async backendHeaders(json: boolean): Promise<Record<string, string>> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.options.headers };
    if (json) headers['content-type'] = 'application/json';
    const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    return headers;
  }

  /** Turns a non-2xx answer of this backend into a typed error. */
  private backendError(answer: HttpAnswer, what: string, uploadId?: string): VodUploadError {
    const err = (answer.body as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
    const message = err?.message ?? (answer.text.slice(0, 200) || `HTTP ${answer.status}`);
    const details = { status: answer.status, code: err?.code, field: err?.field, uploadId };
    if (answer.status === 401 || answer.status === 403 || answer.status === 429) {
      const retryAfter = Number(answer.headers.get('retry-after'));
      const refused = answer.status === 429 ? 'rate limit reached' : answer.status === 401 ? 'token refused' : 'forbidden';
      return failure('signature-refused', `${what}: ${refused} (${answer.status}${err?.code ? ` ${err.code}` : ''}): ${message}`, {
        ...details,
        ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
      });
    }
    if (answer.status === 400 || answer.status === 413 || answer.status === 415 || answer.status === 422) {
      return failure('bad-input', `${what}: the backend refused the request (${answer.status}${err?.field ? `, field ${err.field}` : ''}): ${message}`, details);
    }
    if ((answer.status === 404 || answer.status === 409) && uploadId) {
      // The upload is unknown, not this user's, or no longer waiting for its file.
      return failure('signature-refused', `${what}: ${message} (${answer.status})`, details);
    }
    if (answer.status === 404 || answer.status === 405) {
      return failure('bad-input', `${what}: ${this.apiBaseUrl} has no such route (${answer.status}); is it the upload backend's base URL?`, details);
    }
    return failure('network', `${what}: the backend answered ${answer.status}: ${message}`, details, answer.status >= 500 || answer.status === 408);
  }

  /** `POST /upload-signature` (with retries on network errors and 5xx). */
  async getSignature(body: Record<string, unknown>, signal?: AbortSignal): Promise<SignatureReply> {
    const what = body.uploadId ? 'renewing the upload signature' : 'getting an upload signature';
    return withRetry(this.retryPolicy, signal, async () => {
      const answer = await this.http(
        `${this.apiBaseUrl}/upload-signature`,
        { method: 'POST', headers: await this.backendHeaders(true), body: JSON.stringify(body) },
        signal,
        what,
      );
      if (answer.status !== 200) throw this.backendError(answer, what, body.uploadId as string | undefined);
      const reply = answer.body as SignatureReply | undefined;
      if (!reply || typeof reply.signature !== 'string' || typeof reply.uploadId !== 'string') {
        throw failure('network', `${what}: the backend's answer has no signature/uploadId`, { status: answer.status });
      }
      return reply;
    });
  }

  /** `GET /uploads/{uploadId}`: the backend's view of one upload. */
  async getUpload(uploadId: string, signal?: AbortSignal): Promise<UploadView> {
    const what = 'reading the upload status';
    return withRetry(this.retryPolicy, signal, async () => {
      const answer = await this.http(
        `${this.apiBaseUrl}/uploads/${encodeURIComponent(uploadId)}`,
        { method: 'GET', headers: await this.backendHeaders(false) },
        signal,
        what,
      );
      if (answer.status !== 200) {
        if (answer.status === 404) throw failure('bad-input', `${what}: upload ${uploadId} not found (404)`, { status: 404, uploadId });
        throw this.backendError(answer, what, uploadId);
      }
      const view = answer.body as UploadView | undefined;
      if (!view || typeof view.status !== 'string') throw failure('network', `${what}: the backend's answer has no status`, { uploadId }, true);
      return view;
    });
  }

  /** One UGC API call; HTTP and transport problems are retryable `network` errors. */
  private async ugc(action: string, body: Record<string, unknown>, signal: AbortSignal | undefined): Promise<{ code: number; message: string; data: unknown }> {
    const host = this.vodHosts[this.vodHost % this.vodHosts.length]!;
    const switchHost = () => {
      this.vodHost += 1;
    };
    let answer: HttpAnswer;
    try {
      answer = await this.http(
        `${host}/v3/index.php?Action=${action}`,
        { method: 'POST', headers: { 'content-type': 'application/json; charset=UTF-8' }, body: JSON.stringify(body) },
        signal,
        action,
      );
    } catch (error) {
      if (isRetryable(error)) switchHost();
      throw error;
    }
    const reply = answer.body as { code?: unknown; message?: unknown; data?: unknown } | undefined;
    if (answer.status !== 200 || !reply || typeof reply.code !== 'number') {
      switchHost();
      throw failure('network', `${action}: ${host} answered HTTP ${answer.status}${answer.text ? `: ${answer.text.slice(0, 200)}` : ''}`, { status: answer.status }, true);
    }
    return { code: reply.code, message: String(reply.message ?? ''), data: reply.data };
  }

  /**
   * A UGC call with a fresh signature for every attempt after the first (as vod-js-sdk-v6 does).
   * Codes 10001 (internal), 10010 (signature expired) and 10012 (one-time signature used) are retried.
   */
  private async ugcWithSignature<T>(
    action: 'ApplyUploadUGC' | 'CommitUploadUGC',
    uploadId: string,
    firstSignature: string | undefined,
    body: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const kind = action === 'ApplyUploadUGC' ? 'apply-failed' : 'commit-failed';
    return withRetry(this.retryPolicy, signal, async (attempt) => {
      const signature = attempt === 0 && firstSignature ? firstSignature : (await this.getSignature({ uploadId }, signal)).signature;
      const reply = await this.ugc(action, { signature, ...body, uploadFromWeb: true }, signal);
      if (reply.code === 0) return reply.data as T;
      const retryable = reply.code === 10001 || reply.code === 10010 || reply.code === 10012;
      throw failure(kind, `${action} failed (code ${reply.code}): ${reply.message}`, { code: reply.code, uploadId }, retryable);
    });
  }

  // ── the upload ──

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
    if (!videoType) throw new VodUploadError('bad-input', `cannot tell the video type of "${video.name}": give it an extension or pass fileType`);
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
    let apply: ApplyData | undefined;
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
        apply = await this.ugcWithSignature<ApplyData>('ApplyUploadUGC', record.uploadId, sig.signature, { vodSessionKey: record.vodSessionKey }, signal);
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
        apply = await this.ugcWithSignature<ApplyData>(
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
      throw new VodUploadError('apply-failed', 'ApplyUploadUGC answered without a credential, session key or storage path', { uploadId });
    }

    // COS
    stage({ stage: 'upload', uploadId, resumed });
    let t = Date.now();
    let credentialRefreshes = 0;
    let resumedBytes = 0;
    if (!record?.uploaded) {
      const outcome = await this.uploadToCos(apply, uploadId, video, cover, call, signal, totalBytes);
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
    let commit: CommitData;
    try {
      commit = await this.ugcWithSignature<CommitData>('CommitUploadUGC', uploadId, undefined, { vodSessionKey: apply.vodSessionKey }, signal);
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

  /** Polls `GET /uploads/{uploadId}` until READY (resolves), FAILED/REJECTED/EXPIRED/DELETED, or the timeout. */
  async waitForReady(uploadId: string, options: WaitOptions = {}): Promise<UploadView> {
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    let interval = options.intervalMs ?? 1000;
    let view: UploadView | undefined;
    for (;;) {
      view = await this.getUpload(uploadId, options.signal);
      options.onStatus?.(view);
      if (view.status === 'READY') return view;
      if (view.status === 'FAILED' || view.status === 'REJECTED' || view.status === 'EXPIRED' || view.status === 'DELETED') {
        const why = view.error?.message ? `: ${view.error.message}` : '';
        throw new VodUploadError('processing-failed', `upload ${uploadId} ended ${view.status}${why}`, {
          uploadId,
          upload: view,
          ...(view.error?.code ? { code: view.error.code } : {}),
        });
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new VodUploadError('timeout', `upload ${uploadId} is still ${view.status} after ${options.timeoutMs ?? 600_000} ms`, { uploadId, upload: view });
      }
      await sleep(Math.min(interval, left), options.signal);
      interval = Math.min(options.maxIntervalMs ?? 5000, Math.round(interval * 1.5));
    }
  }

  // ── COS ──

  private async uploadToCos(
    apply: ApplyData,
    uploadId: string,
    video: UploadSource,
    cover: UploadSource | undefined,
    call: UploadCallOptions,
    signal: AbortSignal | undefined,
    totalBytes: number,
  ): Promise<{ refreshes: number; resumedBytes: number }> {
    // The temporary credential, renewed (ApplyUploadUGC again with a fresh signature and the session key)
    // once 90 % of its lifetime has passed, as vod-js-sdk-v6 does.
    const obtain = (data: ApplyData) => ({ ...data.tempCertificate, startTime: data.timestamp, obtainedAt: this.clock() });
    let credential = obtain(apply);
    let refreshing: Promise<void> | undefined;
    let refreshes = 0;
    let forceRefresh = false;
    const lifetimeMs = (c: typeof credential) => Math.max(0, c.expiredTime - c.startTime) * 1000;
    const refreshDue = (c: typeof credential) => forceRefresh || this.clock() >= c.obtainedAt + 0.9 * lifetimeMs(c);
    const stillValid = (c: typeof credential) => this.clock() < c.obtainedAt + lifetimeMs(c) - 5_000;
    const refresh = async () => {
      const sig = await this.getSignature({ uploadId }, signal);
      const data = await this.ugcWithSignature<ApplyData>('ApplyUploadUGC', uploadId, sig.signature, { vodSessionKey: apply.vodSessionKey }, signal);
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
            throw new VodUploadError('credentials-expired', `the temporary COS credential expired and could not be renewed: ${error instanceof Error ? error.message : String(error)}`, {
              uploadId,
              cause: error,
            });
          }
        }
      }
      return credential;
    };

    const domain = this.options.cosDomain;
    const protocol = this.options.cosProtocol ?? (domain && this.vodApiUrl.startsWith('http:') ? 'http:' : 'https:');
    const cos = this.platform.createCos({
      ...(domain ? { Domain: domain, AutoSwitchHost: false } : {}),
      Protocol: protocol,
      ForceSignHost: false,
      ChunkParallelLimit: this.options.parallel ?? 4,
      ChunkRetryTimes: this.options.chunkRetries ?? 3,
      ChunkSize: Math.max(MIB, this.options.chunkSize ?? 8 * MIB),
      FileParallelLimit: 2,
      ProgressInterval: 200,
      getAuthorization: (
        options: { Method?: string; Pathname?: string; Key?: string; Query?: Record<string, unknown>; Headers?: Record<string, unknown> },
        callback: (auth: Record<string, unknown>) => void,
      ) => {
        currentCredential().then(
          (c) => {
            const Authorization = this.platform.signCos({
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
            fail(error instanceof VodUploadError ? error : new VodUploadError('credentials-expired', String(error), { uploadId, cause: error }));
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
            this.runCosTask(cos, tasks, {
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
            }, signal, uploadId, () => {
              forceRefresh = true;
            }, () => fatalError),
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
  private runCosTask(
    cos: CosLike,
    tasks: string[],
    params: Record<string, unknown>,
    signal: AbortSignal | undefined,
    uploadId: string,
    forceRefresh: () => void,
    fatalError: () => VodUploadError | undefined,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let taskId = '';
      let attempt = 0;
      cos.sliceUploadFile(
        {
          ...params,
          onTaskReady: (id: string) => {
            taskId = id;
            tasks.push(id);
          },
        },
        (err, data) => {
          if (!err) return resolve(data);
          const known = fatalError();
          if (known) return reject(known);
          const error = classifyCosError(err, uploadId);
          const again = isRetryable(error) && attempt < this.retryPolicy.retries && !signal?.aborted;
          if (!again) return reject(error);
          if (error.kind === 'credentials-expired') forceRefresh();
          sleep(backoffMs(attempt++, this.retryPolicy), signal).then(
            () => cos.restartTask(taskId),
            (e: unknown) => reject(e),
          );
        },
      );
    });
  }
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
      for (const part of value as Array<{ Uploaded?: boolean; Size?: number | string }>) if (part?.Uploaded) bytes += Number(part.Size) || 0;
      onKept(bytes);
    },
  });
  return data;
}

/** Maps a COS SDK error to a typed one (retryable: network, 5xx, expired credential, request timeouts). */
export function classifyCosError(err: unknown, uploadId?: string): VodUploadError {
  const e = (err ?? {}) as { statusCode?: number; code?: string; message?: string; error?: { Code?: string; Message?: string } | string };
  const inner = typeof e.error === 'object' && e.error ? e.error : undefined;
  const code = inner?.Code ?? e.code;
  const message = inner?.Message ?? e.message ?? (typeof e.error === 'string' ? e.error : 'COS request failed');
  const status = e.statusCode;
  if (status === 403 && /expired/i.test(`${code} ${message}`)) {
    return failure('credentials-expired', `COS refused the temporary credential: ${message}`, { status, code, uploadId, cause: err }, true);
  }
  if (status === undefined || status === 0) {
    return failure('network', `COS could not be reached: ${message}${code ? ` (${code})` : ''}`, { code, uploadId, cause: err }, true);
  }
  return failure('upload-failed', `COS answered ${status}${code ? ` ${code}` : ''}: ${message}`, { status, code, uploadId, cause: err }, status >= 500 || status === 408 || status === 429);
}
