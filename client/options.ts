/** What callers pass to the upload client and what it gives back. */
import type { ResumeStore } from './resume-store.ts';
import type { UploadStatus, UploadView } from '#contract';

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
