/**
 * VOD v3 event notifications (docs/vod-protocol/events.md §4): the per-application event configuration, PUSH
 * delivery (normal callback) and the PULL queue (reliable callback).
 *
 * PUSH: POST of the event JSON (null fields omitted, no EventHandle) to NotificationUrl, `pushTimeoutMs`
 * per attempt. VOD ignores the status and body of the answer (docs/vod-protocol/events.md §4.5): any answer, 4xx
 * or 5xx included, is a delivery; only a timeout or a connection failure is retried, `pushRetries` times.
 * With a SignKey the emulator adds two top-level body fields, `T` (expiry, Unix s, now + 10 min) and
 * `Sign` = lower-case hex md5(SignKey + T) — the placement is this emulator's choice (VOD's docs do not
 * say where they go; Tencent live callbacks put sign/t in the JSON body).
 *
 * PULL: a durable queue per application; PullEvents hands out at most 16 visible events with a fresh
 * EventHandle each, waits up to `pullWaitMs` when there are none, and an event not confirmed within
 * `redeliverAfterMs` (on the emulator clock) becomes visible again. Events expire after `retentionMs`.
 */
import { EventEmitter } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { callbackSign } from '#lib/callback-auth';
import type { Faults } from './faults.ts';
import { sleep } from './sleep.ts';
import type { EventConfig, ResolvedOptions } from './options.ts';
import type { PendingPush, QueuedEvent, StateStore } from './state.ts';

export const MAX_EVENTS_PER_PULL = 16;

/** Every payload field of `EventContent` (tencentcloud-sdk-nodejs-vod 4.1.287), null in the PULL form. */
const EVENT_PAYLOAD_FIELDS = [
  'FileUploadEvent',
  'ProcedureStateChangeEvent',
  'FileDeleteEvent',
  'PullCompleteEvent',
  'EditMediaCompleteEvent',
  'SplitMediaCompleteEvent',
  'ComposeMediaCompleteEvent',
  'ClipCompleteEvent',
  'TranscodeCompleteEvent',
  'CreateImageSpriteCompleteEvent',
  'ConcatCompleteEvent',
  'SnapshotByTimeOffsetCompleteEvent',
  'WechatPublishCompleteEvent',
  'WechatMiniProgramPublishCompleteEvent',
  'RemoveWatermarkCompleteEvent',
  'RestoreMediaCompleteEvent',
  'RebuildMediaCompleteEvent',
  'ExtractTraceWatermarkCompleteEvent',
  'ExtractCopyRightWatermarkCompleteEvent',
  'ReviewAudioVideoCompleteEvent',
  'ReduceMediaBitrateCompleteEvent',
  'DescribeFileAttributesCompleteEvent',
  'QualityInspectCompleteEvent',
  'QualityEnhanceCompleteEvent',
  'MediaCastStatusChangedEvent',
  'PersistenceCompleteEvent',
  'ComplexAdaptiveDynamicStreamingCompleteEvent',
  'ProcessMediaByMPSCompleteEvent',
  'AigcImageCompleteEvent',
  'AigcVideoCompleteEvent',
  'ExtractBlindWatermarkComplete',
  'SceneAigcImageCompleteEvent',
  'ProcessImageAsyncCompleteEvent',
  'CreateAigcAdvancedCustomElementCompleteEvent',
  'CreateAigcCustomVoiceCompleteEvent',
  'DescribeAigcFaceInfoAsyncCompleteEvent',
] as const;

/** Which switch gates which event type; types not listed are always sent. */
const SWITCHES: Record<string, keyof EventConfig> = {
  NewFileUpload: 'UploadMediaCompleteEventSwitch',
  FileDeleted: 'DeleteMediaCompleteEventSwitch',
  PersistenceComplete: 'PersistenceCompleteEventSwitch',
};

/** Removes null/undefined fields recursively (VOD's normal-callback form). */
export function omitNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(omitNulls);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = omitNulls(v);
    return out;
  }
  return value;
}

export interface PushAttempt {
  eventId: string;
  url: string;
  attempt: number;
  /** HTTP status, or undefined for a network error / timeout. */
  status?: number;
  error?: string;
  body: Record<string, unknown>;
}

export interface EventHubEvents {
  /** An event was produced (whatever the mode), with its full content. */
  event: [{ id: string; appId: number; mode: string; content: Record<string, unknown> }];
  /** One PUSH POST finished (or failed). */
  push: [PushAttempt];
  /** A PUSH callback was dropped by fault injection. */
  pushDropped: [{ eventId: string }];
}

