/**
 * One local stack (gateway, built bundles, VOD emulator with real ffmpeg) with content review on, for the
 * review system tests (test/system/review-*.test.ts): uploads through the upload client, the owner's and the
 * reviewer's reads, the reviewer's decision, the emulator's review rules and tasks, and a webhook receiver that
 * keeps every verified body (the stack's own `/local/webhooks` log keeps no bodies, and these tests look for
 * URLs in them).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ffmpeg from '@ffmpeg-installer/ffmpeg';
import { Webhook } from 'standardwebhooks';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import type { UploadView } from '#contract';
import { setLogSink } from '#lib/log';
import { MemoryResumeStore, VodUploader } from '../../client/node';
import { startStack, type Stack } from '../../local/stack';
import { makeTestClip } from '../../scripts/test-clip';
import { checkedFetch } from './openapi';

/** Every answer of the API is checked against docs/openapi.json. */
export const apiFetch = checkedFetch();

/** A received webhook: its type and its data (the owner's view of the upload, plus userId and sequence). */
export interface ReceivedHook {
  type: string;
  data: UploadView & { userId: string; sequence: number };
}

/** The reviewer's view: the owner's, plus the whole review. */
export type ReviewerView = UploadView & { review?: { state: string; decidedBy?: string; reason?: string } };

/** The pipeline: one rendition and one snapshot, no sprite, cover or HLS, so a clip processes in well under a second. */
const PIPELINE = {
  PIPELINE_TRANSCODE_DEFINITIONS: '100010',
  PIPELINE_SNAPSHOT_OFFSETS: '1s',
  PIPELINE_COVER_DEFINITION: '0',
  PIPELINE_SPRITE_DEFINITION: '0',
  PIPELINE_ADAPTIVE_DEFINITION: '0',
};

export const ADMIN_CLAIM = 'scope=vod-upload:admin';

export class ReviewStack {
  readonly hooks: ReceivedHook[] = [];
  private verdictEvents = new Map<string, string>();
  private verdictFates: Array<{ eventId: string; fate: 'sent' | 'dropped' }> = [];
  /** A grey test pattern (the default clip) and a red fill (for colour rules). */
  clip = '';
  redClip = '';
  private work = '';
  private previousSink: ((line: string) => void) | undefined;
  private receiver: Server | undefined;
  private _stack: Stack | undefined;

  get stack(): Stack {
    return this._stack!;
  }

