/**
 * Configuration of the VOD emulator: what `startEmulator` accepts and the defaults it fills in.
 * Every time-related knob exists so that tests can move time (the `clock`) or shorten waits instead
 * of sleeping through VOD's real 5 s / 30 s / 4 day windows.
 */
import path from 'node:path';
import type { FaultConfig } from './faults.ts';
import { DEFAULT_PROCEDURES, DEFAULT_WATERMARK_TEMPLATES } from './templates.ts';
import type { ProcedureTemplate, WatermarkTemplate } from './templates.ts';

export interface ProcessingOptions {
  /** Jobs (tasks) processed at the same time. Default 1. */
  concurrency: number;
  /** Start with the worker pool paused (tests queue jobs, then `emulator.processing.resume()`). Default false. */
  startPaused: boolean;
  /** ffmpeg `-threads` per command; 0 = ffmpeg's choice. Default 0. */
  threads: number;
  /** Limit for one ffmpeg command. Default 10 min. */
  commandTimeoutMs: number;
  /** A ProcessMedia SessionId cannot be reused within this window (VOD: 3 days). */
  sessionIdWindowMs: number;
  /** The same for ProcessMediaByProcedure (VOD: 7 days). */
  procedureSessionIdWindowMs: number;
  /** DescribeTaskDetail / DescribeTasks only know tasks this young (VOD: 3 days). */
  taskRetentionMs: number;
}

const DEFAULT_PROCESSING: ProcessingOptions = {
  concurrency: 1,
  startPaused: false,
  threads: 0,
  commandTimeoutMs: 600_000,
  sessionIdWindowMs: 3 * 24 * 3600_000,
  procedureSessionIdWindowMs: 7 * 24 * 3600_000,
  taskRetentionMs: 3 * 24 * 3600_000,
};

export interface EmulatorCredential {
  secretId: string;
  secretKey: string;
  /**
   * Set for a temporary (STS-style) API credential: API 3.0 calls must then carry this value in
   * `X-TC-Token`, as real VOD requires for temporary keys.
   */
  token?: string;
}

export type EventSwitch = 'ON' | 'OFF';
export type EventMode = 'PUSH' | 'PULL';

export interface EventConfig {
  Mode: EventMode;
  NotificationUrl: string;
  UploadMediaCompleteEventSwitch: EventSwitch;
  DeleteMediaCompleteEventSwitch: EventSwitch;
  PersistenceCompleteEventSwitch: EventSwitch;
  /** Callback key (letters and digits, ≤ 32); empty = callbacks are not signed. */
  SignKey: string;
}

export interface EventTimings {
  /** How long PullEvents holds the request when the queue is empty (VOD: 5 s). */
  pullWaitMs: number;
  /** Pulled but unconfirmed events come back after this long (VOD: 30 s); measured on `clock`. */
  redeliverAfterMs: number;
  /** Unpulled events are dropped after this long (VOD: 4 days); measured on `clock`. */
  retentionMs: number;
  /** PUSH callback timeout per attempt (VOD: 5 s). */
  pushTimeoutMs: number;
  /** PUSH retries after the first attempt (VOD: 2). */
  pushRetries: number;
  /** Pause between PUSH attempts. */
  pushRetryDelayMs: number;
  /** Lifetime of `T` in a signed callback (VOD: 10 min). */
  callbackSignValidityMs: number;
}

export interface EmulatorOptions {
  /** TCP port; 0 picks a free one. Default 0. */
  port?: number;
  /** Listen address. Default 127.0.0.1. */
  host?: string;
  /** Where media, sessions, events, objects and configuration persist. Required. */
  dataDir: string;
  /** The VOD account AppId (primary application). Default 1500000001. */
  appId?: number;
  /** Sub-application ids that exist besides the primary application. Default none. */
  subAppIds?: number[];
  /** COS AppId that owns the storage buckets (`storageAppId`). Default 1250000001. */
  storageAppId?: number;
  /** Default storage region. Default ap-guangzhou. */
  region?: string;
  /** Storage regions "added in the console"; a signature naming another one is refused. Default [region]. */
  storageRegions?: string[];
  /** API keys the emulator accepts, for the upload signature and API 3.0. At least one. */
  credentials: EmulatorCredential[];
  /** Base URL of media links (`video.url`, `MediaUrl`). Default: the emulator's own URL. */
  publicUrl?: string;
  /** Initial event configuration of every application (VOD defaults: PUSH, no URL, all switches OFF). */
  eventConfig?: Partial<EventConfig>;
  /** Event timings; defaults are VOD's. */
  events?: Partial<EventTimings>;
  /** Initial fault injection (none by default); change later with `setFaults` or `POST /__admin/faults`. */
  faults?: FaultConfig;
  /** Milliseconds since the epoch; default Date.now. Every expiry check uses it. */
  clock?: () => number;
  /** Lifetime of the COS temporary credentials from ApplyUploadUGC / ApplyUpload. Default 2 days (VOD fixture). */
  tempCredentialTtlSeconds?: number;
  /**
   * Task-flow templates. A record maps names to `{ MediaProcessTask }` (merged over the built-in
   * `LongVideoPreset` and `demo`); a list names the only procedures that exist (built-in names keep their
   * definition, other names run `LongVideoPreset`'s). In both cases an unknown `procedure` is refused.
   * Default: the built-ins, and any other name is accepted and runs `LongVideoPreset`'s tasks.
   */
  procedures?: string[] | Record<string, ProcedureTemplate>;
  /** Media processing worker pool and windows. */
  processing?: Partial<ProcessingOptions>;
  /** Watermark templates by definition, merged over the built-in 501 (image) and 502 (text). */
  watermarkTemplates?: Record<number, WatermarkTemplate>;
  /** Font for text watermarks; default: the first common system font found (DejaVu Sans, …). */
  fontFile?: string;
  /** ffmpeg binary; default the one ffmpeg.ts selects (system 5+, else packaged; FFMPEG_PATH). */
  ffmpegPath?: string;
  /**
   * Key hotlink protection (docs/vod-protocol/hotlink.md §8) for `/media/...`: when set, media URLs need a valid
   * `t`/`sign` (see `#lib/playback-url-signer`), else 403. Default off.
   */
  hotlinkKey?: string;
  /** Play key that signs player signatures (Psign) for `/getplayinfo/v4/...` (play-info.ts). Default none: refused. */
  playKey?: string;
  /** Key for `verify_content` in CommitUploadUGC. */
  verifyKey?: string;
  /** Serve HTTPS instead of HTTP (needed by the web SDK, which hard-codes https). PEM strings. */
  tls?: { key: string; cert: string };
  /** ffprobe binary; default the one ffmpeg.ts selects (system 5+, else packaged; FFPROBE_PATH). */
  ffprobePath?: string;
  /** Called with every line the emulator would log; default silent. */
  log?: (line: string) => void;
}