export class EventHub extends EventEmitter<EventHubEvents> {
  private waiters = new Set<() => void>();
  private inFlight = new Set<Promise<void>>();
  private held: { push: PendingPush; timer: NodeJS.Timeout } | undefined;
  private closed = false;
  private timers = new Set<NodeJS.Timeout>();
  /** Aborts in-flight callbacks and retry pauses when the emulator closes. */
  private readonly closing = new AbortController();

  constructor(
    private readonly store: StateStore,
    private readonly options: ResolvedOptions,
    private readonly faults: Faults,
  ) {
    super();
  }

  now(): number {
    return this.options.clock();
  }

  config(appId: number): EventConfig {
    return this.store.doc.eventConfigs[String(appId)] ?? { ...this.options.eventConfig };
  }

  setConfig(appId: number, change: Partial<EventConfig>): EventConfig {
    return this.store.update((doc) => {
      const next = { ...this.config(appId), ...change };
      doc.eventConfigs[String(appId)] = next;
      return next;
    });
  }

  /** Produces an event of `type` with its payload field; honours the switches and the mode. */
  emitVodEvent(
    appId: number,
    type: string,
    field: (typeof EVENT_PAYLOAD_FIELDS)[number],
    payload: Record<string, unknown>,
  ): void {
    const config = this.config(appId);
    const switchName = SWITCHES[type];
    if (switchName && config[switchName] !== 'ON') return;
    const id = randomUUID();
    const content: Record<string, unknown> = { EventType: type };
    for (const name of EVENT_PAYLOAD_FIELDS) content[name] = null;
    content[field] = payload;
    this.emit('event', { id, appId, mode: config.Mode, content });
    if (config.Mode === 'PULL') {
      this.store.update((doc) => {
        doc.events.push({ id, appId, content, createdAt: this.now(), visibleAt: this.now(), deliveries: 0 });
      });
      for (const wake of this.waiters) wake();
      return;
    }
    if (!config.NotificationUrl) return;
    const push: PendingPush = { id, appId, url: config.NotificationUrl, content, signKey: config.SignKey, createdAt: this.now() };
    this.store.update((doc) => {
      doc.pushOutbox.push(push);
    });
    this.schedulePush(push);
  }

  /** Resumes PUSH deliveries that were pending when the emulator stopped. */
  resumePending(): void {
    for (const push of this.store.doc.pushOutbox) this.schedulePush(push);
  }

  private schedulePush(push: PendingPush): void {
    const fate = this.faults.forPush(String(push.content.EventType ?? ''));
    if (fate.drop) {
      this.finishPush(push.id);
      this.emit('pushDropped', { eventId: push.id });
      return;
    }
    const copies = fate.duplicate ? 2 : 1;
    const send = () => {
      for (let i = 0; i < copies; i++) this.track(this.deliver(push, i === copies - 1));
    };
    const afterDelay = (fn: () => void) => {
      if (fate.delayMs > 0) this.later(fate.delayMs, fn);
      else fn();
    };
    if (this.held) {
      // A held-back callback goes out right after its successor: that is the reordering.
      const held = this.held;
      clearTimeout(held.timer);
      this.timers.delete(held.timer);
      this.held = undefined;
      afterDelay(() => {
        const successor = Array.from({ length: copies }, (_, i) => this.deliver(push, i === copies - 1));
        for (const p of successor) this.track(p);
        // Strictly after the successor has been delivered, so the receiver sees them swapped.
        this.track(Promise.allSettled(successor).then(() => this.deliver(held.push, true)));
      });
      return;
    }
    if (fate.reorder) {
      const timer = this.later(fate.reorderWindowMs, () => {
        if (this.held?.push === push) {
          this.held = undefined;
          afterDelay(send);
        }
      });
      this.held = { push, timer };
      return;
    }
    afterDelay(send);
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    // A delivery that throws (say, the state file cannot be written) is logged, never an unhandled rejection.
    p.catch((error: unknown) => this.options.log(`push delivery failed: ${(error as Error).message}`)).finally(() =>
      this.inFlight.delete(p),
    );
  }

  private finishPush(id: string): void {
    if (!this.store.doc.pushOutbox.some((p) => p.id === id)) return;
    this.store.update((doc) => {
      doc.pushOutbox = doc.pushOutbox.filter((p) => p.id !== id);
    });
  }