  async start(env: Record<string, string>, reviewRules: unknown): Promise<void> {
    this.previousSink = setLogSink(() => undefined);
    this.work = mkdtempSync(path.join(tmpdir(), 'vub-review-'));
    this.clip = makeTestClip(path.join(this.work, 'clip.mp4'), { width: 160, height: 90, seconds: 1, fps: 10, audio: false });
    this.redClip = path.join(this.work, 'red.mp4');
    execFileSync(process.env.FFMPEG_PATH || ffmpeg.path, [
      ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=red:s=160x90:r=10:d=1'],
      ...['-c:v', 'libx264', '-pix_fmt', 'yuv420p', this.redClip],
    ]);
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const verifier = new Webhook(secret);
    this.receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          this.hooks.push(
            verifier.verify(Buffer.concat(chunks).toString('utf8'), req.headers as Record<string, string>) as ReceivedHook,
          );
          res.writeHead(204).end();
        } catch {
          res.writeHead(401).end();
        }
      });
    });
    await new Promise<void>((resolve) => this.receiver!.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(this.receiver.address() as AddressInfo).port}/hooks`;
    this._stack = await startStack({
      dataDir: path.join(this.work, 'data'),
      port: 0,
      emulatorPort: 0,
      timers: false,
      log: () => undefined,
      env: {
        ...PIPELINE,
        AUTH_ADMIN_CLAIM: ADMIN_CLAIM,
        RATE_LIMIT_SIGNATURES: '1000',
        // The reconciler may look at a review (and a lost upload) at once: no waiting in these tests.
        UPLOADED_RETRY_AFTER_SECONDS: '0',
        APP_WEBHOOK_URL: hookUrl,
        APP_WEBHOOK_SECRETS: secret,
        ...env,
      },
    });
    await this.setReviewRules(reviewRules);
    // Which review verdicts the emulator pushed or dropped (the faults' doing), by file.
    const events = this.stack.emulator.events;
    events.on('event', (e: { id: string; content: { EventType?: string } }) => {
      if (e.content.EventType === 'ReviewAudioVideoComplete') this.verdictEvents.set(e.id, JSON.stringify(e.content));
    });
    events.on('push', (p: { eventId: string; status?: number }) => {
      if (p.status !== undefined && this.verdictEvents.has(p.eventId))
        this.verdictFates.push({ eventId: p.eventId, fate: 'sent' });
    });
    events.on('pushDropped', (p: { eventId: string }) => {
      if (this.verdictEvents.has(p.eventId)) this.verdictFates.push({ eventId: p.eventId, fate: 'dropped' });
    });
  }

  /** How many review verdicts for the file the emulator sent (each copy counts) and dropped. */
  verdictDeliveries(fileId: string): { sent: number; dropped: number } {
    const mine = this.verdictFates.filter((f) => this.verdictEvents.get(f.eventId)?.includes(fileId));
    return { sent: mine.filter((f) => f.fate === 'sent').length, dropped: mine.filter((f) => f.fate === 'dropped').length };
  }

  async close(): Promise<void> {
    await this._stack?.close();
    this.receiver?.closeAllConnections();
    if (this.receiver) await new Promise((resolve) => this.receiver!.close(resolve));
    if (this.previousSink) setLogSink(this.previousSink);
    if (this.work) rmSync(this.work, { recursive: true, force: true });
  }

  /** The emulator's verdict rules, set as an operator would (local/emulator/README.md "Audio/video review"). */
  async setReviewRules(rules: unknown): Promise<void> {
    const answer = await fetch(`${this.stack.emulator.url}/__admin/review-rules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(rules),
    });
    expect(answer.status).toBe(200);
  }

  /** The emulator's faults (`{}` clears them), through its admin endpoint as an operator sets them. */
  async setFaults(faults: unknown): Promise<void> {
    const answer = await fetch(`${this.stack.emulator.url}/__admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(faults),
    });
    expect({ status: answer.status, body: await answer.text() }).toMatchObject({ status: 200 });
  }

  vodApi() {
    const { secrets, emulator } = this.stack;
    return new vod.v20180717.Client({
      credential: { secretId: secrets.secretId, secretKey: secrets.secretKey },
      region: 'ap-guangzhou',
      profile: { httpProfile: { endpoint: emulator.apiEndpoint, protocol: 'http://' } },
    });
  }

  /** A service token (it carries the AUTH_ADMIN_CLAIM claim), as the stack's demo admin gets one, for the reviewer `subject`. */
  serviceToken(subject = 'review-desk'): Promise<string> {
    return this.stack.demoToken(subject, true);
  }

  /** Uploads `file` (default: the grey clip) as `userId`, named `mediaName` in VOD; does not wait. */
  async upload(
    userId: string,
    mediaName: string,
    file = this.clip,
  ): Promise<{ uploadId: string; fileId: string; token: string }> {
    const token = await this.stack.demoToken(userId);
    const client = new VodUploader({
      apiBaseUrl: this.stack.apiUrl,
      token,
      vodApiUrl: this.stack.emulator.url,
      cosDomain: this.stack.emulator.cosDomain,
      resumeStore: new MemoryResumeStore(),
      fetch: apiFetch,
      stateDir: path.join(this.work, 'client-state'),
    });
    const result = await client.upload(file, { mediaName });
    return { uploadId: result.uploadId, fileId: result.fileId, token };
  }

  async view(uploadId: string, token: string): Promise<ReviewerView> {
    const answer = await apiFetch(`${this.stack.apiUrl}/uploads/${uploadId}`, { headers: { authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(200);
    return (await answer.json()) as ReviewerView;
  }

  /**
   * Reads the upload every 100 ms until `done(view)` holds, keeping every view read (so a test can say what
   * was never seen on the way); throws with the last view after `timeoutMs`.
   */
  async until(
    uploadId: string,
    token: string,
    done: (view: ReviewerView) => boolean,
    seen: ReviewerView[] = [],
    timeoutMs = 60_000,
  ): Promise<ReviewerView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await this.view(uploadId, token);
      seen.push(view);
      if (done(view)) return view;
      if (Date.now() > deadline)
        throw new Error(`upload ${uploadId} never got there; last view ${JSON.stringify(view).slice(0, 1500)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** POST /uploads/{uploadId}/review with a raw body. */
  async decide(uploadId: string, body: unknown, token: string): Promise<{ status: number; body: any }> {
    const answer = await apiFetch(`${this.stack.apiUrl}/uploads/${uploadId}/review`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: answer.status, body: await answer.json() };
  }

  /** The emulator's tasks for a file of one kind (`ReviewAudioVideo`, or processing: anything else). */
  async tasks(fileId: string, kind: 'review' | 'processing'): Promise<Array<{ TaskId?: string; Status?: string }>> {
    const { TaskSet = [] } = await this.vodApi().DescribeTasks({ FileId: fileId, Limit: 100 });
    return TaskSet.filter((t) => (t.TaskType === 'ReviewAudioVideo') === (kind === 'review'));
  }

  /** Waits until every task of that kind for the file has finished (at least one). */
  async tasksFinished(fileId: string, kind: 'review' | 'processing', timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const tasks = await this.tasks(fileId, kind);
      if (tasks.length > 0 && tasks.every((t) => t.Status === 'FINISH')) return;
      if (Date.now() > deadline) throw new Error(`${kind} tasks of ${fileId} not finished: ${JSON.stringify(tasks)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The cleanup timer's run, as the SCF timer (or `POST /local/timers/cleanup`) starts it. */
  cleanup(): Promise<unknown> {
    return this.stack.gateway.invokeTimer('cleanup');
  }

  hooksFor(uploadId: string): ReceivedHook[] {
    return this.hooks.filter((h) => h.data.uploadId === uploadId);
  }

  /** Waits for a webhook of `type` for the upload. */
  async hook(uploadId: string, type: string, timeoutMs = 30_000): Promise<ReceivedHook> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.hooksFor(uploadId).find((h) => h.type === type);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no ${type} webhook for ${uploadId}: ${this.hooksFor(uploadId).map((h) => h.type)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The media's source and rendition URLs as VOD lists them (DescribeMediaInfos), unsigned. */
  async vodUrls(fileId: string): Promise<string[]> {
    const info = await this.vodApi().DescribeMediaInfos({ FileIds: [fileId], Filters: ['basicInfo', 'transcodeInfo'] });
    const media = info.MediaInfoSet?.[0];
    return [media?.BasicInfo?.MediaUrl, ...(media?.TranscodeInfo?.TranscodeSet ?? []).map((t) => t.Url)].filter(
      (url): url is string => typeof url === 'string' && url !== '',
    );
  }

  async notInVod(fileId: string): Promise<boolean> {
    const info = await this.vodApi().DescribeMediaInfos({ FileIds: [fileId] });
    return (info.NotExistFileIdSet ?? []).includes(fileId);
  }
}

/** Every URL a view hands out: the original, renditions, HLS, cover, snapshots, sprite, GIFs. */
export function urlsOf(view: UploadView): string[] {
  return [
    view.media?.url,
    ...(view.renditions ?? []).map((r) => r.url),
    ...(view.adaptiveStreams ?? []).map((s) => s.url),
    view.cover?.url,
    ...(view.snapshots ?? []).map((s) => s.url),
    ...(view.sampleSnapshots ?? []).flatMap((s) => s.imageUrls),
    ...(view.sprite?.imageUrls ?? []),
    view.sprite?.webVttUrl,
    ...(view.animatedGraphics ?? []).map((g) => g.url),
  ].filter((url): url is string => typeof url === 'string');
}

/** No URL and no playback credential: what a view of an upload not (yet) allowed carries. */
export function expectNothingToPlay(view: UploadView): void {
  expect({ status: view.status, urls: urlsOf(view), playback: view.playback }).toEqual({
    status: view.status,
    urls: [],
    playback: undefined,
  });
}

export async function httpStatuses(urls: string[]): Promise<number[]> {
  return Promise.all(urls.map(async (url) => (await fetch(url)).status));
}

/**
 * Expects every URL to answer 403 within `timeoutMs`: the media is forbidden after the commit that blocked
 * the upload, so a read can see BLOCKED a moment before the CDN refuses.
 */
export async function expectForbidden(urls: string[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let statuses = await httpStatuses(urls);
  while (statuses.some((s) => s !== 403) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    statuses = await httpStatuses(urls);
  }
  expect(statuses).toEqual(urls.map(() => 403));
}
