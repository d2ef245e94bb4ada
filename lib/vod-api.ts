/**
 * The VOD API 3.0 client (the official `tencentcloud-sdk-nodejs-vod`), created once per instance, and
 * a retry policy for it. `VOD_API_ENDPOINT` points it at another endpoint (the local emulator).
 */
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import type { Config } from '#lib/config';

export type VodClient = InstanceType<typeof vod.v20180717.Client>;

export function createVodClient(config: Config, options: { timeoutSeconds?: number } = {}): VodClient {
  return new vod.v20180717.Client({
    credential: { secretId: config.vod.secretId, secretKey: config.vod.secretKey },
    region: config.vod.region,
    profile: {
      httpProfile: {
        reqTimeout: options.timeoutSeconds ?? 10,
        ...(config.vod.endpoint ? { endpoint: config.vod.endpoint, protocol: config.vod.protocol } : {}),
      },
    },
  });
}

/** The API's error code (`InvalidParameterValue.SessionId`, `InternalError`, …), when the error has one. */
export function vodErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

/**
 * Worth another try: VOD's transient errors and anything that never got an API answer (network,
 * timeout). Parameter, auth and resource errors are final.
 */
export function isRetryableVodError(error: unknown): boolean {
  const code = vodErrorCode(error);
  if (code === undefined) return true;
  return /^(InternalError|RequestLimitExceeded|ResourceUnavailable|FailedOperation\.(Timeout|ServiceBusy|InternalError))/.test(code) || /^ERR_|^E[A-Z]+$/.test(code);
}

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  /** Give up early rather than run past this moment (the function's own time budget). */
  deadline?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Calls `fn` with exponential backoff and jitter while the error is retryable and time remains. */
export async function withVodRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 200;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const delay = base * 2 ** (attempt - 1) * (0.5 + Math.random());
      const outOfTime = options.deadline !== undefined && Date.now() + delay >= options.deadline;
      if (attempt >= attempts || !isRetryableVodError(error) || outOfTime) throw error;
      await sleep(delay);
    }
  }
}
