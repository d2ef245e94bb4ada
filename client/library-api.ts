/**
 * The user's library on this backend: `GET /uploads` (one page, newest first), `DELETE /uploads/{uploadId}`
 * and `GET /me/usage`. Same headers, error kinds, retries and timeouts as the upload routes (backend-api.ts):
 * listing and usage are reads and a delete is idempotent, so all three are retried on network errors and 5xx.
 */
import type { BackendApi } from './backend-api.ts';
import type { HttpCall } from './http-call.ts';
import type { RetryPolicy } from './options.ts';
import { failure, withRetry } from './retry.ts';
import type { UploadStatus, UploadView } from '#contract';

/** One upload in a listing: the status view; `userId` is set when a service token lists every user's uploads. */
export type LibraryUpload = UploadView & { userId?: string };

export interface ListOptions {
  /** Only uploads in this status. */
  status?: UploadStatus;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Uploads per page, 1–100 (the backend's default: 20). */
  limit?: number;
  /** Another user's uploads (service token only; a user token may name only itself). */
  userId?: string;
  signal?: AbortSignal;
}

export interface UploadPage {
  uploads: LibraryUpload[];
  /** Pass it as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

export interface DeleteResult {
  /** The upload as it is now (status DELETED). */
  upload: UploadView;
  /** `pending`: VOD could not be reached (202); the backend's cleanup run deletes the media. */
  mediaDeletion: 'done' | 'pending';
}

/** One quota: `limit: null` when none is set; `resetsAt` for the daily ones. */
export interface QuotaUse {
  limit: number | null;
  used: number;
  resetsAt?: string;
}

export interface UsageReport {
  userId: string;
  quotas: {
    uploadsPerDay: QuotaUse;
    bytesPerDay: QuotaUse;
    storedBytes: QuotaUse;
    storedSeconds: QuotaUse;
    concurrentUploads: QuotaUse;
  };
}

export class LibraryApi {
  constructor(
    private readonly backend: BackendApi,
    private readonly http: HttpCall,
    private readonly retryPolicy: Required<RetryPolicy>,
  ) {}

  private async get(path: string, query: Record<string, string | undefined>, what: string, signal?: AbortSignal) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
    const search = params.toString();
    return withRetry(this.retryPolicy, signal, async () => {
      const answer = await this.http(
        `${this.backend.apiBaseUrl}${path}${search ? `?${search}` : ''}`,
        { method: 'GET', headers: await this.backend.backendHeaders(false) },
        signal,
        what,
      );
      if (answer.status !== 200) throw this.backend.backendError(answer, what);
      return answer.body;
    });
  }

  /** `GET /uploads`: one page of uploads, newest first. */
  async list(options: ListOptions = {}): Promise<UploadPage> {
    const what = 'listing the uploads';
    if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit >= 1 && options.limit <= 100)) {
      throw failure('bad-input', `${what}: limit must be a whole number from 1 to 100, not ${options.limit}`, {
        field: 'limit',
      });
    }
    const body = (await this.get(
      '/uploads',
      {
        status: options.status,
        cursor: options.cursor,
        limit: options.limit === undefined ? undefined : String(options.limit),
        userId: options.userId,
      },
      what,
      options.signal,
    )) as Partial<UploadPage> | undefined;
    if (!body || !Array.isArray(body.uploads) || (body.nextCursor !== null && typeof body.nextCursor !== 'string')) {
      throw failure('network', `${what}: the backend's answer has no uploads/nextCursor`, { status: 200 });
    }
    return { uploads: body.uploads, nextCursor: body.nextCursor };
  }

  /** Every page from `options.cursor` on, one page at a time. */
  async *listAll(options: Omit<ListOptions, 'cursor'> & { cursor?: string } = {}): AsyncGenerator<UploadPage> {
    let cursor = options.cursor;
    for (;;) {
      const page = await this.list({ ...options, cursor });
      yield page;
      if (!page.nextCursor) return;
      cursor = page.nextCursor;
    }
  }

  /** `DELETE /uploads/{uploadId}`: idempotent, so a retried delete that already went through answers 200 again. */
  async deleteUpload(uploadId: string, signal?: AbortSignal): Promise<DeleteResult> {
    const what = `deleting upload ${uploadId}`;
    if (typeof uploadId !== 'string' || !uploadId) throw failure('bad-input', `${what}: give an upload id`);
    return withRetry(this.retryPolicy, signal, async () => {
      const answer = await this.http(
        `${this.backend.apiBaseUrl}/uploads/${encodeURIComponent(uploadId)}`,
        { method: 'DELETE', headers: await this.backend.backendHeaders(false) },
        signal,
        what,
      );
      if (answer.status === 404) {
        // Missing, or another user's: the backend does not say which.
        throw failure('bad-input', `${what}: upload ${uploadId} not found (404)`, { status: 404, uploadId });
      }
      if (answer.status !== 200 && answer.status !== 202) throw this.backend.backendError(answer, what, uploadId);
      const view = answer.body as (UploadView & { mediaDeletion?: string }) | undefined;
      if (!view || typeof view.status !== 'string')
        throw failure('network', `${what}: the backend's answer has no status`, { uploadId }, true);
      const pending = answer.status === 202 || view.mediaDeletion === 'pending';
      return { upload: view, mediaDeletion: pending ? 'pending' : 'done' };
    });
  }

  /** `GET /me/usage`: the caller's quota use and limits (`userId`: another user's, service token only). */
  async usage(options: { userId?: string; signal?: AbortSignal } = {}): Promise<UsageReport> {
    const what = 'reading the quota usage';
    const body = (await this.get('/me/usage', { userId: options.userId }, what, options.signal)) as
      | Partial<UsageReport>
      | undefined;
    if (!body || typeof body.userId !== 'string' || !body.quotas || typeof body.quotas !== 'object') {
      throw failure('network', `${what}: the backend's answer has no userId/quotas`, { status: 200 });
    }
    return body as UsageReport;
  }
}
