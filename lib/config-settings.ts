/**
 * The environment variables, one zod field each: names, types, ranges and defaults (README's
 * configuration table). The rules between settings, and the `Config` the code reads, are in config.ts.
 * Written with zod/mini, which every function bundle carries (lib/zod-messages.ts).
 */
import * as z from 'zod/mini';
import { REVIEW_CONTENTS, REVIEW_MODES, TASK_NOTIFY_MODES } from '#contract';
import { MAX_VALIDITY_SECONDS } from '#lib/upload-signature-codec';
import '#lib/zod-messages';

export const PRODUCTION_STAGES = new Set(['production', 'prod']);

const optionalString = z.pipe(
  z.optional(z.string()),
  z.transform((value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim())),
);

/** `schema` after `first`: the setting as `first` read it, checked (and maybe changed) by `schema`. */
const then = <A extends z.ZodMiniType, B extends z.core.$ZodType<unknown, z.output<A>>>(first: A, schema: B) =>
  z.pipe(first, schema);

/** `fn` applied to what `first` gives. */
const map = <A extends z.ZodMiniType, O>(first: A, fn: (value: z.output<A>, ctx: z.core.ParsePayload) => O) =>
  z.pipe(first, z.transform(fn));

/** An optional setting, checked by `schema` when given. */
const optional = <B extends z.core.$ZodType<unknown, string>>(schema: B) => then(optionalString, z.optional(schema));

/** An optional setting with a default. */
const withDefault = <A extends z.ZodMiniType, const D>(first: A, fallback: D) =>
  map(first, (value) => (value === undefined ? fallback : (value as Exclude<z.output<A>, undefined>)));

const optionalInteger = (min: number, max: number) =>
  map(optionalString, (value, ctx) => {
    if (value === undefined) return undefined;
    const parsed = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      ctx.issues.push({ code: 'custom', message: `must be an integer from ${min} to ${max}`, input: value });
      return z.NEVER;
    }
    return parsed;
  });

const integer = (min: number, max: number, fallback: number) => withDefault(optionalInteger(min, max), fallback);

const boolean = (fallback: boolean) =>
  map(optionalString, (value, ctx) => {
    if (value === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(value)) return true;
    if (/^(0|false|no|off)$/i.test(value)) return false;
    ctx.issues.push({ code: 'custom', message: 'must be true or false', input: value });
    return z.NEVER;
  });

const list = (fallback: string[]) =>
  map(optionalString, (value) =>
    value === undefined
      ? fallback
      : value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== ''),
  );

const lowerCaseList = (fallback: string[]) => map(list(fallback), (items) => items.map((i) => i.toLowerCase()));

const url = optional(z.url());

const integerList = (fallback: number[]) =>
  map(list(fallback.map(String)), (items, ctx) => {
    const numbers = items.map(Number);
    if (numbers.some((n) => !Number.isSafeInteger(n) || n < 0)) {
      ctx.issues.push({ code: 'custom', message: 'must be a comma-separated list of template ids', input: items });
      return z.NEVER;
    }
    return numbers;
  });

const matching = (pattern: RegExp, message: string) => z.string().check(z.regex(pattern, message));

const DEFAULT_VIDEO_TYPES = ['mp4', 'mov', 'm4v', 'webm', 'mkv', 'avi', 'flv', 'wmv', '3gp', 'ts', 'mpg', 'mpeg', 'mxf'];
const DEFAULT_COVER_TYPES = ['jpg', 'jpeg', 'png', 'gif', 'webp', 'bmp'];

