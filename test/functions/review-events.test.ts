/**
 * The content review in the event path (issue #17) against the VOD emulator (the official SDK, real ffmpeg,
 * PULL mode so the test chooses the order events are applied in) and a real database: the gate opens only
 * after processing and review both finished, a held upload waits IN_REVIEW, a block takes the upload down,
 * and no URL is handed out before the review allowed it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { UploadView } from '#contract';
import { loadConfig, type Config } from '#lib/config';
import { handleVodEvent, type VodEventDeps } from '#lib/handle-vod-event';
import { createLogger } from '#lib/log';
import { startProcessing } from '#lib/start-processing';
import { startReview } from '#lib/start-review';
import { encodeUploadContext } from '#lib/upload-context';
import { uploadStatus, uploadViewSchema } from '#lib/upload-status';
import { getUpload, insertIssuedUpload } from '#lib/upload-store';
import { createVodClient, type VodCalls } from '#lib/vod-api';
import { parsePullEventsResponse, type VodEvent } from '#lib/vod-event';
import { uploadWebhooks, webhookBody } from '#lib/webhooks';
import { setReviewRules } from '../../local/emulator/review/tasks.ts';
import {
  drainPulledEvents,
  emulatorEnv,
  CLIP,
  startTestEmulator,
  tempDir,
  uploadViaApi,
  vodClient,
  type TestEmulator,
} from '../emulator/helpers';
import { openTestDatabase, truncateAll, type TestDatabase } from '../support/db';

let t: TestEmulator;
let testDb: TestDatabase;
const log = createLogger({}, 'error');
const work = tempDir('review-events-');

function configFor(mode: 'off' | 'gate' | 'async'): Config {
  return loadConfig(
    emulatorEnv(t, {
      VOD_EVENT_MODE: 'PULL',
      REVIEW_MODE: mode,
      // A light pipeline: one rendition and the cover, so real ffmpeg finishes fast.
      PIPELINE_TRANSCODE_DEFINITIONS: '100010',
      PIPELINE_SPRITE_DEFINITION: '0',
      PIPELINE_ADAPTIVE_DEFINITION: '0',
      PIPELINE_SNAPSHOT_DEFINITION: '0',
    }),
  );
}

/** The official client, counting every call. */
function countingVod(config: Config, counts: Record<string, number>): VodCalls {
  const client = createVodClient(config, { timeoutSeconds: 15 });
  return new Proxy(client, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        counts[String(name)] = (counts[String(name)] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  }) as VodCalls;
}

interface Run {
  config: Config;
  counts: Record<string, number>;
  deps: VodEventDeps;
  apply(event: VodEvent): ReturnType<typeof handleVodEvent>;
}

function run(mode: 'off' | 'gate' | 'async'): Run {
  const config = configFor(mode);
  const counts: Record<string, number> = {};
  const deps: VodEventDeps = { config, db: testDb.db, vod: countingVod(config, counts), log, deadline: Date.now() + 60_000 };
  return { config, counts, deps, apply: (event) => handleVodEvent(deps, event, { confirmWithVod: true, via: 'pull' }) };
}

/** Pulls (and confirms) until `until` holds for what came, or 60 s pass. */
async function pullUntil(until: (events: VodEvent[]) => boolean): Promise<VodEvent[]> {
  const client = vodClient(t.emulator);
  const events: VodEvent[] = [];
  const end = Date.now() + 60_000;
  while (!until(events)) {
    if (Date.now() > end) throw new Error(`events did not come: ${events.map((e) => e.kind).join(', ')}`);
    const answer = await client.PullEvents({});
    const handles = (answer.EventSet ?? []).map((e) => e.EventHandle!);
    for (const entry of parsePullEventsResponse(answer).events) if (entry.ok) events.push(entry.event);
    if (handles.length > 0) await client.ConfirmEvents({ EventHandles: handles });
  }
  return events;
}

const of = <K extends VodEvent['kind']>(events: VodEvent[], kind: K) =>
  events.filter((e): e is Extract<VodEvent, { kind: K }> => e.kind === kind);
const finished = (events: VodEvent[]) => of(events, 'ProcedureStateChanged').some((e) => e.status !== 'PROCESSING');
const reviewed = (events: VodEvent[]) => of(events, 'ReviewAudioVideoComplete').length > 0;

/** A copy of the fixture clip under a name the emulator's review rules judge by. */
function clipNamed(name: string): string {
  const file = path.join(work, `${name}.mp4`);
  if (!fs.existsSync(file)) fs.copyFileSync(CLIP, file);
  return file;
}

