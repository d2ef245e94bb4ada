/**
 * `vod-upload doctor` and the content review, against the VOD emulator and a real database (events never
 * pulled: every callback is lost): a review never started, a verdict that never arrived, a held upload,
 * a BLOCKED one whose media VOD was not told to forbid; each diagnosed, and `--fix` repairs it.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '#lib/config';
import { createLogger } from '#lib/log';
import { diagnose, gatherFacts, repairUpload } from '#lib/upload-doctor';
import { getUpload, insertIssuedUpload, type UploadPatch, updateUpload } from '#lib/upload-store';
import { createVodClient, vodApi } from '#lib/vod-api';
import { report } from '../../scripts/doctor';
import { emulatorEnv, startTestEmulator, uploadViaApi, vodClient, type TestEmulator } from '../emulator/helpers';
import { openTestDatabase, type TestDatabase } from '../support/db';

let t: TestEmulator;
let testDb: TestDatabase;
let config: Config;
const log = createLogger({}, 'error');

beforeAll(async () => {
  [t, testDb] = await Promise.all([startTestEmulator({ eventConfig: { Mode: 'PULL' } }), openTestDatabase()]);
  config = loadConfig(
    emulatorEnv(t, {
      VOD_EVENT_MODE: 'PULL',
      REVIEW_MODE: 'gate',
    }),
  );
}, 60_000);
afterAll(async () => {
  await t.close();
  await testDb.close();
});

async function upload(patch: UploadPatch) {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 3600_000) });
  const fileId = await uploadViaApi(t, vodClient(t.emulator), 'not-this-backend');
  await updateUpload(testDb.db, uploadId, { fileId, ...patch });
  return { uploadId, fileId };
}

const vod = () => createVodClient(config, { timeoutSeconds: 15 });
const facts = (uploadId: string) => gatherFacts({ config, db: testDb.db, vodApi: vodApi(vod()) }, uploadId);
const deps = () => ({ config, db: testDb.db, vod: vod(), log, deadline: Date.now() + 60_000 });

test('a review never started, then its verdict lost: each diagnosed, --fix starts it and applies the verdict', async () => {
  const { uploadId, fileId } = await upload({
    status: 'PROCESSING',
    processedAt: new Date(),
    taskId: 'processing-task',
    review: { state: 'pending' },
  });
  let now = await facts(uploadId);
  expect(diagnose(now)).toBe(
    `The content review of file ${fileId} was never started: the next cleanup run starts it (--fix starts it now).`,
  );
  expect(report(now).join('\n')).toMatch(/review: pending, task -/);
  const fixed = await repairUpload(deps(), now);
  const taskId = (await getUpload(testDb.db, uploadId))!.review!.taskId!;
  expect(fixed).toBe(`review started: task ${taskId}`);
  for (let i = 0; i < 500 && (await vodClient(t.emulator).DescribeTaskDetail({ TaskId: taskId })).Status !== 'FINISH'; i++)
    await new Promise((resolve) => setTimeout(resolve, 20));
  now = await facts(uploadId);
  expect(diagnose(now)).toMatch(
    new RegExp(`^VOD finished review task ${taskId} at .* but no ReviewAudioVideoComplete reached the backend`),
  );
  expect(report(now).join('\n')).toContain(`  review task ${taskId}: FINISH`);
  expect(await repairUpload(deps(), now)).toMatch(new RegExp(`^applied review task ${taskId}: `));
}, 60_000);

test('a held upload names the decision to take; a task VOD forgot is diagnosed', async () => {
  const held = await upload({
    status: 'IN_REVIEW',
    review: { state: 'held', suggestion: 'review', label: 'Ad', taskId: 'some-task' },
  });
  expect(diagnose(await facts(held.uploadId))).toBe(
    `The content review holds the upload for a person (VOD suggests review: Ad): POST /uploads/${held.uploadId}/review decides.`,
  );
  const forgotten = await upload({ status: 'PROCESSING', review: { state: 'pending', taskId: 'forgotten-task' } });
  expect(diagnose(await facts(forgotten.uploadId))).toBe(
    'VOD no longer knows review task forgotten-task: the next cleanup run holds the upload for a person (TaskNotFound).',
  );
}, 60_000);

test('BLOCKED, its media not forbidden: diagnosed, --fix forbids it', async () => {
  const { uploadId, fileId } = await upload({ status: 'BLOCKED', review: { state: 'blocked', decidedBy: 'reviewer-1' } });
  let now = await facts(uploadId);
  expect(diagnose(now)).toBe(
    'BLOCKED, but VOD was not told to forbid its media yet: the next cleanup run does (--fix does it now).',
  );
  expect(report(now).join('\n')).toContain('media distribution NOT yet forbidden');
  expect(await repairUpload(deps(), now)).toBe('media distribution forbidden');
  const info = await vodClient(t.emulator).DescribeMediaInfos({ FileIds: [fileId] });
  expect(info.MediaInfoSet![0]!.BasicInfo!.Status).toBe('Forbidden');
  now = await facts(uploadId);
  expect(diagnose(now)).toBe('Nothing is missing: the upload is BLOCKED and VOD agrees.');
}, 60_000);
