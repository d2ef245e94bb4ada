/**
 * This backend's routes for the upload client: `POST /upload-signature` and `GET /uploads/{uploadId}`
 * (the library's routes, in library-api.ts, share the headers and the error mapping).
 */
import type { VodUploadError } from './errors.ts';
import type { HttpAnswer, HttpCall } from './http-call.ts';
import type { RetryPolicy, VodUploaderOptions } from './options.ts';
import { failure, withRetry } from './retry.ts';
import type { UploadView } from '#contract';

export interface SignatureReply {
  signature: string;
  uploadId: string;
  expiresAt?: string;
}

export class BackendApi {
  constructor(
    /** Without a trailing slash. */
    readonly apiBaseUrl: string,
    /** Read on every call (`token`, `headers`). */
    private readonly options: VodUploaderOptions,
    private readonly http: HttpCall,
    private readonly retryPolicy: Required<RetryPolicy>,
  ) {}

  /** Accept, the caller's extra headers and the bearer token (library-api.ts uses it too). */
  async backendHeaders(json: boolean): Promise<Record<string, string>> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.options.headers };
    if (json) headers['content-type'] = 'application/json';
    const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    return headers;
  }

  /** Turns a non-2xx answer of this backend into a typed error. */
  backendError(answer: HttpAnswer, what: string, uploadId?: string): VodUploadError {
    const err = (
      answer.body as
        | {
            error?: {
              code?: string;
              message?: string;
              field?: string;
              quota?: unknown;
              limit?: unknown;
              used?: unknown;
              resetsAt?: unknown;
            };
          }
        | undefined
    )?.error;
    const message = err?.message ?? (answer.text.slice(0, 200) || `HTTP ${answer.status}`);
    const details = { status: answer.status, code: err?.code, field: err?.field, uploadId };
    if (answer.status === 401 || answer.status === 403 || answer.status === 429) {
      const retryAfter = Number(answer.headers.get('retry-after'));
      const refused =
        err?.code === 'QuotaExceeded'
          ? 'quota exceeded'
          : answer.status === 429
            ? 'rate limit reached'
            : answer.status === 401
              ? 'token refused'
              : 'forbidden';
      return failure(
        'signature-refused',
        `${what}: ${refused} (${answer.status}${err?.code ? ` ${err.code}` : ''}): ${message}`,
        {
          ...details,
          ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
          ...(err?.code === 'QuotaExceeded' && typeof err.quota === 'string'
            ? {
                quota: {
                  name: err.quota,
                  ...(typeof err.limit === 'number' ? { limit: err.limit } : {}),
                  ...(typeof err.used === 'number' ? { used: err.used } : {}),
                  ...(typeof err.resetsAt === 'string' ? { resetsAt: err.resetsAt } : {}),
                },
              }
            : {}),
        },
      );
    }
    if (answer.status === 400 || answer.status === 413 || answer.status === 415 || answer.status === 422) {
      return failure(
        'bad-input',
        `${what}: the backend refused the request (${answer.status}${err?.field ? `, field ${err.field}` : ''}): ${message}`,
        details,
      );
    }
    if ((answer.status === 404 || answer.status === 409) && uploadId) {
      // The upload is unknown, not this user's, or no longer waiting for its file.
      return failure('signature-refused', `${what}: ${message} (${answer.status})`, details);
    }
    if (answer.status === 404 || answer.status === 405) {
      return failure(
        'bad-input',
        `${what}: ${this.apiBaseUrl} has no such route (${answer.status}); is it the upload backend's base URL?`,
        details,
      );
    }
    return failure(
      'network',
      `${what}: the backend answered ${answer.status}: ${message}`,
      details,
      answer.status >= 500 || answer.status === 408,
    );
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
        if (answer.status === 404)
          throw failure('bad-input', `${what}: upload ${uploadId} not found (404)`, { status: 404, uploadId });
        throw this.backendError(answer, what, uploadId);
      }
      const view = answer.body as UploadView | undefined;
      if (!view || typeof view.status !== 'string')
        throw failure('network', `${what}: the backend's answer has no status`, { uploadId }, true);
      return view;
    });
  }
}
