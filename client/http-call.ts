/**
 * One HTTP exchange of the client, with this backend or the UGC API: `fetch` with a timeout and the
 * caller's AbortSignal. Transport failures and timeouts are retryable `network` errors.
 */
import { cancelled, failure } from './retry.ts';

export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** `body` is the parsed JSON, or undefined when the answer is not JSON (`text` has it). */
export type HttpCall = (url: string, init: RequestInit, signal: AbortSignal | undefined, what: string) => Promise<HttpAnswer>;

/** `requestTimeoutMs()` is read per request, like every option (a caller may change them after construction). */
export function createHttpCall(fetchImpl: typeof fetch, requestTimeoutMs: () => number): HttpCall {
  return async (url, init, signal, what) => {
    if (signal?.aborted) throw cancelled();
    const controller = new AbortController();
    const timeoutMs = requestTimeoutMs();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await fetchImpl(url, { ...init, signal: controller.signal });
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
  };
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
