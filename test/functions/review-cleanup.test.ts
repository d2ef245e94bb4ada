/**
 * The cleanup's part of the content review against the VOD emulator (the official SDK) and a real
 * database: a lost ReviewAudioVideo trigger is started once; a lost verdict is looked up with
 * DescribeTaskDetail and goes through the event path; a start repeated after an unrecorded one finds
 * the one task (VOD refuses the SessionId again); a task VOD forgot holds the upload for a person; VOD
 * unreachable pushes the next look out; BLOCKED media is forbidden again where that failed and deleted
 * after BLOCKED_RETENTION_DAYS; processing already finished is not asked about again.
 */
import { randomUUID } from 'node:crypto';
import { runCleanup, type CleanupDeps } from '#lib/cleanup';
import { loadConfig, type Config } from '#lib/config';
import { createLogger, setLogSink } from '#lib/log';
import { reviewSessionId } from '#lib/start-review';
import { getUpload, insertIssuedUpload, type UploadPatch, type UploadReview, updateUpload } from '#lib/upload-store';
import { emulatorEnv, startTestEmulator, uploadViaApi, vodClient, type TestEmulator } from '../emulator/helpers';
import { openTestDatabase, truncateAll, type TestDatabase } from '../support/db';
import { recordingVod } from '../support/vod-calls';

let t: TestEmulator;
let testDb: TestDatabase;
const log = createLogger({}, 'error');

function configWith(overrides: Record<string, string> = {}): Config {
  return loadConfig(
    emulatorEnv(t, {
      // Nobody pulls (the emulator queues its events for PULL): every verdict is lost unless the cleanup asks VOD.
      VOD_EVENT_MODE: 'PUSH',
      CLEANUP_PULL_EVENTS: 'false',
      REVIEW_MODE: 'gate',
      ...overrides,
    }),
  );
}

function deps(config: Config, overrides: Partial<CleanupDeps> = {}) {
  const recorded = recordingVod(config);
  const run: CleanupDeps = { config, db: testDb.db, vod: recorded.vod, log, deadline: Date.now() + 30_000, ...overrides };
  return { run, recorded };
}

beforeAll(async () => {
  [t, testDb] = await Promise.all([
    startTestEmulator({ eventConfig: { Mode: 'PULL', UploadMediaCompleteEventSwitch: 'ON' } }),
    openTestDatabase(),
  ]);
}, 60_000);
afterAll(async () => {
  await t.close();
  await testDb.close();
});
beforeEach(async () => {
  await truncateAll(testDb.db);
  t.emulator.setFaults({});
});

/** An upload whose file is really in the emulator, in `status`, with `review`; due for a review check. */
async function upload(
  status: 'UPLOADED' | 'PROCESSING' | 'READY' | 'BLOCKED' | 'FAILED' | 'DELETED',
  review: UploadReview | null,
  extra: UploadPatch = {},
) {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 3600_000) });
  // Not one of our sourceContexts: the lost-upload search leaves these files alone.
  const fileId = await uploadViaApi(t, vodClient(t.emulator), 'not-this-backend');
  await updateUpload(testDb.db, uploadId, {
    status,
    fileId,
    media: { type: 'mp4', duration: 2 },
    ...(review ? { review, reviewCheckAfter: new Date(Date.now() - 1000) } : {}),
    ...extra,
  });
  return { uploadId, fileId };
}

async function reviewTasksOf(fileId: string) {
  const { TaskSet } = await vodClient(t.emulator).DescribeTasks({ FileId: fileId, Limit: 100 });
  return (TaskSet ?? []).filter((task) => task.TaskType === 'ReviewAudioVideo');
}

async function finished(taskId: string) {
  for (let i = 0; i < 500; i++) {
    const detail = await vodClient(t.emulator).DescribeTaskDetail({ TaskId: taskId });
    if (detail.Status === 'FINISH') return detail;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`review task ${taskId} did not finish`);
}

async function reviewCheckAfter(uploadId: string): Promise<Date | null> {
  const { rows } = await testDb.db.query<{ at: Date | string | null }>(
    'SELECT review_check_after AS at FROM uploads WHERE upload_id = $1',
    [uploadId],
  );
  return rows[0]!.at === null ? null : new Date(rows[0]!.at);
}

