/**
 * Typed errors of the upload client. Every failure is a `VodUploadError` whose `kind` says what failed;
 * the CLI maps kinds to exit codes (see `exitCodeFor` in cli/exit-codes.ts).
 */
import type { UploadView } from '#contract';

export type VodUploadErrorKind =
  /**
   * The backend refused the app token or the request: 401, 403 or 429 (see `status`, `code`,
   * `retryAfterSeconds`; `quota` for a 429 QuotaExceeded). The library calls use it too.
   */
  | 'signature-refused'
  /** ApplyUploadUGC answered with a non-zero `code` (see `code`). */
  | 'apply-failed'
  /** The temporary COS credential expired and could not be renewed. */
  | 'credentials-expired'
  /** COS refused or failed the upload (see `status`, `code`). */
  | 'upload-failed'
  /** CommitUploadUGC answered with a non-zero `code`. */
  | 'commit-failed'
  /** A server could not be reached, or kept answering 5xx / timing out after every retry. */
  | 'network'
  /** The caller's AbortSignal fired. */
  | 'cancelled'
  /** The upload reached FAILED, REJECTED, EXPIRED, BLOCKED or DELETED while waiting for READY (see `upload`). */
  | 'processing-failed'
  /** `waitForReady` ran out of time (see `upload` for the last status seen). */
  | 'timeout'
  /** The file or an option is unusable: missing file, unknown type, a 400/413/415 from the backend. */
  | 'bad-input';

export interface QuotaRefusal {
  /** `uploadsPerDay`, `bytesPerDay`, `storedBytes`, `storedSeconds` or `concurrentUploads`. */
  name: string;
  limit?: number;
  used?: number;
  resetsAt?: string;
}

export interface VodUploadErrorDetails {
  /** HTTP status, when the failure was an HTTP answer. */
  status?: number;
  /** Server error code: the backend's `error.code`, the UGC API's numeric `code`, or COS's `Code`. */
  code?: string | number;
  /** Which field the backend named as bad (`error.field`). */
  field?: string;
  /** From a 429's `Retry-After`. */
  retryAfterSeconds?: number;
  /** A `429 QuotaExceeded`: which quota, its limit, what is used, when a daily one frees up. */
  quota?: QuotaRefusal;
  /** The upload id, once one was issued. */
  uploadId?: string;
  /** VOD's file id, once the commit succeeded (processing-failed, timeout). */
  fileId?: string;
  /** The last `GET /uploads/{uploadId}` view (processing-failed, timeout). */
  upload?: UploadView;
  cause?: unknown;
}

export class VodUploadError extends Error {
  readonly kind: VodUploadErrorKind;
  readonly status?: number;
  readonly code?: string | number;
  readonly field?: string;
  readonly retryAfterSeconds?: number;
  readonly quota?: QuotaRefusal;
  uploadId?: string;
  fileId?: string;
  readonly upload?: UploadView;

  constructor(kind: VodUploadErrorKind, message: string, details: VodUploadErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'VodUploadError';
    this.kind = kind;
    if (details.status !== undefined) this.status = details.status;
    if (details.code !== undefined) this.code = details.code;
    if (details.field !== undefined) this.field = details.field;
    if (details.retryAfterSeconds !== undefined) this.retryAfterSeconds = details.retryAfterSeconds;
    if (details.quota !== undefined) this.quota = details.quota;
    if (details.uploadId !== undefined) this.uploadId = details.uploadId;
    if (details.fileId !== undefined) this.fileId = details.fileId;
    if (details.upload !== undefined) this.upload = details.upload;
  }

  toJSON(): Record<string, unknown> {
    return {
      kind: this.kind,
      message: this.message,
      status: this.status,
      code: this.code,
      field: this.field,
      retryAfterSeconds: this.retryAfterSeconds,
      quota: this.quota,
      uploadId: this.uploadId,
      fileId: this.fileId,
    };
  }
}

export function isVodUploadError(error: unknown): error is VodUploadError {
  return error instanceof VodUploadError;
}