  /** The exact JSON body of a PUSH callback. */
  pushBody(push: PendingPush): Record<string, unknown> {
    const body = omitNulls(push.content) as Record<string, unknown>;
    if (push.signKey) {
      const t = Math.floor((this.now() + this.options.events.callbackSignValidityMs) / 1000);
      body.Sign = callbackSign(push.signKey, t);
      body.T = t;
    }
    return body;
  }

  private async deliver(push: PendingPush, last: boolean): Promise<void> {
    const { pushRetries, pushTimeoutMs, pushRetryDelayMs } = this.options.events;
    // Settled = answered, or out of attempts. A delivery cut short by close() stays in the outbox
    // and is sent again on the next start (at-least-once, like VOD).
    let settled = false;
    for (let attempt = 1; attempt <= pushRetries + 1 && !this.closed; attempt++) {
      const body = this.pushBody(push);
      let status: number | undefined;
      let error: string | undefined;
      try {
        const response = await fetch(push.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.any([AbortSignal.timeout(pushTimeoutMs), this.closing.signal]),
        });
        status = response.status;
        await response.arrayBuffer().catch(() => undefined);
      } catch (e) {
        if (this.closed) break;
        error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
      this.emit('push', { eventId: push.id, url: push.url, attempt, status, error, body });
      this.options.log(`push ${push.id} attempt ${attempt} → ${status ?? error}`);
      // Whatever the status, an answer ends the delivery: VOD does not read it.
      if (status !== undefined || attempt === pushRetries + 1) {
        settled = true;
        break;
      }
      // Ends early when the emulator closes (so `idle()` never waits on a cleared timer).
      await sleep(pushRetryDelayMs, this.closing.signal);
    }
    if (last && settled) this.finishPush(push.id);
  }

  /** Waits until every PUSH delivery started so far has finished (tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private purgeExpired(appId: number): void {
    const cutoff = this.now() - this.options.events.retentionMs;
    if (this.store.doc.events.some((e) => e.appId === appId && e.createdAt < cutoff)) {
      this.store.update((doc) => {
        doc.events = doc.events.filter((e) => !(e.appId === appId && e.createdAt < cutoff));
      });
    }
  }

  private takeVisible(appId: number): QueuedEvent[] {
    this.purgeExpired(appId);
    const now = this.now();
    const visible = this.store.doc.events.filter((e) => e.appId === appId && e.visibleAt <= now).slice(0, MAX_EVENTS_PER_PULL);
    if (visible.length === 0) return [];
    this.store.update(() => {
      for (const event of visible) {
        event.handle = `${randomBytes(12).toString('hex')}${event.deliveries}`;
        event.handedOutAt = now;
        event.visibleAt = now + this.options.events.redeliverAfterMs;
        event.deliveries += 1;
      }
    });
    return visible;
  }

  /** PullEvents: up to 16 events with fresh handles; long-polls up to `pullWaitMs` when none. */
  async pull(appId: number, signal?: AbortSignal): Promise<Record<string, unknown>[]> {
    const toContent = (events: QueuedEvent[]) => events.map((e) => ({ EventHandle: e.handle, ...e.content }));
    let events = this.takeVisible(appId);
    if (events.length > 0 || this.options.events.pullWaitMs <= 0) return toContent(events);
    const deadline = Date.now() + this.options.events.pullWaitMs;
    while (events.length === 0 && Date.now() < deadline && !this.closed && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        // Re-check now and then too: redelivery becomes due by the clock, which emits nothing.
        const timer = setTimeout(done, Math.min(250, Math.max(0, deadline - Date.now())));
        this.waiters.add(done);
      });
      events = this.takeVisible(appId);
    }
    return toContent(events);
  }

  /** ConfirmEvents: removes the events whose current handles are given. Returns unknown/stale handles. */
  confirm(appId: number, handles: string[]): string[] {
    const now = this.now();
    const bad: string[] = [];
    const confirmed = new Set<string>();
    for (const handle of handles) {
      const event = this.store.doc.events.find((e) => e.appId === appId && e.handle === handle);
      if (!event || event.handedOutAt === undefined || now - event.handedOutAt > this.options.events.redeliverAfterMs)
        bad.push(handle);
      else confirmed.add(event.id);
    }
    if (confirmed.size > 0) {
      this.store.update((doc) => {
        doc.events = doc.events.filter((e) => !confirmed.has(e.id));
      });
    }
    return bad;
  }

  close(): void {
    this.closed = true;
    this.closing.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const wake of this.waiters) wake();
  }
}
