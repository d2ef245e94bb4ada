/**
 * The VOD UGC upload API: ApplyUploadUGC and CommitUploadUGC, each attempt with its own signature, and with
 * the default URL a failed request moves to the backup host (as vod-js-sdk-v6 does).
 */
import type { SignatureReply } from './backend-api.ts';
import type { HttpAnswer, HttpCall } from './http-call.ts';
import { trimSlash } from './http-call.ts';
import type { RetryPolicy } from './options.ts';
import { failure, isRetryable, withRetry } from './retry.ts';
import { UGC_CODES, UGC_RETRYABLE_CODES } from '#contract';

export const DEFAULT_VOD_API_URL = 'https://vod2.qcloud.com';
/** vod-js-sdk-v6 switches to this host after a failed request to the default one, and back. */
const BACKUP_VOD_API_URL = 'https://vod2.dnsv1.com';

export class UgcApi {
  readonly vodApiUrl: string;
  /** The UGC API host in use (alternates with the backup host when `vodApiUrl` is the default). */
  private vodHosts: string[];
  private vodHost = 0;

  constructor(
    vodApiUrl: string | undefined,
    private readonly http: HttpCall,
    private readonly retryPolicy: Required<RetryPolicy>,
    /** A fresh signature of the same upload (`POST /upload-signature` with `{ uploadId }`). */
    private readonly getSignature: (body: { uploadId: string }, signal?: AbortSignal) => Promise<SignatureReply>,
  ) {
    this.vodApiUrl = trimSlash(vodApiUrl ?? DEFAULT_VOD_API_URL);
    this.vodHosts = vodApiUrl === undefined ? [DEFAULT_VOD_API_URL, BACKUP_VOD_API_URL] : [this.vodApiUrl];
  }

  /** One UGC API call; HTTP and transport problems are retryable `network` errors. */
  private async send(
    action: string,
    body: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<{ code: number; message: string; data: unknown }> {
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
      throw failure(
        'network',
        `${action}: ${host} answered HTTP ${answer.status}${answer.text ? `: ${answer.text.slice(0, 200)}` : ''}`,
        { status: answer.status },
        true,
      );
    }
    return { code: reply.code, message: String(reply.message ?? ''), data: reply.data };
  }

  /**
   * A UGC call with a fresh signature for every attempt after the first (as vod-js-sdk-v6 does).
   * The codes of UGC_RETRYABLE_CODES (internal error, expired or already-used signature) are retried.
   */
  async call<T>(
    action: 'ApplyUploadUGC' | 'CommitUploadUGC',
    uploadId: string,
    firstSignature: string | undefined,
    body: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const kind = action === 'ApplyUploadUGC' ? 'apply-failed' : 'commit-failed';
    return withRetry(this.retryPolicy, signal, async (attempt) => {
      const signature =
        attempt === 0 && firstSignature ? firstSignature : (await this.getSignature({ uploadId }, signal)).signature;
      const reply = await this.send(action, { signature, ...body, uploadFromWeb: true }, signal);
      if (reply.code === UGC_CODES.OK) return reply.data as T;
      const retryable = UGC_RETRYABLE_CODES.includes(reply.code);
      throw failure(kind, `${action} failed (code ${reply.code}): ${reply.message}`, { code: reply.code, uploadId }, retryable);
    });
  }
}