export interface ResolvedOptions {
  port: number;
  host: string;
  dataDir: string;
  appId: number;
  subAppIds: number[];
  storageAppId: number;
  region: string;
  storageRegions: string[];
  credentials: EmulatorCredential[];
  publicUrl: string | undefined;
  eventConfig: EventConfig;
  events: EventTimings;
  faults: FaultConfig;
  clock: () => number;
  tempCredentialTtlSeconds: number;
  procedures: Record<string, ProcedureTemplate>;
  /** False when the `procedures` option named them: other names are refused. */
  acceptAnyProcedure: boolean;
  processing: ProcessingOptions;
  watermarkTemplates: Record<number, WatermarkTemplate>;
  fontFile: string | undefined;
  ffmpegPath: string | undefined;
  hotlinkKey: string | undefined;
  playKey: string | undefined;
  verifyKey: string;
  tls: { key: string; cert: string } | undefined;
  ffprobePath: string | undefined;
  log: (line: string) => void;
}

const DEFAULT_EVENT_CONFIG: EventConfig = {
  Mode: 'PUSH',
  NotificationUrl: '',
  UploadMediaCompleteEventSwitch: 'OFF',
  DeleteMediaCompleteEventSwitch: 'OFF',
  PersistenceCompleteEventSwitch: 'OFF',
  SignKey: '',
};

const DEFAULT_EVENT_TIMINGS: EventTimings = {
  pullWaitMs: 5_000,
  redeliverAfterMs: 30_000,
  retentionMs: 4 * 24 * 3600_000,
  pushTimeoutMs: 5_000,
  pushRetries: 2,
  pushRetryDelayMs: 1_000,
  callbackSignValidityMs: 600_000,
};

export function resolveOptions(options: EmulatorOptions): ResolvedOptions {
  if (!options.dataDir) throw new Error('startEmulator: dataDir is required');
  if (!options.credentials || options.credentials.length === 0) {
    throw new Error('startEmulator: give at least one credential { secretId, secretKey }');
  }
  for (const c of options.credentials) {
    if (!c.secretId || !c.secretKey) throw new Error('startEmulator: every credential needs secretId and secretKey');
  }
  const region = options.region ?? 'ap-guangzhou';
  return {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    dataDir: path.resolve(options.dataDir),
    appId: options.appId ?? 1500000001,
    subAppIds: options.subAppIds ?? [],
    storageAppId: options.storageAppId ?? 1250000001,
    region,
    storageRegions: options.storageRegions ?? [region],
    credentials: options.credentials,
    publicUrl: options.publicUrl?.replace(/\/+$/, ''),
    eventConfig: { ...DEFAULT_EVENT_CONFIG, ...options.eventConfig },
    events: { ...DEFAULT_EVENT_TIMINGS, ...options.events },
    faults: options.faults ?? {},
    clock: options.clock ?? Date.now,
    tempCredentialTtlSeconds: options.tempCredentialTtlSeconds ?? 172_800,
    procedures: resolveProcedures(options.procedures),
    acceptAnyProcedure: options.procedures === undefined,
    processing: { ...DEFAULT_PROCESSING, ...options.processing },
    watermarkTemplates: { ...DEFAULT_WATERMARK_TEMPLATES, ...options.watermarkTemplates },
    fontFile: options.fontFile,
    ffmpegPath: options.ffmpegPath,
    hotlinkKey: options.hotlinkKey,
    playKey: options.playKey,
    verifyKey: options.verifyKey ?? 'vod-emulator-verify-key',
    tls: options.tls,
    ffprobePath: options.ffprobePath,
    log: options.log ?? (() => {}),
  };
}

function resolveProcedures(option: EmulatorOptions['procedures']): Record<string, ProcedureTemplate> {
  if (option === undefined) return { ...DEFAULT_PROCEDURES };
  if (Array.isArray(option)) {
    return Object.fromEntries(option.map((name) => [name, DEFAULT_PROCEDURES[name] ?? DEFAULT_PROCEDURES.LongVideoPreset!]));
  }
  return { ...DEFAULT_PROCEDURES, ...option };
}