test('a lost trigger: the cleanup starts the review once; the next run starts no other', async () => {
  const config = configWith();
  const { uploadId, fileId } = await upload('PROCESSING', { state: 'pending' });
  const first = deps(config);
  const summary = await runCleanup(first.run);
  expect(summary).toMatchObject({ reviewsStarted: 1, itemsFailed: 0, stepsFailed: 0 });
  expect(first.recorded.counts.ReviewAudioVideo).toBe(1);
  const stored = (await getUpload(testDb.db, uploadId))!;
  const tasks = await reviewTasksOf(fileId);
  expect(tasks).toHaveLength(1);
  expect(stored.review).toEqual({ state: 'pending', taskId: tasks[0]!.TaskId });
  expect(tasks[0]!.SessionId).toBe(reviewSessionId(fileId, undefined));
  // Not due again until UPLOADED_RETRY_AFTER_SECONDS: a run now leaves it alone.
  expect((await reviewCheckAfter(uploadId))!.getTime()).toBeGreaterThan(Date.now());
  const again = deps(config);
  expect(await runCleanup(again.run)).toMatchObject({ reviewsStarted: 0, reviewsResolved: 0 });
  expect(again.recorded.counts.ReviewAudioVideo ?? 0).toBe(0);
  expect(await reviewTasksOf(fileId)).toHaveLength(1);
}, 60_000);

test('a pending review of an upload that will never be published (FAILED, DELETED): not started, no longer due', async () => {
  const config = configWith();
  const failed = await upload('FAILED', { state: 'pending' });
  const deleted = await upload('DELETED', { state: 'pending', taskId: 'some-task' });
  const { run, recorded } = deps(config);
  expect(await runCleanup(run)).toMatchObject({ reviewsStarted: 0, reviewsResolved: 0, itemsFailed: 0 });
  expect(recorded.counts.ReviewAudioVideo ?? 0).toBe(0);
  expect(recorded.counts.DescribeTaskDetail ?? 0).toBe(0);
  expect(await reviewCheckAfter(failed.uploadId)).toBeNull();
  expect(await reviewCheckAfter(deleted.uploadId)).toBeNull();
  expect((await getUpload(testDb.db, failed.uploadId))!.review).toEqual({ state: 'pending' });
}, 60_000);

test('a start whose answer was lost: VOD refuses the SessionId again, the cleanup records the one task', async () => {
  const config = configWith();
  const { uploadId, fileId } = await upload('UPLOADED', { state: 'pending' }, { taskId: 'processing-task' });
  // An earlier ReviewAudioVideo got through, but its task id never reached the database.
  const earlier = await vodClient(t.emulator).ReviewAudioVideo({ FileId: fileId, SessionId: reviewSessionId(fileId, undefined) });
  const { run, recorded } = deps(config, { config: configWith({ UPLOADED_RETRY_AFTER_SECONDS: '86400' }) });
  const summary = await runCleanup(run);
  expect(summary.reviewsStarted).toBe(1);
  expect(recorded.counts.ReviewAudioVideo).toBe(1);
  expect((await getUpload(testDb.db, uploadId))!.review).toEqual({ state: 'pending', taskId: earlier.TaskId });
  expect((await reviewTasksOf(fileId)).map((task) => task.TaskId)).toEqual([earlier.TaskId]);
}, 60_000);

