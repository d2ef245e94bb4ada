/**
 * Per-user quotas (README "Quotas"): what a signature reserves, what an arriving file is trued up
 * against, and what `GET /me/usage` shows. The counters and the statements are in lib/quota-store.ts.
 *
 * Concurrent uploads: one mechanism, the ISSUED counter, bounded by the smaller of
 * UPLOAD_MAX_ISSUED_PER_USER (0: none) and QUOTA_CONCURRENT_UPLOADS. When the latter binds, a refusal is
 * `QuotaExceeded` (quota `concurrentUploads`); when the older cap binds, it stays `TooManyPendingUploads`.
 */
import * as z from 'zod/mini';
import type { Config } from '#lib/config';
import type { Database } from '#lib/db';
import { BadRequestError, ForbiddenError, HttpError } from '#lib/errors';
import { type QuotaName, type QuotaUse, readQuotaUse } from '#lib/quota-store';

export type { QuotaName } from '#lib/quota-store';

const DAILY: ReadonlySet<QuotaName> = new Set(['uploadsPerDay', 'bytesPerDay']);
const QUOTA_NAMES: readonly QuotaName[] = ['uploadsPerDay', 'bytesPerDay', 'storedBytes', 'storedSeconds', 'concurrentUploads'];

/** When a UTC day's counters stop counting: the next midnight UTC. */
export function dayEnd(day: string): Date {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000);
}

/** 429 for a new upload a quota does not leave room for. */
export class QuotaExceededError extends HttpError {
  override name = 'QuotaExceededError';
  constructor(quota: QuotaName, limit: number, used: number, resetsAt?: Date, now: Date = new Date()) {
    const until = resetsAt ? `; it frees up at ${resetsAt.toISOString()}` : '';
    const retry = resetsAt ? Math.max(1, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000)) : undefined;
    super(
      429,
      'QuotaExceeded',
      `The ${quota} quota (${limit}) has no room for this upload: ${used} used${until}`,
      { quota, limit, used, ...(resetsAt ? { resetsAt: resetsAt.toISOString() } : {}) },
      retry === undefined ? {} : { 'retry-after': String(retry) },
    );
  }
}

/** The concurrent-upload limit in force, and which setting it comes from. */
export function concurrentLimit(config: Config): { limit: number; from: 'quota' | 'cap' } | undefined {
  const cap = config.upload.maxIssuedPerUser > 0 ? config.upload.maxIssuedPerUser : undefined;
  const quota = config.quotas.concurrentUploads;
  if (quota !== undefined && (cap === undefined || quota <= cap)) return { limit: quota, from: 'quota' };
  return cap === undefined ? undefined : { limit: cap, from: 'cap' };
}

/** Each quota's limit (`undefined`: none). */
export function quotaLimits(config: Config): Record<QuotaName, number | undefined> {
  const { quotas } = config;
  return {
    uploadsPerDay: quotas.uploadsPerDay,
    bytesPerDay: quotas.bytesPerDay,
    storedBytes: quotas.storedBytes,
    storedSeconds: quotas.storedSeconds,
    concurrentUploads: concurrentLimit(config)?.limit,
  };
}

/** A byte quota reserves the announced size, so a new upload must announce it. */
export function requireFileSize(config: Config, fileSize: number | undefined): void {
  if (fileSize !== undefined) return;
  const { bytesPerDay, storedBytes } = config.quotas;
  if (bytesPerDay !== undefined || storedBytes !== undefined) {
    throw new BadRequestError('fileSize: is required (a byte quota reserves it before the upload)', 'fileSize');
  }
}

/** The refusal for a quota the signature statement named, with what it found used. */
export function quotaRefusal(config: Config, quota: QuotaName, use: QuotaUse, now: Date): QuotaExceededError {
  const limit = quotaLimits(config)[quota]!;
  return new QuotaExceededError(quota, limit, use[quota], DAILY.has(quota) ? dayEnd(use.day) : undefined, now);
}

/**
 * True-up of an arriving file: the quota its real size or duration does not fit (beyond what its
 * reservation already holds), if any. `use` includes this upload's reservation (`reservedBytes`).
 */