export const settingsSchema = z.object({
  STAGE: withDefault(optionalString, 'local'),
  LOG_LEVEL: withDefault(optional(z.enum(['debug', 'info', 'warn', 'error'])), 'info'),

  VOD_SECRET_ID: z.string({ error: 'is required' }).check(z.trim(), z.minLength(1, 'is required')),
  VOD_SECRET_KEY: z.string({ error: 'is required' }).check(z.trim(), z.minLength(1, 'is required')),
  VOD_SUB_APP_ID: optionalInteger(1, 0xffffffff),
  VOD_REGION: withDefault(optional(matching(/^[a-z]+(-[a-z0-9]+)+$/, 'must be a region such as ap-guangzhou')), 'ap-guangzhou'),
  VOD_API_ENDPOINT: optional(matching(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be host or host:port, without a scheme')),
  VOD_API_PROTOCOL: withDefault(optional(z.enum(['https://', 'http://'])), 'https://'),

  AUTH_MODE: withDefault(optional(z.enum(['jwt', 'none'])), 'jwt'),
  AUTH_JWT_SECRET: optional(z.string().check(z.minLength(32, 'must be at least 32 characters'))),
  AUTH_JWKS_URL: url,
  AUTH_JWT_ISSUER: optionalString,
  AUTH_JWT_AUDIENCE: optionalString,
  AUTH_ALLOW_ANY_AUDIENCE: boolean(false),
  AUTH_USER_CLAIM: withDefault(optionalString, 'sub'),
  AUTH_CLOCK_SKEW_SECONDS: integer(0, 600, 30),

  DATABASE_URL: optional(matching(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')),
  DATABASE_POOL_MAX: integer(1, 100, 2),
  DATA_DIR: withDefault(optionalString, '.data'),

  SIGNATURE_VALIDITY_SECONDS: integer(60, MAX_VALIDITY_SECONDS, 3600),
  UPLOAD_PROCEDURE: optional(z.string().check(z.maxLength(128))),
  UPLOAD_CLASS_ID: optionalInteger(0, 0xffffffff),
  UPLOAD_STORAGE_REGION: optional(matching(/^[a-z]+(-[a-z0-9]+)+$/, 'must be a region such as ap-guangzhou')),
  UPLOAD_TASK_PRIORITY: optionalInteger(-10, 10),
  UPLOAD_TASK_NOTIFY_MODE: optional(z.enum(TASK_NOTIFY_MODES)),
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

  CALLBACK_TOKENS: then(list([]), z.array(z.string().check(z.minLength(16, 'each token must be at least 16 characters')))),
  CALLBACK_SIGN_KEYS: then(list([]), z.array(matching(/^[A-Za-z0-9]{1,32}$/, 'each key must be 1-32 letters or digits'))),
  CALLBACK_VERIFY_WITH_VOD: boolean(true),
  CALLBACK_DIAGNOSTICS: boolean(false),

  PIPELINE_VERSION: withDefault(
    optional(matching(/^[A-Za-z0-9._-]{1,16}$/, 'must be 1-16 letters, digits, dots, dashes or underscores')),
    'v1',
  ),
  PIPELINE_TRANSCODE_DEFINITIONS: integerList([100010, 100020, 100030]),
  PIPELINE_WATERMARK_DEFINITION: optionalInteger(1, 0xffffffff),
  PIPELINE_WATERMARK_TEXT: optional(z.string().check(z.maxLength(100))),
  PIPELINE_TEXT_WATERMARK_DEFINITION: optionalInteger(1, 0xffffffff),
  PIPELINE_SNAPSHOT_DEFINITION: withDefault(optionalInteger(0, 0xffffffff), 10),
  PIPELINE_SNAPSHOT_OFFSETS: then(
    list(['1s', '50%']),
    z.array(matching(/^\d+(\.\d+)?(s|%)$/, 'each offset must look like 3.5s or 10%')),
  ),
  PIPELINE_COVER_DEFINITION: withDefault(optionalInteger(0, 0xffffffff), 10),
  PIPELINE_COVER_POSITION: withDefault(optional(matching(/^\d+(\.\d+)?(s|%)$/, 'must look like 2s or 10%')), '10%'),
  PIPELINE_SPRITE_DEFINITION: withDefault(optionalInteger(0, 0xffffffff), 10),
  PIPELINE_GIF_DEFINITION: withDefault(optionalInteger(0, 0xffffffff), 0),
  PIPELINE_ADAPTIVE_DEFINITION: withDefault(optionalInteger(0, 0xffffffff), 10),
  PIPELINE_TASK_PRIORITY: integer(-10, 10, 0),
  PIPELINE_NOTIFY_MODE: withDefault(optional(z.enum(TASK_NOTIFY_MODES)), 'Finish'),

  MEDIA_MAX_DURATION_SECONDS: integer(1, 10 * 86_400, 4 * 3600),
  MEDIA_MIN_HEIGHT: integer(0, 10_000, 0),
  MEDIA_MIN_WIDTH: integer(0, 10_000, 0),
  MEDIA_ALLOWED_CONTAINERS: lowerCaseList([]),
  MEDIA_ALLOWED_VIDEO_CODECS: lowerCaseList([]),

  HOTLINK_KEY: optional(matching(/^[A-Za-z0-9]{8,20}$/, 'must be 8-20 letters or digits')),
  HOTLINK_URL_TTL_SECONDS: integer(60, 7 * 86_400, 3600),
  HOTLINK_RLIMIT: optionalInteger(1, 9),
  HOTLINK_PREVIEW_SECONDS: optionalInteger(1, 86_400),

  // Player signature (Psign, docs/vod-protocol/player-signature.md): the sub-application's play key.
  PLAYBACK_KEY: optional(matching(/^[A-Za-z0-9]{8,64}$/, 'must be 8-64 letters or digits (the play key of the sub-application)')),
  VOD_APP_ID: optionalInteger(1, 0xffffffff),
  PLAYBACK_TTL_SECONDS: integer(60, 30 * 86_400, 3600),
  PLAYBACK_AUDIENCE: withDefault(optional(z.enum(['owner', 'any-user', 'public'])), 'owner'),

  VOD_EVENT_MODE: withDefault(optional(z.enum(['PUSH', 'PULL'])), 'PUSH'),
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
  AUTH_ADMIN_CLAIM: optional(
    matching(
      /^[A-Za-z0-9_:./-]{1,64}=[\x21-\x7e]{1,128}$/,
      'must be <claim>=<value> (e.g. scope=vod-upload:admin): a claim name of letters, digits, _ : . / -, a value without spaces',
    ),
  ),
  // Content review before publishing (lib/review-gate.ts, README "Content review").
  REVIEW_MODE: withDefault(optional(z.enum(REVIEW_MODES)), 'off'),
  REVIEW_DEFINITION: optionalInteger(1, 2_147_483_647),
  REVIEW_CONTENTS: then(
    list(['Media']),
    z
      .array(z.enum(REVIEW_CONTENTS, { message: `each must be one of ${REVIEW_CONTENTS.join(', ')}` }))
      .check(z.minLength(1, `at least one of ${REVIEW_CONTENTS.join(', ')}`)),
  ),
  // Outbound webhooks to the app's server (Standard Webhooks; README "Webhooks"). No URL: none sent.
  APP_WEBHOOK_URL: url,
  APP_WEBHOOK_SECRETS: then(
    list([]),
    z.array(matching(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'each secret must be whsec_ followed by base64')),
  ),
  APP_WEBHOOK_MAX_AGE_HOURS: integer(1, 30 * 24, 72),
  APP_WEBHOOK_TIMEOUT_MS: integer(100, 30_000, 5000),
});

export type Settings = z.infer<typeof settingsSchema>;