test('a lost verdict: the cleanup asks DescribeTaskDetail and hands the verdict to the event path', async () => {
  const config = configWith();
  const { uploadId, fileId } = await upload('PROCESSING', { state: 'pending' }, { processedAt: new Date() });
  const started = await vodClient(t.emulator).ReviewAudioVideo({ FileId: fileId, SessionId: reviewSessionId(fileId, undefined) });
  await finished(started.TaskId!);
  await updateUpload(testDb.db, uploadId, {
    review: { state: 'pending', taskId: started.TaskId! },
    reviewCheckAfter: new Date(Date.now() - 1000),
  });
  const lines: Array<Record<string, unknown>> = [];
  const previous = setLogSink((line) => lines.push(JSON.parse(line)));
  let summary: Awaited<ReturnType<typeof runCleanup>>;
  try {
    summary = await runCleanup(deps(config, { log: createLogger({}, 'info') }).run);
  } finally {
    setLogSink(previous);
  }
  const found = lines.find((line) => line.msg === 'review verdict found by asking VOD');
  expect(found).toMatchObject({ uploadId, taskId: started.TaskId });
  // The event path recorded the rebuilt event once, under the review task.
  const { rows } = await testDb.db.query<{ event_type: string; task_id: string }>(
    `SELECT event_type, task_id FROM vod_events WHERE event_type = 'ReviewAudioVideoComplete'`,
  );
  expect(rows).toEqual([{ event_type: 'ReviewAudioVideoComplete', task_id: started.TaskId }]);
  const stored = (await getUpload(testDb.db, uploadId))!;
  // The emulator's default verdict is pass: the gate opens.
  expect(found!.outcome).not.toBe('ignored');
  expect(summary!.reviewsResolved).toBe(1);
  expect(stored).toMatchObject({ status: 'READY', review: { state: 'passed', suggestion: 'pass', taskId: started.TaskId } });
  expect(await reviewCheckAfter(uploadId)).toBeNull();
}, 60_000);

test('a review task VOD no longer knows: held for a person (TaskNotFound), IN_REVIEW once processed (gate)', async () => {
  const config = configWith();
  const waiting = await upload('PROCESSING', { state: 'pending', taskId: 'forgotten-task-1' }, { processedAt: new Date() });
  const early = await upload('PROCESSING', { state: 'pending', taskId: 'forgotten-task-2' });
  const summary = await runCleanup(deps(config).run);
  expect(summary.reviewsResolved).toBe(2);
  expect(await getUpload(testDb.db, waiting.uploadId)).toMatchObject({
    status: 'IN_REVIEW',
    review: { state: 'held', taskId: 'forgotten-task-1', failure: 'TaskNotFound' },
  });
  // Processing not finished: its success will find the review held.
  expect(await getUpload(testDb.db, early.uploadId)).toMatchObject({
    status: 'PROCESSING',
    review: { state: 'held', failure: 'TaskNotFound' },
  });
  expect(await reviewCheckAfter(waiting.uploadId)).toBeNull();
  expect(await reviewTasksOf(waiting.fileId)).toHaveLength(0);
}, 60_000);

test('VOD refuses the review (the file is gone from VOD): held for a person at once, IN_REVIEW once processed', async () => {
  const config = configWith();
  const gone = await upload('PROCESSING', { state: 'pending' }, { processedAt: new Date() });
  await vodClient(t.emulator).DeleteMedia({ FileId: gone.fileId });
  const first = deps(config);
  const summary = await runCleanup(first.run);
  expect(summary).toMatchObject({ reviewsStarted: 0, reviewsResolved: 1, itemsFailed: 0, stepsFailed: 0 });
  expect(first.recorded.counts.ReviewAudioVideo).toBe(1);
  const held = (await getUpload(testDb.db, gone.uploadId))!;
  expect(held).toMatchObject({ status: 'IN_REVIEW', review: { state: 'held' } });
  expect(held.review!.failure).toMatch(/^VOD refused ReviewAudioVideo: ResourceNotFound/);
  // Retrying cannot help: no further attempt.
  expect(await reviewCheckAfter(gone.uploadId)).toBeNull();
  const again = deps(config);
  await runCleanup(again.run);
  expect(again.recorded.counts.ReviewAudioVideo ?? 0).toBe(0);
}, 60_000);

test('VOD unreachable: the review stays pending and is looked at again later, each wait longer', async () => {
  const config = configWith({ UPLOADED_RETRY_AFTER_SECONDS: '60', PROCESSING_DEADLINE_SECONDS: '3600' });
  const { uploadId } = await upload('PROCESSING', { state: 'pending', taskId: 'some-task' });
  await testDb.db.query(`UPDATE uploads SET created_at = now() - interval '10 minutes' WHERE upload_id = $1`, [uploadId]);
  t.emulator.setFaults({ api: { internalErrorRate: 1, actions: ['DescribeTaskDetail'] } });
  const now = Date.now();
  const summary = await runCleanup(deps(config, { clock: () => now }).run);
  expect(summary).toMatchObject({ reviewsResolved: 0, itemsFailed: 0 });
  expect((await getUpload(testDb.db, uploadId))!.review).toEqual({ state: 'pending', taskId: 'some-task' });
  // Ten minutes old: the next look in ten minutes (its age), then in twenty, never more than an hour.
  const next = (await reviewCheckAfter(uploadId))!.getTime();
  expect(next - now).toBeGreaterThan(590_000);
  expect(next - now).toBeLessThan(660_000);
  await runCleanup(deps(config, { clock: () => next + 1000 }).run);
  const later = (await reviewCheckAfter(uploadId))!.getTime();
  expect(later - next).toBeGreaterThan(1_150_000);
  expect(later - next).toBeLessThan(1_300_000);
}, 90_000);