/** An ISSUED upload and its file in VOD; resolves once NewFileUpload was applied. */
async function uploaded(r: Run, name: string): Promise<{ uploadId: string; fileId: string }> {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 3600_000) });
  const fileId = await uploadViaApi(
    t,
    vodClient(t.emulator),
    encodeUploadContext({ uploadId, userId: 'alice' }),
    clipNamed(name),
  );
  const [event] = of(await pullUntil((e) => of(e, 'NewFileUpload').length > 0), 'NewFileUpload');
  expect(event!.fileId).toBe(fileId);
  expect((await r.apply(event!)).outcome).toBe('UPLOADED');
  return { uploadId, fileId };
}

/** Every URL a view hands out. */
function urlsOf(view: unknown): string[] {
  return JSON.stringify(view).match(/https?:\/\/[^"]+/g) ?? [];
}

const ownerView = async (r: Run, uploadId: string) =>
  (await uploadStatus({ config: r.config, db: testDb.db }, { userId: 'alice' }, uploadId)) as UploadView;
const reviewerView = async (r: Run, uploadId: string) =>
  (await uploadStatus({ config: r.config, db: testDb.db }, { userId: 'ops', admin: true }, uploadId)) as UploadView;
const webhookTypes = async (uploadId: string) => (await uploadWebhooks(testDb.db, uploadId)).map((w) => w.eventType);

beforeAll(async () => {
  [t, testDb] = await Promise.all([
    startTestEmulator({ eventConfig: { Mode: 'PULL', UploadMediaCompleteEventSwitch: 'ON' } }),
    openTestDatabase(),
  ]);
  setReviewRules(t.emulator.context, {
    rules: [
      { name: '^held', suggestion: 'review', label: 'Terror', form: 'Image' },
      { name: '^blocked', suggestion: 'block', label: 'Porn', form: 'Image' },
    ],
  });
}, 60_000);
afterAll(async () => {
  await t.close();
  await testDb.close();
  fs.rmSync(work, { recursive: true, force: true });
});
beforeEach(async () => {
  await truncateAll(testDb.db);
  await t.emulator.processing.idle();
  // Nothing of an earlier test is left to pull.
  await drainPulledEvents(t.emulator);
}, 120_000);

test('gate, review first: a passed review waits for processing; READY (and upload.ready) only after both', async () => {
  const r = run('gate');
  const { uploadId, fileId } = await uploaded(r, 'passing-first');
  expect(r.counts).toMatchObject({ ProcessMedia: 1, ReviewAudioVideo: 1 });
  const pending = await getUpload(testDb.db, uploadId);
  expect(pending).toMatchObject({ status: 'PROCESSING', review: { state: 'pending', taskId: expect.any(String) } });

  const events = await pullUntil((e) => finished(e) && reviewed(e));
  expect((await r.apply(of(events, 'ReviewAudioVideoComplete')[0]!)).outcome).toBe('review:passed');
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({ status: 'PROCESSING', review: { state: 'passed' } });
  const waiting = await ownerView(r, uploadId);
  expect(waiting).toMatchObject({ status: 'PROCESSING', review: { state: 'passed' }, renditions: [], cover: null });
  expect(urlsOf(waiting)).toEqual([]);

  for (const event of of(events, 'ProcedureStateChanged')) await r.apply(event);
  const ready = await getUpload(testDb.db, uploadId);
  expect(ready).toMatchObject({ status: 'READY', fileId, processedAt: expect.any(Date) });
  const view = await ownerView(r, uploadId);
  expect(view.renditions!.length).toBeGreaterThan(0);
  expect(urlsOf(view).length).toBeGreaterThan(0);
  expect(await webhookTypes(uploadId)).toEqual(['upload.uploaded', 'upload.processing', 'upload.ready']);
}, 120_000);

test('gate, processing first: processed but PROCESSING (progress 100, no URL) until the verdict; then READY', async () => {
  const r = run('gate');
  const { uploadId } = await uploaded(r, 'passing-second');
  const events = await pullUntil((e) => finished(e) && reviewed(e));
  const outcomes = [];
  for (const event of of(events, 'ProcedureStateChanged')) outcomes.push((await r.apply(event)).outcome);
  expect(outcomes).toContain('awaiting-review');
  const processed = await getUpload(testDb.db, uploadId);
  expect(processed).toMatchObject({ status: 'PROCESSING', processedAt: expect.any(Date), review: { state: 'pending' } });
  const view = await ownerView(r, uploadId);
  expect(view).toMatchObject({ status: 'PROCESSING', progress: 100, renditions: [] });
  expect(urlsOf(view)).toEqual([]);
  expect(urlsOf(await reviewerView(r, uploadId)).length).toBeGreaterThan(0); // a person can watch it
  expect(await webhookTypes(uploadId)).not.toContain('upload.ready');

  expect((await r.apply(of(events, 'ReviewAudioVideoComplete')[0]!)).outcome).toBe('READY');
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({ status: 'READY', review: { state: 'passed' } });
  expect(urlsOf(await ownerView(r, uploadId)).length).toBeGreaterThan(0);
  const ready = (await uploadWebhooks(testDb.db, uploadId)).find((w) => w.eventType === 'upload.ready')!;
  expect(JSON.parse(webhookBody(ready, undefined)).data).toMatchObject({ status: 'READY', review: { state: 'passed' } });
  const history = (await ownerView(r, uploadId)).history!;
  expect(history.at(-1)).toEqual({ at: expect.any(String), status: 'READY', reason: 'The content review passed' });
}, 120_000);

test('gate, VOD says review: IN_REVIEW with no URL for the owner, the whole review for a reviewer; upload.in_review, never upload.ready', async () => {
  const r = run('gate');
  const { uploadId } = await uploaded(r, 'held-clip');
  const events = await pullUntil((e) => finished(e) && reviewed(e));
  for (const event of of(events, 'ProcedureStateChanged')) await r.apply(event);
  expect((await r.apply(of(events, 'ReviewAudioVideoComplete')[0]!)).outcome).toBe('IN_REVIEW');
  const owner = await ownerView(r, uploadId);
  expect(owner).toMatchObject({ status: 'IN_REVIEW', review: { state: 'held', label: 'Terror' }, renditions: [], cover: null });
  expect(Object.keys(owner.review!).sort()).toEqual(['label', 'state']);
  expect(urlsOf(owner)).toEqual([]);
  expect(owner.history!.at(-1)!.reason).toBe('Held for a person to review');
  const reviewer = await reviewerView(r, uploadId);
  // Both views are what the OpenAPI schema says (strict: no field it does not list).
  expect(uploadViewSchema.safeParse(owner).error).toBeUndefined();
  expect(uploadViewSchema.safeParse(reviewer).error).toBeUndefined();
  expect(reviewer.review).toMatchObject({
    state: 'held',
    suggestion: 'review',
    label: 'Terror',
    form: 'Image',
    taskId: expect.any(String),
  });
  expect(reviewer.renditions!.length).toBeGreaterThan(0);
  const types = await webhookTypes(uploadId);
  expect(types.at(-1)).toBe('upload.in_review');
  expect(types).not.toContain('upload.ready');
  const held = (await uploadWebhooks(testDb.db, uploadId)).at(-1)!;
  expect(urlsOf(JSON.parse(webhookBody(held, undefined)).data)).toEqual([]);
}, 120_000);

test('gate, VOD says block before processing ends: BLOCKED at once, media forbidden, the late processing changes nothing', async () => {
  const r = run('gate');
  const { uploadId } = await uploaded(r, 'blocked-clip');
  const events = await pullUntil((e) => finished(e) && reviewed(e));
  expect((await r.apply(of(events, 'ReviewAudioVideoComplete')[0]!)).outcome).toBe('BLOCKED');
  expect(r.counts.ForbidMediaDistribution).toBe(1);
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({
    status: 'BLOCKED',
    distributionForbidden: true,
    review: { state: 'blocked', label: 'Porn' },
  });
  for (const event of of(events, 'ProcedureStateChanged')) expect((await r.apply(event)).outcome).toBe('stale');
  const view = await ownerView(r, uploadId);
  expect(view).toMatchObject({ status: 'BLOCKED', review: { state: 'blocked', label: 'Porn' } });
  expect(urlsOf(view)).toEqual([]);
  expect(view.history!.at(-1)!.reason).toBe('Blocked by the content review');
  expect(urlsOf(await reviewerView(r, uploadId))).toEqual([]); // not even to a reviewer: its media is forbidden
  expect(await webhookTypes(uploadId)).toEqual(['upload.uploaded', 'upload.processing', 'upload.blocked']);
}, 120_000);

test('async: READY on processing alone, then a block takes it down (BLOCKED, media forbidden)', async () => {
  const r = run('async');
  const { uploadId } = await uploaded(r, 'blocked-later');
  const events = await pullUntil((e) => finished(e) && reviewed(e));
  for (const event of of(events, 'ProcedureStateChanged')) await r.apply(event);
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({ status: 'READY', review: { state: 'pending' } });
  expect(urlsOf(await ownerView(r, uploadId)).length).toBeGreaterThan(0);
  expect((await r.apply(of(events, 'ReviewAudioVideoComplete')[0]!)).outcome).toBe('BLOCKED');
  expect(r.counts.ForbidMediaDistribution).toBe(1);
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({ status: 'BLOCKED', distributionForbidden: true });
  expect(urlsOf(await ownerView(r, uploadId))).toEqual([]);
  expect(await webhookTypes(uploadId)).toEqual(['upload.uploaded', 'upload.processing', 'upload.ready', 'upload.blocked']);
}, 120_000);

test('a duplicated review event is applied once; a verdict of another review task changes nothing', async () => {
  const r = run('gate');
  const { uploadId } = await uploaded(r, 'held-twice');
  const events = await pullUntil((e) => reviewed(e));
  const review = of(events, 'ReviewAudioVideoComplete')[0]!;
  const [first, second] = await Promise.all([r.apply(review), r.apply({ ...review, eventHandle: 'another-delivery' })]);
  expect([first.duplicate, second.duplicate].sort()).toEqual([false, true]);
  const { rows } = await testDb.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM vod_events WHERE event_type = 'ReviewAudioVideoComplete' AND upload_id = $1`,
    [uploadId],
  );
  expect(rows[0]!.n).toBe(1);
  // A made-up task: VOD does not confirm it (403, nothing applied); unconfirmed, the upload's recorded task decides.
  const other = { ...review, taskId: `${review.taskId}-other` };
  await expect(r.apply(other)).rejects.toMatchObject({ status: 403 });
  expect((await handleVodEvent(r.deps, other, { confirmWithVod: false })).outcome).toBe('other-review-task');
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({ review: { state: 'held', taskId: review.taskId } });
  await pullUntil(finished);
}, 120_000);

test('a block verdict before NewFileUpload: the upload goes to BLOCKED with its file, never processed, one review task', async () => {
  const r = run('gate');
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 3600_000) });
  const fileId = await uploadViaApi(
    t,
    vodClient(t.emulator),
    encodeUploadContext({ uploadId, userId: 'alice' }),
    clipNamed('blocked-early'),
  );
  // The reconciler (or a NewFileUpload handled elsewhere) started the review; its verdict comes first.
  expect(await startReview(r.deps, { uploadId, fileId })).toMatchObject({ started: true });
  const events = await pullUntil((e) => reviewed(e) && of(e, 'NewFileUpload').length > 0);
  expect((await r.apply(of(events, 'ReviewAudioVideoComplete')[0]!)).outcome).toBe('review:blocked');
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({ status: 'ISSUED', review: { state: 'blocked' } });
  expect((await r.apply(of(events, 'NewFileUpload')[0]!)).outcome).toBe('BLOCKED');
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({ status: 'BLOCKED', fileId, distributionForbidden: true });
  expect(r.counts).toMatchObject({ ReviewAudioVideo: 1, ForbidMediaDistribution: 1 });
  expect(r.counts.ProcessMedia).toBeUndefined();
  expect(await webhookTypes(uploadId)).toEqual(['upload.uploaded', 'upload.blocked']);
}, 120_000);

test('REVIEW_MODE off: no ReviewAudioVideo call, no review, READY on processing as before', async () => {
  const r = run('off');
  const { uploadId } = await uploaded(r, 'blocked-but-off');
  const events = await pullUntil(finished);
  for (const event of of(events, 'ProcedureStateChanged')) await r.apply(event);
  expect(r.counts.ReviewAudioVideo).toBeUndefined();
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({ status: 'READY', review: null });
  const view = await ownerView(r, uploadId);
  expect(view.review).toBeUndefined();
  expect(urlsOf(view).length).toBeGreaterThan(0);
}, 120_000);

test('gate, NewFileUpload lost: the first processing event begins the review, and the gate still waits for it', async () => {
  const r = run('gate');
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 3600_000) });
  const fileId = await uploadViaApi(
    t,
    vodClient(t.emulator),
    encodeUploadContext({ uploadId, userId: 'alice' }),
    clipNamed('passing-lost'),
  );
  // Processing started (as by a procedure) while this backend never saw the NewFileUpload.
  await startProcessing(r.deps, { uploadId, fileId });
  const processed = of(await pullUntil(finished), 'ProcedureStateChanged');
  expect(r.counts.ReviewAudioVideo).toBeUndefined();
  const outcomes = [];
  for (const event of processed) outcomes.push((await r.apply(event)).outcome);
  expect(outcomes).toContain('awaiting-review');
  expect(r.counts.ReviewAudioVideo).toBe(1);
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({
    status: 'PROCESSING',
    review: { state: 'pending', taskId: expect.any(String) },
  });
  const review = of(await pullUntil(reviewed), 'ReviewAudioVideoComplete')[0]!;
  expect((await r.apply(review)).outcome).toBe('READY');
}, 120_000);

test("a forged verdict is applied as VOD's own task reports it (DescribeTaskDetail), never as pushed", async () => {
  const r = run('gate');
  const { uploadId } = await uploaded(r, 'blocked-forged');
  const review = of(await pullUntil(reviewed), 'ReviewAudioVideoComplete')[0]!;
  expect(review.output?.suggestion).toBe('block');
  const forged = { ...review, output: { ...review.output!, suggestion: 'pass' as const, label: undefined } };
  expect((await r.apply(forged)).outcome).toBe('BLOCKED');
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({ status: 'BLOCKED', review: { state: 'blocked', label: 'Porn' } });
  await pullUntil(finished);
}, 120_000);
