/**
 * Every setting comes from an environment variable, validated once at start-up. A missing or malformed
 * value throws `ConfigError` naming the variable, so a bad deployment fails loudly at init instead of
 * on the first user request. README's configuration table documents each variable below.
 */
import type { ReviewContent, ReviewMode, TaskNotifyMode } from '#contract';
import { PRODUCTION_STAGES, settingsSchema, type Settings } from '#lib/config-settings';
import { webhookUrlProblem, webhookSecretProblem } from '#lib/webhooks/address';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface Config {
  stage: string;
  production: boolean;
  logLevel: Settings['LOG_LEVEL'];
  vod: {
    secretId: string;
    secretKey: string;
    subAppId?: number;
    region: string;
    endpoint?: string;
    protocol: 'https://' | 'http://';
  };
  auth:
    | { mode: 'none' }
    | {
        mode: 'jwt';
        secret?: string;
        jwksUrl?: string;
        issuer?: string;
        audience?: string;
        userClaim: string;
        clockSkewSeconds: number;
        /** The claim and value that make a token a service token (AUTH_ADMIN_CLAIM); none when unset. */
        adminClaim?: { name: string; value: string };
      };
  database: { url?: string; poolMax: number; dataDir: string };
  upload: {
    signatureValiditySeconds: number;
    procedure?: string;
    classId?: number;
    storageRegion?: string;
    taskPriority?: number;
    taskNotifyMode?: TaskNotifyMode;
    oneTimeSignature: boolean;
    maxFileSize: number;
    allowedTypes: string[];
    allowedCoverTypes: string[];
    /** An upload not committed this long after its first signature is re-signed no more, then expires. */
    maxAgeSeconds: number;
    /** How many ISSUED uploads one user may hold at once (0: no cap). */
    maxIssuedPerUser: number;
  };
  rateLimit: { signatures: number; windowSeconds: number };
  http: { corsAllowedOrigins: string[]; maxBodyBytes: number };
  /** `diagnostics`: log each callback's shape (names, never values) while learning what VOD sends. */
  callback: { tokens: string[]; signKeys: string[]; verifyWithVod: boolean; diagnostics: boolean };
  pipeline: ProcessingPipeline;
  mediaRules: MediaRules;
  cleanup: CleanupSettings;
  hotlink?: { key: string; urlTtlSeconds: number; rlimit?: number; previewSeconds?: number };
  playback?: PlaybackSettings;
  quotas: QuotaSettings;
  webhooks?: WebhookSettings;
  review: ReviewSettings;
}

/** The content review (lib/review-gate.ts): off, a gate before READY, or after it (a takedown). */
export interface ReviewSettings {
  mode: ReviewMode;
  /** ReviewAudioVideo's template; undefined: VOD's preset. */
  definition?: number;
  contents: ReviewContent[];
}

/** Per-user quotas (lib/quota.ts); `undefined`: no limit. */
export interface QuotaSettings {
  uploadsPerDay?: number;
  bytesPerDay?: number;
  storedBytes?: number;
  storedSeconds?: number;
  /** ISSUED uploads at once; enforced together with `upload.maxIssuedPerUser` (the smaller one binds). */
  concurrentUploads?: number;
}

/** Outbound webhooks (lib/webhooks): where, signed with which secrets (the newest first), for how long. */
export interface WebhookSettings {
  url: string;
  secrets: string[];
  maxAgeHours: number;
  timeoutMs: number;
  /** Production: only public addresses, checked again on every resolved address. */
  publicOnly: boolean;
}

/** Who may get a playback credential (`playback` of GET /uploads/{uploadId}). */
export type PlaybackAudience = 'owner' | 'any-user' | 'public';

/** Player signatures: the play key (never sent), the app id they name, their lifetime, who gets one. */
export interface PlaybackSettings {
  key: string;
  appId: number;
  ttlSeconds: number;
  audience: PlaybackAudience;
}

/** What ProcessMedia is asked to do for every accepted upload; `version` goes into the SessionId. */
export interface ProcessingPipeline {
  version: string;
  transcodeDefinitions: number[];
  watermarkDefinition?: number;
  watermarkText?: string;
  textWatermarkDefinition?: number;
  /** 0 disables a step. */
  snapshotDefinition: number;
  snapshotOffsets: string[];
  coverDefinition: number;
  coverPosition: string;
  spriteDefinition: number;
  gifDefinition: number;
  adaptiveDefinition: number;
  taskPriority: number;
  notifyMode: TaskNotifyMode;
}

export interface CleanupSettings {
  eventMode: 'PUSH' | 'PULL';
  timeBudgetSeconds: number;
  pullEvents: boolean;
  reconcile: boolean;
  deleteOrphans: boolean;
  purge: boolean;
  dryRun: boolean;
  batchSize: number;
  expiryGraceSeconds: number;
  uploadedRetryAfterSeconds: number;
  processingCheck: ProcessingCheck;
  failedRetentionDays: number;
  /** BLOCKED uploads' media is kept this long (appeals, legal holds), then deleted. */
  blockedRetentionDays: number;
  eventRetentionDays: number;
}