export function trueUpRefusal(
  config: Config,
  use: QuotaUse,
  file: { reservedBytes: number; size?: number; duration?: number },
): { quota: QuotaName; limit: number; needed: number } | undefined {
  const extraBytes = (file.size ?? file.reservedBytes) - file.reservedBytes;
  const checks: Array<[QuotaName, number | undefined, number]> = [
    ['storedBytes', config.quotas.storedBytes, use.storedBytes + extraBytes],
    ['storedSeconds', config.quotas.storedSeconds, use.storedSeconds + (file.duration ?? 0)],
    ['bytesPerDay', config.quotas.bytesPerDay, use.bytesPerDay + extraBytes],
  ];
  for (const [quota, limit, needed] of checks) {
    if (limit !== undefined && needed > limit) return { quota, limit, needed };
  }
  return undefined;
}

/** Whether an arriving file needs a true-up at all (a quota it could exceed is set). */
export function truesUp(config: Config): boolean {
  const { storedBytes, storedSeconds, bytesPerDay } = config.quotas;
  return storedBytes !== undefined || storedSeconds !== undefined || bytesPerDay !== undefined;
}

const quotaSchema = () =>
  z.strictObject({
    limit: z.nullable(z.number()).register(z.globalRegistry, { description: 'The limit; null: none set' }),
    used: z.number().check(z.gte(0)).register(z.globalRegistry, { description: 'What counts against it now' }),
    resetsAt: z.optional(z.iso.datetime()).register(z.globalRegistry, { description: 'Daily quotas: when the day (UTC) ends' }),
  });

/** The 200 answer of GET /me/usage (lib/openapi.ts; built when asked for, like the one below). */
export const usageSchema = () =>
  z.strictObject({
    userId: z.string().check(z.minLength(1)),
    quotas: z.strictObject({
      uploadsPerDay: quotaSchema(),
      bytesPerDay: quotaSchema(),
      storedBytes: quotaSchema(),
      storedSeconds: quotaSchema(),
      concurrentUploads: quotaSchema(),
    }),
  });

/** The body of a 429 QuotaExceeded (lib/openapi.ts). */
export const quotaExceededBodySchema = () =>
  z.strictObject({
    error: z.strictObject({
      code: z.literal('QuotaExceeded'),
      message: z.string().check(z.minLength(1)),
      quota: z.enum(QUOTA_NAMES as [QuotaName, ...QuotaName[]]),
      limit: z.number(),
      used: z.number().check(z.gte(0)),
      resetsAt: z.optional(z.iso.datetime()),
    }),
  });

export type Usage = z.infer<ReturnType<typeof usageSchema>>;

/** `GET /me/usage`: each quota's limit and use for one user. */
export async function userUsage(deps: { config: Config; db: Database; now?: () => Date }, userId: string): Promise<Usage> {
  const { config } = deps;
  const now = deps.now?.() ?? new Date();
  const use = await readQuotaUse(deps.db, userId, {
    now,
    maxAgeSeconds: config.upload.maxAgeSeconds,
    graceSeconds: config.cleanup.expiryGraceSeconds,
  });
  const limits = quotaLimits(config);
  const resetsAt = dayEnd(use.day).toISOString();
  const entry = (quota: QuotaName) => ({
    limit: limits[quota] ?? null,
    used: Math.max(0, use[quota]),
    ...(DAILY.has(quota) ? { resetsAt } : {}),
  });
  return {
    userId,
    quotas: {
      uploadsPerDay: entry('uploadsPerDay'),
      bytesPerDay: entry('bytesPerDay'),
      storedBytes: entry('storedBytes'),
      storedSeconds: entry('storedSeconds'),
      concurrentUploads: entry('concurrentUploads'),
    },
  };
}

/**
 * Whose usage a caller asks for: its own, or with a service token (`admin`) any user's `?userId=`. A user
 * token naming another user is refused (naming itself is allowed).
 */
export function usageSubject(caller: { userId: string; admin?: boolean }, query: Record<string, string>): string {
  const requested = query.userId;
  if (requested === undefined || requested === caller.userId) return caller.userId;
  if (requested.length === 0 || [...requested].length > 128 || /[\p{Cc}\p{Cf}]/u.test(requested)) {
    throw new BadRequestError('userId: must be a user id (1-128 characters, no control characters)', 'userId');
  }
  if (caller.admin !== true) throw new ForbiddenError("userId: only a service token may read another user's usage");
  return requested;
}
