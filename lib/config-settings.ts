/**
 * The environment variables, one zod field each: names, types, ranges and defaults (README's
 * configuration table). The rules between settings, and the `Config` the code reads, are in config.ts.
 */
import * as z from 'zod';
import { REVIEW_CONTENTS, REVIEW_MODES, TASK_NOTIFY_MODES } from '#contract';
import { MAX_VALIDITY_SECONDS } from '#lib/upload-signature-codec';

export const PRODUCTION_STAGES = new Set(['production', 'prod']);

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const optionalInteger = (min: number, max: number) =>
  optionalString.transform((value, ctx) => {
    if (value === undefined) return undefined;
    const parsed = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max}` });
      return z.NEVER;
    }
    return parsed;
  });

const integer = (min: number, max: number, fallback: number) => optionalInteger(min, max).transform((v) => v ?? fallback);

const boolean = (fallback: boolean) =>
  optionalString.transform((value, ctx) => {
    if (value === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(value)) return true;
    if (/^(0|false|no|off)$/i.test(value)) return false;
    ctx.addIssue({ code: 'custom', message: 'must be true or false' });
    return z.NEVER;
  });

const list = (fallback: string[]) =>
  optionalString.transform((value) =>
    value === undefined
      ? fallback
      : value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== ''),
  );

const lowerCaseList = (fallback: string[]) => list(fallback).transform((items) => items.map((i) => i.toLowerCase()));

const url = optionalString.pipe(z.url().optional());

const integerList = (fallback: number[]) =>
  list(fallback.map(String)).transform((items, ctx) => {
    const numbers = items.map(Number);
    if (numbers.some((n) => !Number.isSafeInteger(n) || n < 0)) {
      ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of template ids' });
      return z.NEVER;
    }
    return numbers;
  });

const DEFAULT_VIDEO_TYPES = ['mp4', 'mov', 'm4v', 'webm', 'mkv', 'avi', 'flv', 'wmv', '3gp', 'ts', 'mpg', 'mpeg', 'mxf'];
const DEFAULT_COVER_TYPES = ['jpg', 'jpeg', 'png', 'gif', 'webp', 'bmp'];

export const settingsSchema = z.object({
  STAGE: optionalString.transform((v) => v ?? 'local'),
  LOG_LEVEL: optionalString.pipe(z.enum(['debug', 'info', 'warn', 'error']).optional()).transform((v) => v ?? 'info'),

  VOD_SECRET_ID: z.string({ error: 'is required' }).trim().min(1, 'is required'),
  VOD_SECRET_KEY: z.string({ error: 'is required' }).trim().min(1, 'is required'),
  VOD_SUB_APP_ID: optionalInteger(1, 0xffffffff),
  VOD_REGION: optionalString
    .pipe(
      z
        .string()
        .regex(/^[a-z]+(-[a-z0-9]+)+$/, 'must be a region such as ap-guangzhou')
        .optional(),
    )
    .transform((v) => v ?? 'ap-guangzhou'),
  VOD_API_ENDPOINT: optionalString.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be host or host:port, without a scheme')
      .optional(),
  ),
  VOD_API_PROTOCOL: optionalString.pipe(z.enum(['https://', 'http://']).optional()).transform((v) => v ?? 'https://'),

  AUTH_MODE: optionalString.pipe(z.enum(['jwt', 'none']).optional()).transform((v) => v ?? 'jwt'),
  AUTH_JWT_SECRET: optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
  AUTH_JWKS_URL: url,
  AUTH_JWT_ISSUER: optionalString,
  AUTH_JWT_AUDIENCE: optionalString,
  AUTH_ALLOW_ANY_AUDIENCE: boolean(false),
  AUTH_USER_CLAIM: optionalString.transform((v) => v ?? 'sub'),
  AUTH_CLOCK_SKEW_SECONDS: integer(0, 600, 30),

  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  DATABASE_POOL_MAX: integer(1, 100, 2),
  DATA_DIR: optionalString.transform((v) => v ?? '.data'),

  SIGNATURE_VALIDITY_SECONDS: integer(60, MAX_VALIDITY_SECONDS, 3600),
  UPLOAD_PROCEDURE: optionalString.pipe(z.string().max(128).optional()),
  UPLOAD_CLASS_ID: optionalInteger(0, 0xffffffff),
  UPLOAD_STORAGE_REGION: optionalString.pipe(
    z
      .string()
      .regex(/^[a-z]+(-[a-z0-9]+)+$/, 'must be a region such as ap-guangzhou')
      .optional(),
  ),
  UPLOAD_TASK_PRIORITY: optionalInteger(-10, 10),
  UPLOAD_TASK_NOTIFY_MODE: optionalString.pipe(z.enum(TASK_NOTIFY_MODES).optional()),
  UPLOAD_ONE_TIME_SIGNATURE: boolean(false),
  UPLOAD_MAX_FILE_SIZE: integer(1, Number.MAX_SAFE_INTEGER, 5 * 1024 ** 3),
  UPLOAD_ALLOWED_TYPES: lowerCaseList(DEFAULT_VIDEO_TYPES),
  UPLOAD_ALLOWED_COVER_TYPES: lowerCaseList(DEFAULT_COVER_TYPES),
  UPLOAD_MAX_AGE_SECONDS: integer(60, 30 * 86_400, 86_400),
  UPLOAD_MAX_ISSUED_PER_USER: integer(0, 1_000_000, 50),

  RATE_LIMIT_SIGNATURES: integer(1, 1_000_000, 60),
  RATE_LIMIT_WINDOW_SECONDS: integer(1, 86_400, 60),

  CORS_ALLOWED_ORIGINS: list([]),
  HTTP_MAX_BODY_BYTES: integer(64, 64 * 1024 * 1024, 1024 * 1024),

  CALLBACK_TOKENS: list([]).pipe(z.array(z.string().min(16, 'each token must be at least 16 characters'))),
  CALLBACK_SIGN_KEYS: list([]).pipe(z.array(z.string().regex(/^[A-Za-z0-9]{1,32}$/, 'each key must be 1-32 letters or digits'))),
  CALLBACK_VERIFY_WITH_VOD: boolean(true),
  CALLBACK_DIAGNOSTICS: boolean(false),

  PIPELINE_VERSION: optionalString
    .pipe(
      z
        .string()
        .regex(/^[A-Za-z0-9._-]{1,16}$/, 'must be 1-16 letters, digits, dots, dashes or underscores')
        .optional(),
    )
    .transform((v) => v ?? 'v1'),
  PIPELINE_TRANSCODE_DEFINITIONS: integerList([100010, 100020, 100030]),
  PIPELINE_WATERMARK_DEFINITION: optionalInteger(1, 0xffffffff),
  PIPELINE_WATERMARK_TEXT: optionalString.pipe(z.string().max(100).optional()),
  PIPELINE_TEXT_WATERMARK_DEFINITION: optionalInteger(1, 0xffffffff),
  PIPELINE_SNAPSHOT_DEFINITION: optionalInteger(0, 0xffffffff).transform((v) => v ?? 10),
  PIPELINE_SNAPSHOT_OFFSETS: list(['1s', '50%']).pipe(
    z.array(z.string().regex(/^\d+(\.\d+)?(s|%)$/, 'each offset must look like 3.5s or 10%')),
  ),
  PIPELINE_COVER_DEFINITION: optionalInteger(0, 0xffffffff).transform((v) => v ?? 10),
  PIPELINE_COVER_POSITION: optionalString
    .pipe(
      z
        .string()
        .regex(/^\d+(\.\d+)?(s|%)$/, 'must look like 2s or 10%')
        .optional(),
    )
    .transform((v) => v ?? '10%'),
  PIPELINE_SPRITE_DEFINITION: optionalInteger(0, 0xffffffff).transform((v) => v ?? 10),
  PIPELINE_GIF_DEFINITION: optionalInteger(0, 0xffffffff).transform((v) => v ?? 0),
  PIPELINE_ADAPTIVE_DEFINITION: optionalInteger(0, 0xffffffff).transform((v) => v ?? 10),
  PIPELINE_TASK_PRIORITY: integer(-10, 10, 0),
  PIPELINE_NOTIFY_MODE: optionalString.pipe(z.enum(TASK_NOTIFY_MODES).optional()).transform((v) => v ?? 'Finish'),

  MEDIA_MAX_DURATION_SECONDS: integer(1, 10 * 86_400, 4 * 3600),
  MEDIA_MIN_HEIGHT: integer(0, 10_000, 0),
  MEDIA_MIN_WIDTH: integer(0, 10_000, 0),
  MEDIA_ALLOWED_CONTAINERS: lowerCaseList([]),
  MEDIA_ALLOWED_VIDEO_CODECS: lowerCaseList([]),

  HOTLINK_KEY: optionalString.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9]{8,20}$/, 'must be 8-20 letters or digits')
      .optional(),
  ),
  HOTLINK_URL_TTL_SECONDS: integer(60, 7 * 86_400, 3600),
  HOTLINK_RLIMIT: optionalInteger(1, 9),
  HOTLINK_PREVIEW_SECONDS: optionalInteger(1, 86_400),

  // Player signature (Psign, docs/vod-protocol/player-signature.md): the sub-application's play key.
  PLAYBACK_KEY: optionalString.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9]{8,64}$/, 'must be 8-64 letters or digits (the play key of the sub-application)')
      .optional(),
  ),
  VOD_APP_ID: optionalInteger(1, 0xffffffff),
  PLAYBACK_TTL_SECONDS: integer(60, 30 * 86_400, 3600),
  PLAYBACK_AUDIENCE: optionalString.pipe(z.enum(['owner', 'any-user', 'public']).optional()).transform((v) => v ?? 'owner'),

  VOD_EVENT_MODE: optionalString.pipe(z.enum(['PUSH', 'PULL']).optional()).transform((v) => v ?? 'PUSH'),
  CLEANUP_TIME_BUDGET_SECONDS: integer(5, 890, 50),
  CLEANUP_PULL_EVENTS: boolean(false),
  CLEANUP_RECONCILE: boolean(true),
  CLEANUP_DELETE_ORPHANS: boolean(true),
  CLEANUP_PURGE: boolean(true),
  CLEANUP_DRY_RUN: boolean(false),
  CLEANUP_BATCH_SIZE: integer(1, 1000, 100),
  UPLOAD_EXPIRY_GRACE_SECONDS: integer(0, 30 * 86_400, 3600),
  UPLOADED_RETRY_AFTER_SECONDS: integer(0, 86_400, 120),
  PROCESSING_DEADLINE_SECONDS: integer(1, 30 * 86_400, 3600),
  PROCESSING_CHECK_MIN_SECONDS: integer(1, 86_400, 60),
  PROCESSING_SECONDS_PER_MEDIA_SECOND: integer(1, 1000, 1),
  FAILED_RETENTION_DAYS: integer(0, 3650, 7),
  BLOCKED_RETENTION_DAYS: integer(0, 3650, 30),
  EVENT_RETENTION_DAYS: integer(5, 3650, 14),

  // Per-user quotas (lib/quota.ts), each unset by default: no limit.
  QUOTA_UPLOADS_PER_DAY: optionalInteger(1, 1_000_000_000),
  QUOTA_BYTES_PER_DAY: optionalInteger(1, Number.MAX_SAFE_INTEGER),
  QUOTA_STORED_BYTES: optionalInteger(1, Number.MAX_SAFE_INTEGER),
  QUOTA_STORED_SECONDS: optionalInteger(1, Number.MAX_SAFE_INTEGER),
  QUOTA_CONCURRENT_UPLOADS: optionalInteger(1, 1_000_000),
  // Service tokens (lib/auth.ts): `<claim>=<value>`, e.g. `scope=vod-upload:admin`; unset: no token is one.
  AUTH_ADMIN_CLAIM: optionalString.pipe(
    z
      .string()
      .regex(
        /^[A-Za-z0-9_:./-]{1,64}=[\x21-\x7e]{1,128}$/,
        'must be <claim>=<value> (e.g. scope=vod-upload:admin): a claim name of letters, digits, _ : . / -, a value without spaces',
      )
      .optional(),
  ),
  // Content review before publishing (lib/review-gate.ts, README "Content review").
  REVIEW_MODE: optionalString.pipe(z.enum(REVIEW_MODES).optional()).transform((v) => v ?? 'off'),
  REVIEW_DEFINITION: optionalInteger(1, 2_147_483_647),
  REVIEW_CONTENTS: list(['Media']).pipe(
    z
      .array(z.enum(REVIEW_CONTENTS, { message: `each must be one of ${REVIEW_CONTENTS.join(', ')}` }))
      .min(1, `at least one of ${REVIEW_CONTENTS.join(', ')}`),
  ),
  // Outbound webhooks to the app's server (Standard Webhooks; README "Webhooks"). No URL: none sent.
  APP_WEBHOOK_URL: url,
  APP_WEBHOOK_SECRETS: list([]).pipe(
    z.array(z.string().regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'each secret must be whsec_ followed by base64')),
  ),
  APP_WEBHOOK_MAX_AGE_HOURS: integer(1, 30 * 24, 72),
  APP_WEBHOOK_TIMEOUT_MS: integer(100, 30_000, 5000),
});

export type Settings = z.infer<typeof settingsSchema>;