/**
 * When the reconciler asks VOD about a PROCESSING upload whose outcome has not arrived. A job on media of
 * `d` seconds is estimated to take `secondsPerMediaSecond × d`; the first question comes after twice
 * that, at least `minSeconds`, and each later one after twice the previous wait; no wait is longer than
 * `maxSeconds` (PROCESSING_DEADLINE_SECONDS).
 */
export interface ProcessingCheck {
  minSeconds: number;
  secondsPerMediaSecond: number;
  maxSeconds: number;
}

/** What an uploaded file must satisfy before it is processed; empty lists allow anything. */
export interface MediaRules {
  maxDurationSeconds: number;
  maxSizeBytes: number;
  minWidth: number;
  minHeight: number;
  allowedContainers: string[];
  allowedVideoCodecs: string[];
}

/** What the calling function needs beyond the common settings (each function asks for its own). */
export interface ConfigNeeds {
  /** It authenticates app users (upload-signature, media-status): a JWT key source is required. */
  userAuth?: boolean;
  /** It receives VOD callbacks (vod-events): CALLBACK_TOKENS is required. */
  callbackTokens?: boolean;
}

/** Parses and cross-checks the environment. Pure: pass `process.env` (or a test's object). */
export function loadConfig(env: Record<string, string | undefined>, needs: ConfigNeeds = { userAuth: true }): Config {
  const result = settingsSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const e = result.data;
  const production = PRODUCTION_STAGES.has(e.STAGE.toLowerCase());
  const fail = (message: string) => {
    throw new ConfigError(`Invalid configuration: ${message}`);
  };

  if (e.AUTH_MODE === 'none' && production) fail('AUTH_MODE=none is refused when STAGE is production');
  if (needs.userAuth && e.AUTH_MODE === 'jwt' && !e.AUTH_JWT_SECRET && !e.AUTH_JWKS_URL) {
    fail('AUTH_JWT_SECRET or AUTH_JWKS_URL is required when AUTH_MODE is jwt');
  }
  if (needs.callbackTokens && e.CALLBACK_TOKENS.length === 0) {
    fail('CALLBACK_TOKENS is required (the secret in the VOD callback URL)');
  }
  if (e.AUTH_JWT_SECRET && e.AUTH_JWKS_URL) fail('set only one of AUTH_JWT_SECRET and AUTH_JWKS_URL');
  // Unchecked, a token the identity provider issued to another of its apps (or another provider using
  // the same key) would be accepted here. Some providers put no `aud` in access tokens: hence the opt-out.
  if (production && needs.userAuth && !e.AUTH_JWT_ISSUER) fail('AUTH_JWT_ISSUER is required when STAGE is production');
  if (production && needs.userAuth && !e.AUTH_JWT_AUDIENCE && !e.AUTH_ALLOW_ANY_AUDIENCE) {
    fail(
      'AUTH_JWT_AUDIENCE is required when STAGE is production (or AUTH_ALLOW_ANY_AUDIENCE=true to accept tokens for any audience)',
    );
  }
  if (e.AUTH_ALLOW_ANY_AUDIENCE && e.AUTH_JWT_AUDIENCE) fail('set only one of AUTH_JWT_AUDIENCE and AUTH_ALLOW_ANY_AUDIENCE');
  if (production && !e.DATABASE_URL) fail('DATABASE_URL is required when STAGE is production');
  if (production && e.VOD_SUB_APP_ID === undefined) {
    fail(
      'VOD_SUB_APP_ID is required when STAGE is production (VOD accounts opened since 2023-12-25 must name the sub-application in every call)',
    );
  }
  if (production && e.CORS_ALLOWED_ORIGINS.includes('*')) fail('CORS_ALLOWED_ORIGINS=* is refused when STAGE is production');
  if (e.PIPELINE_WATERMARK_TEXT && !e.PIPELINE_TEXT_WATERMARK_DEFINITION) {
    fail('PIPELINE_TEXT_WATERMARK_DEFINITION (a text watermark template) is required with PIPELINE_WATERMARK_TEXT');
  }
  // The doc's appId is the sub-application's id when one is used (docs/vod-protocol/player-signature.md).
  const playbackAppId = e.VOD_APP_ID ?? e.VOD_SUB_APP_ID;
  if (e.PLAYBACK_KEY && playbackAppId === undefined)
    fail('VOD_APP_ID (or VOD_SUB_APP_ID) is required with PLAYBACK_KEY: the player signature names the app');
  if (e.PLAYBACK_KEY && e.HOTLINK_PREVIEW_SECONDS !== undefined && e.HOTLINK_PREVIEW_SECONDS < 30) {
    fail('HOTLINK_PREVIEW_SECONDS must be at least 30 with PLAYBACK_KEY (the player signature refuses a shorter exper)');
  }
  // A fresh signature never outlives its upload's age limit.
  if (e.UPLOAD_MAX_AGE_SECONDS < e.SIGNATURE_VALIDITY_SECONDS)
    fail('UPLOAD_MAX_AGE_SECONDS must be at least SIGNATURE_VALIDITY_SECONDS');
  const adminClaim = e.AUTH_ADMIN_CLAIM === undefined ? undefined : splitClaim(e.AUTH_ADMIN_CLAIM);
  // Whoever the identity provider names with the service value would otherwise be admin.
  if (adminClaim && adminClaim.name === e.AUTH_USER_CLAIM) fail('AUTH_ADMIN_CLAIM must name another claim than AUTH_USER_CLAIM');
  if (!e.UPLOAD_PROCEDURE && (e.UPLOAD_TASK_PRIORITY !== undefined || e.UPLOAD_TASK_NOTIFY_MODE !== undefined)) {
    fail('UPLOAD_TASK_PRIORITY and UPLOAD_TASK_NOTIFY_MODE only apply together with UPLOAD_PROCEDURE');
  }
  if (e.APP_WEBHOOK_URL) {
    if (e.APP_WEBHOOK_SECRETS.length === 0)
      fail('APP_WEBHOOK_SECRETS (whsec_… signing secrets) is required with APP_WEBHOOK_URL');
    const urlProblem = webhookUrlProblem(e.APP_WEBHOOK_URL, production);
    if (urlProblem) fail(`APP_WEBHOOK_URL ${urlProblem}`);
    for (const secret of e.APP_WEBHOOK_SECRETS) {
      const problem = webhookSecretProblem(secret);
      if (problem) fail(`APP_WEBHOOK_SECRETS ${problem}`);
    }
  }

  return {
    stage: e.STAGE,
    production,
    logLevel: e.LOG_LEVEL,
    vod: {
      secretId: e.VOD_SECRET_ID,
      secretKey: e.VOD_SECRET_KEY,
      subAppId: e.VOD_SUB_APP_ID,
      region: e.VOD_REGION,
      endpoint: e.VOD_API_ENDPOINT,
      protocol: e.VOD_API_PROTOCOL,
    },
    auth:
      e.AUTH_MODE === 'none'
        ? { mode: 'none' }
        : {
            mode: 'jwt',
            secret: e.AUTH_JWT_SECRET,
            jwksUrl: e.AUTH_JWKS_URL,
            issuer: e.AUTH_JWT_ISSUER,
            audience: e.AUTH_JWT_AUDIENCE,
            userClaim: e.AUTH_USER_CLAIM,
            clockSkewSeconds: e.AUTH_CLOCK_SKEW_SECONDS,
            ...(adminClaim ? { adminClaim } : {}),
          },
    database: { url: e.DATABASE_URL, poolMax: e.DATABASE_POOL_MAX, dataDir: e.DATA_DIR },
    upload: {
      signatureValiditySeconds: e.SIGNATURE_VALIDITY_SECONDS,
      procedure: e.UPLOAD_PROCEDURE,
      classId: e.UPLOAD_CLASS_ID,
      storageRegion: e.UPLOAD_STORAGE_REGION,
      taskPriority: e.UPLOAD_TASK_PRIORITY,
      taskNotifyMode: e.UPLOAD_TASK_NOTIFY_MODE,
      oneTimeSignature: e.UPLOAD_ONE_TIME_SIGNATURE,
      maxFileSize: e.UPLOAD_MAX_FILE_SIZE,
      allowedTypes: e.UPLOAD_ALLOWED_TYPES,
      allowedCoverTypes: e.UPLOAD_ALLOWED_COVER_TYPES,
      maxAgeSeconds: e.UPLOAD_MAX_AGE_SECONDS,
      maxIssuedPerUser: e.UPLOAD_MAX_ISSUED_PER_USER,
    },
    rateLimit: { signatures: e.RATE_LIMIT_SIGNATURES, windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS },
    http: { corsAllowedOrigins: e.CORS_ALLOWED_ORIGINS, maxBodyBytes: e.HTTP_MAX_BODY_BYTES },
    callback: {
      tokens: e.CALLBACK_TOKENS,
      signKeys: e.CALLBACK_SIGN_KEYS,
      verifyWithVod: e.CALLBACK_VERIFY_WITH_VOD,
      diagnostics: e.CALLBACK_DIAGNOSTICS,
    },
    pipeline: {
      version: e.PIPELINE_VERSION,
      transcodeDefinitions: e.PIPELINE_TRANSCODE_DEFINITIONS,
      watermarkDefinition: e.PIPELINE_WATERMARK_DEFINITION,
      watermarkText: e.PIPELINE_WATERMARK_TEXT,
      textWatermarkDefinition: e.PIPELINE_TEXT_WATERMARK_DEFINITION,
      snapshotDefinition: e.PIPELINE_SNAPSHOT_DEFINITION,
      snapshotOffsets: e.PIPELINE_SNAPSHOT_OFFSETS,
      coverDefinition: e.PIPELINE_COVER_DEFINITION,
      coverPosition: e.PIPELINE_COVER_POSITION,
      spriteDefinition: e.PIPELINE_SPRITE_DEFINITION,
      gifDefinition: e.PIPELINE_GIF_DEFINITION,
      adaptiveDefinition: e.PIPELINE_ADAPTIVE_DEFINITION,
      taskPriority: e.PIPELINE_TASK_PRIORITY,
      notifyMode: e.PIPELINE_NOTIFY_MODE,
    },
    mediaRules: {
      maxDurationSeconds: e.MEDIA_MAX_DURATION_SECONDS,
      maxSizeBytes: e.UPLOAD_MAX_FILE_SIZE,
      minWidth: e.MEDIA_MIN_WIDTH,
      minHeight: e.MEDIA_MIN_HEIGHT,
      allowedContainers: e.MEDIA_ALLOWED_CONTAINERS,
      allowedVideoCodecs: e.MEDIA_ALLOWED_VIDEO_CODECS,
    },
    cleanup: {
      eventMode: e.VOD_EVENT_MODE,
      timeBudgetSeconds: e.CLEANUP_TIME_BUDGET_SECONDS,
      // PULL mode without the pump would leave every event in VOD's queue.
      pullEvents: e.CLEANUP_PULL_EVENTS || e.VOD_EVENT_MODE === 'PULL',
      reconcile: e.CLEANUP_RECONCILE,
      deleteOrphans: e.CLEANUP_DELETE_ORPHANS,
      purge: e.CLEANUP_PURGE,
      dryRun: e.CLEANUP_DRY_RUN,
      batchSize: e.CLEANUP_BATCH_SIZE,
      expiryGraceSeconds: e.UPLOAD_EXPIRY_GRACE_SECONDS,
      uploadedRetryAfterSeconds: e.UPLOADED_RETRY_AFTER_SECONDS,
      processingCheck: {
        minSeconds: Math.min(e.PROCESSING_CHECK_MIN_SECONDS, e.PROCESSING_DEADLINE_SECONDS),
        secondsPerMediaSecond: e.PROCESSING_SECONDS_PER_MEDIA_SECOND,
        maxSeconds: e.PROCESSING_DEADLINE_SECONDS,
      },
      failedRetentionDays: e.FAILED_RETENTION_DAYS,
      blockedRetentionDays: e.BLOCKED_RETENTION_DAYS,
      eventRetentionDays: e.EVENT_RETENTION_DAYS,
    },
    hotlink: e.HOTLINK_KEY
      ? {
          key: e.HOTLINK_KEY,
          urlTtlSeconds: e.HOTLINK_URL_TTL_SECONDS,
          rlimit: e.HOTLINK_RLIMIT,
          previewSeconds: e.HOTLINK_PREVIEW_SECONDS,
        }
      : undefined,
    playback: e.PLAYBACK_KEY
      ? { key: e.PLAYBACK_KEY, appId: playbackAppId!, ttlSeconds: e.PLAYBACK_TTL_SECONDS, audience: e.PLAYBACK_AUDIENCE }
      : undefined,
    quotas: {
      uploadsPerDay: e.QUOTA_UPLOADS_PER_DAY,
      bytesPerDay: e.QUOTA_BYTES_PER_DAY,
      storedBytes: e.QUOTA_STORED_BYTES,
      storedSeconds: e.QUOTA_STORED_SECONDS,
      concurrentUploads: e.QUOTA_CONCURRENT_UPLOADS,
    },
    review: { mode: e.REVIEW_MODE, definition: e.REVIEW_DEFINITION, contents: e.REVIEW_CONTENTS },
    webhooks: e.APP_WEBHOOK_URL
      ? {
          url: e.APP_WEBHOOK_URL,
          secrets: e.APP_WEBHOOK_SECRETS,
          maxAgeHours: e.APP_WEBHOOK_MAX_AGE_HOURS,
          timeoutMs: e.APP_WEBHOOK_TIMEOUT_MS,
          publicOnly: production,
        }
      : undefined,
  };
}

/** `scope=vod-upload:admin` → the claim name and the value (split at the first `=`). */
function splitClaim(setting: string): { name: string; value: string } {
  const at = setting.indexOf('=');
  return { name: setting.slice(0, at), value: setting.slice(at + 1) };
}
