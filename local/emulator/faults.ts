/**
 * Fault injection for reliability tests. Rates are probabilities in [0, 1] drawn from a seeded PRNG,
 * so a test that sets a seed sees the same faults on every run; rate 1 means "always".
 */
import { z } from 'zod';

const rate = z.number().min(0).max(1);

const faultConfigSchema = z
  .object({
    /** PRNG seed (any integer); default 1. Setting faults restarts the sequence. */
    seed: z.number().int().optional(),
    push: z
      .object({
        /** Share of PUSH callbacks never sent (VOD's "lost" callback). */
        dropRate: rate.optional(),
        /** Share of PUSH callbacks sent twice. */
        duplicateRate: rate.optional(),
        /** Share of PUSH callbacks held back and sent after the next one (or after `reorderWindowMs`). */
        reorderRate: rate.optional(),
        /** How long a held-back callback waits for a successor before it is sent anyway. Default 1000. */
        reorderWindowMs: z.number().int().min(0).optional(),
        /** Extra delay before every PUSH callback, ms. */
        delayMs: z.number().int().min(0).optional(),
        /**
         * Only PUSH callbacks of these `EventType`s (e.g. ["ReviewAudioVideoComplete"]) meet the faults above;
         * default all. Others go out at once and draw nothing from the PRNG.
         */
        eventTypes: z
          .array(z.string().regex(/^[A-Za-z]+$/, 'an EventType is a word such as ReviewAudioVideoComplete'))
          .min(1, 'list at least one EventType, or leave eventTypes out for all')
          .optional(),
      })
      .strict()
      .optional(),
    api: z
      .object({
        /** Share of API calls (API 3.0 and the UGC API) answered with InternalError. */
        internalErrorRate: rate.optional(),
        /** Share of API calls never answered: the connection is closed after `timeoutMs`. */
        timeoutRate: rate.optional(),
        /** How long a "timed out" call is held before its socket is destroyed. Default 10000. */
        timeoutMs: z.number().int().min(0).optional(),
        /** Only these actions are affected (e.g. ["ApplyUploadUGC", "PullEvents"]); default all. */
        actions: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
    processing: z
      .object({
        /** Subtasks with these template definitions fail (ErrCodeExt InternalError) instead of running. */
        failDefinitions: z.array(z.number().int()).optional(),
        /** Subtasks of these types (`Transcode`, `ImageSprites`, …) fail. */
        failTypes: z.array(z.string()).optional(),
        /** Extra time every subtask takes, ms (to observe PROCESSING states). */
        delayMs: z.number().int().min(0).optional(),
        /**
         * The next this many tasks to start end `ABORTED` (DescribeTaskDetail / DescribeTasks status) before
         * any subtask runs, with no ProcedureStateChanged event: VOD documents the status, not an event for it.
         */
        abortNext: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type FaultConfig = z.infer<typeof faultConfigSchema>;

/** mulberry32: tiny, fast, good enough to make fault sequences reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type ApiFault = { kind: 'internalError' } | { kind: 'timeout'; ms: number } | undefined;

export class Faults {
  private config: FaultConfig = {};
  private random: () => number = prng(1);
  private abortsLeft = 0;

  constructor(initial: FaultConfig = {}) {
    this.set(initial);
  }

  /** Replaces the whole configuration (validated); `{}` turns every fault off. */
  set(config: unknown): FaultConfig {
    const parsed = faultConfigSchema.parse(config);
    this.config = parsed;
    this.random = prng(parsed.seed ?? 1);
    this.abortsLeft = parsed.processing?.abortNext ?? 0;
    return parsed;
  }

  get(): FaultConfig {
    return structuredClone(this.config);
  }

  private roll(p: number | undefined): boolean {
    if (!p) return false;
    if (p >= 1) return true;
    return this.random() < p;
  }

  /** Decides the fate of one API call. */
  forApiCall(action: string): ApiFault {
    const api = this.config.api;
    if (!api) return undefined;
    if (api.actions && !api.actions.includes(action)) return undefined;
    if (this.roll(api.timeoutRate)) return { kind: 'timeout', ms: api.timeoutMs ?? 10_000 };
    if (this.roll(api.internalErrorRate)) return { kind: 'internalError' };
    return undefined;
  }

  /** Whether a processing subtask is forced to fail, and the extra delay before it runs. */
  forSubtask(type: string, definition: number | undefined): { fail: boolean; delayMs: number } {
    const p = this.config.processing ?? {};
    const fail =
      (definition !== undefined && (p.failDefinitions ?? []).includes(definition)) || (p.failTypes ?? []).includes(type);
    return { fail, delayMs: p.delayMs ?? 0 };
  }

  /** Whether the task now starting is aborted (uses up one of `processing.abortNext`). */
  abortTask(): boolean {
    if (this.abortsLeft <= 0) return false;
    this.abortsLeft--;
    return true;
  }

  /** Decides the fate of one PUSH callback of `eventType`. */
  forPush(eventType: string): { drop: boolean; duplicate: boolean; reorder: boolean; delayMs: number; reorderWindowMs: number } {
    const push = this.config.push ?? {};
    if (push.eventTypes && !push.eventTypes.includes(eventType))
      return { drop: false, duplicate: false, reorder: false, delayMs: 0, reorderWindowMs: 0 };
    return {
      drop: this.roll(push.dropRate),
      duplicate: this.roll(push.duplicateRate),
      reorder: this.roll(push.reorderRate),
      delayMs: push.delayMs ?? 0,
      reorderWindowMs: push.reorderWindowMs ?? 1000,
    };
  }
}
