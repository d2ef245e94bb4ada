/**
 * Retries with exponential backoff and jitter, and the abortable sleep they wait with. Only errors made
 * retryable (`failure(…, true)`: network, timeouts, 5xx, some UGC codes) are tried again.
 */
import { VodUploadError } from './errors.ts';
import type { VodUploadErrorKind } from './errors.ts';
import type { RetryPolicy } from './options.ts';

const RETRYABLE = Symbol('retryable');
type RetryableError = VodUploadError & { [RETRYABLE]?: boolean };

export function failure(
  kind: VodUploadErrorKind,
  message: string,
  details: ConstructorParameters<typeof VodUploadError>[2] = {},
  retryable = false,
): VodUploadError {
  const error = new VodUploadError(kind, message, details) as RetryableError;
  if (retryable) Object.defineProperty(error, RETRYABLE, { value: true });
  return error;
}

export const isRetryable = (error: unknown) => error instanceof VodUploadError && (error as RetryableError)[RETRYABLE] === true;

export function cancelled(uploadId?: string): VodUploadError {
  return new VodUploadError('cancelled', 'the upload was cancelled', uploadId ? { uploadId } : {});
}

/** Sleeps, or rejects with `cancelled` when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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

/** Runs `op` until it succeeds, fails for good, or the retries are spent; `onRetry` sees each error retried. */
export async function withRetry<T>(
  policy: Required<RetryPolicy>,
  signal: AbortSignal | undefined,
  op: (attempt: number) => Promise<T>,
  onRetry?: (error: VodUploadError) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw cancelled();
    try {
      return await op(attempt);
    } catch (error) {
      if (!isRetryable(error) || attempt >= policy.retries) throw error;
      onRetry?.(error as VodUploadError);
      await sleep(backoffMs(attempt, policy), signal);
    }
  }
}
