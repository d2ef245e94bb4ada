/**
 * `vod-upload doctor` against the VOD emulator (PULL mode, events never pulled: every callback is lost)
 * and a real database: each kind of loss gets its sentence, and `--fix` repairs that upload alone.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '#lib/config';
import { createLogger } from '#lib/log';
import { encodeUploadContext } from '#lib/upload-context';
import { diagnose, gatherFacts, repairUpload } from '#lib/upload-doctor';
import { getUpload, insertIssuedUpload } from '#lib/upload-store';
import { createVodClient, vodApi } from '#lib/vod-api';
import { report } from '../../scripts/doctor';
import { emulatorEnv, startTestEmulator, uploadViaApi, vodClient, type TestEmulator } from '../emulator/helpers';
import { openTestDatabase, type TestDatabase } from '../support/db';

let t: TestEmulator;
let testDb: TestDatabase;
let config: Config;
const log = createLogger({}, 'error');

beforeAll(async () => {
  [t, testDb] = await Promise.all([
    startTestEmulator({
      eventConfig: { Mode: 'PULL', UploadMediaCompleteEventSwitch: 'ON', DeleteMediaCompleteEventSwitch: 'ON' },
    }),
    openTestDatabase(),
  ]);
  config = loadConfig(
    emulatorEnv(t, {
      VOD_EVENT_MODE: 'PULL',
      PIPELINE_ADAPTIVE_DEFINITION: '0',
      PIPELINE_SPRITE_DEFINITION: '0',
    }),
  );
}, 60_000);
afterAll(async () => {
  await t.close();
  await testDb.close();
});

test('lost NewFileUpload, lost ProcedureStateChanged, lost FileDeleted: each diagnosed, the first two fixed', async () => {
  const vod = createVodClient(config, { timeoutSeconds: 15 });
  const api = vodApi(vod);
  const facts = () => gatherFacts({ config, db: testDb.db, vodApi: api }, uploadId);
  const deps = { config, db: testDb.db, vod, log, deadline: Date.now() + 60_000 };
  const uploadId = randomUUID();
  expect(diagnose(await facts())).toBe(`No upload ${uploadId} in the database.`);
  await insertIssuedUpload(testDb.db, { uploadId, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 3600_000) });
  expect(diagnose(await facts())).toMatch(/^No file has been reported/);

  const fileId = await uploadViaApi(t, vodClient(t.emulator), encodeUploadContext({ uploadId, userId: 'alice' }));
  let now = await facts();
  expect(diagnose(now)).toMatch(new RegExp(`^VOD has file ${fileId} for this upload .* no NewFileUpload reached the backend`));
  expect(await repairUpload(deps, now)).toBe(`recovered file ${fileId}: UPLOADED`);
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('PROCESSING');

  // The task's ProcedureStateChanged stays in VOD's queue: the doctor sees VOD finished it.
  await t.emulator.processing.idle();
  now = await facts();
  const taskId = (await getUpload(testDb.db, uploadId))!.taskId!;
  expect(diagnose(now)).toMatch(
    new RegExp(`^VOD finished task ${taskId} at .* but no ProcedureStateChanged reached the backend`),
  );
  expect(await repairUpload(deps, now)).toBe(`applied task ${taskId}: READY`);
  now = await facts();
  expect(diagnose(now)).toBe('Nothing is missing: the upload is READY and VOD agrees.');
  const printed = report(now).join('\n');
  expect(printed).toMatch(/ISSUED -> UPLOADED {2}\(vod-event NewFileUpload reconcile\)/);
  expect(printed).toMatch(/PROCESSING -> READY {2}\(vod-event ProcedureStateChanged reconcile/);
  expect(printed).toMatch(/upload\.ready pending, 0 attempt/);

  await vodClient(t.emulator).DeleteMedia({ FileId: fileId });
  now = await facts();
  expect(diagnose(now)).toBe(`VOD no longer has file ${fileId} but the upload is READY: a FileDeleted event was lost.`);
}, 120_000);