test('BLOCKED, its media not yet forbidden (the forbid after the block failed): the cleanup forbids it, once', async () => {
  const config = configWith();
  const { uploadId, fileId } = await upload('BLOCKED', { state: 'blocked' });
  // VOD fails ForbidMediaDistribution in this run: the upload stays not forbidden, for the next one.
  t.emulator.setFaults({ api: { internalErrorRate: 1, actions: ['ForbidMediaDistribution'] } });
  const failing = deps(config);
  expect((await runCleanup(failing.run)).blockedForbidden).toBe(0);
  expect(failing.recorded.counts.ForbidMediaDistribution).toBeGreaterThanOrEqual(1);
  expect((await getUpload(testDb.db, uploadId))!.distributionForbidden).toBe(false);
  t.emulator.setFaults({});
  const first = deps(config);
  expect((await runCleanup(first.run)).blockedForbidden).toBe(1);
  expect(first.recorded.forbidden).toEqual([expect.objectContaining({ FileIds: [fileId], Operation: 'forbid' })]);
  expect((await getUpload(testDb.db, uploadId))!).toMatchObject({ status: 'BLOCKED', distributionForbidden: true });
  const info = await vodClient(t.emulator).DescribeMediaInfos({ FileIds: [fileId] });
  expect(info.MediaInfoSet![0]!.BasicInfo!.Status).toBe('Forbidden');
  const second = deps(config);
  expect((await runCleanup(second.run)).blockedForbidden).toBe(0);
  expect(second.recorded.forbidden).toHaveLength(0);
}, 60_000);

test('BLOCKED media is kept for BLOCKED_RETENTION_DAYS, then deleted in VOD (the upload DELETED)', async () => {
  const { uploadId, fileId } = await upload('BLOCKED', { state: 'blocked' }, { distributionForbidden: true });
  const vodHas = async () => {
    const info = await vodClient(t.emulator).DescribeMediaInfos({ FileIds: [fileId] });
    return !(info.NotExistFileIdSet ?? []).includes(fileId);
  };
  await runCleanup(deps(configWith()).run);
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('BLOCKED');
  expect(await vodHas()).toBe(true);
  const summary = await runCleanup(deps(configWith({ BLOCKED_RETENTION_DAYS: '0' })).run);
  expect(summary.mediaDeleted).toBe(1);
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('DELETED');
  expect(await vodHas()).toBe(false);
  const { rows } = await testDb.db.query<{ cause: Record<string, unknown> }>(
    `SELECT cause FROM upload_timeline WHERE upload_id = $1 AND to_status = 'DELETED'`,
    [uploadId],
  );
  expect(rows).toEqual([
    { cause: expect.objectContaining({ source: 'cleanup', detail: 'blocked media deleted after BLOCKED_RETENTION_DAYS' }) },
  ]);
}, 60_000);

test('processing already finished (waiting for its review) is not asked about again; unfinished processing is', async () => {
  const config = configWith({ REVIEW_MODE: 'off' });
  const processed = await upload('PROCESSING', null, { taskId: 'done-task', processedAt: new Date() });
  const overdue = await upload('PROCESSING', null, { taskId: 'running-task' });
  await testDb.db.query(`UPDATE uploads SET check_after = now() - interval '1 minute'`);
  const { run, recorded } = deps(config);
  await runCleanup(run);
  // Only the unfinished one: DescribeTaskDetail of its (unknown) task fails it as TaskNotFound.
  expect(recorded.counts.DescribeTaskDetail).toBe(1);
  expect((await getUpload(testDb.db, overdue.uploadId))!.status).toBe('FAILED');
  expect((await getUpload(testDb.db, processed.uploadId))!.status).toBe('PROCESSING');
}, 60_000);
