/**
 * The cleanup run in PUSH mode (no event pump) against the VOD emulator and a real database: asking VOD
 * about overdue PROCESSING uploads, finding lost uploads (not starved by old ones, the search cursor moving
 * only past files durably handled), and a lease left by a run that died.
 */
import { encodeUploadContext } from '#lib/upload-context';
import { getUpload, updateUpload } from '#lib/upload-store';
import { uploadViaApi, vodClient } from '../emulator/helpers';
import {
  claimingWith,
  config,
  configWith,
  countingVod,
  issued,
  pushRun,
  t,
  testDb,
  useCleanupFixture,
} from '../support/cleanup-fixture';

useCleanupFixture();

test('a PROCESSING upload is asked about when overdue for its own media, then less and less often', async () => {
  const uploadId = await issued();
  await uploadViaApi(t, vodClient(t.emulator), encodeUploadContext({ uploadId }));
  t.emulator.setFaults({ processing: { delayMs: 3000 } }); // the task stays PROCESSING for this test
  try {
    // Finds the file (its NewFileUpload was never pushed) and starts processing; asks nothing yet.
    await pushRun(130_000, { config: configWith({ VOD_EVENT_MODE: 'PUSH', PROCESSING_CHECK_MIN_SECONDS: '3600' }) });
    expect((await getUpload(testDb.db, uploadId))!.status).toBe('PROCESSING');
    // A 100 s video: a job estimated at 100 s, first asked after twice that.
    await testDb.db.query(`UPDATE uploads SET media = '{"duration": 100}'::jsonb WHERE upload_id = $1`, [uploadId]);
    const asked = async (ahead: number) => {
      const counts: Record<string, number> = {};
      await pushRun(ahead, { vod: countingVod(config, counts) });
      return counts.DescribeTaskDetail ?? 0;
    };
    // The database's clock dates the status change; the run's clock is VOD's, maybe ahead of it.
    const skew = t.clock.now() - Date.now();
    expect(await asked(150_000 - skew)).toBe(0);
    expect(await asked(210_000 - skew)).toBe(1); // still running: the next wait is twice as long (400 s)
    expect(await asked(500_000 - skew)).toBe(0);
    expect(await asked(620_000 - skew)).toBe(1);
    expect((await getUpload(testDb.db, uploadId))!.status).toBe('PROCESSING');
  } finally {
    t.emulator.setFaults({});
  }
}, 60_000);

test('the lost-upload search is not starved by many old ISSUED uploads: a new lost upload is found by the next run', async () => {
  await testDb.db.query(
    `INSERT INTO uploads (upload_id, user_id, status, signature_expires_at, created_at)
     SELECT gen_random_uuid(), 'old', 'ISSUED', now() + interval '1 day', now() - interval '2 days' FROM generate_series(1, 6000)`,
  );
  await pushRun(0);
  const uploadId = await issued();
  const fileId = await uploadViaApi(t, vodClient(t.emulator), encodeUploadContext({ uploadId }));
  const summary = await pushRun(130_000);
  expect(summary.uploadsRecovered).toBeGreaterThanOrEqual(1);
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({
    fileId,
    status: expect.stringMatching(/^(UPLOADED|PROCESSING|READY)$/),
  });
}, 60_000);

test('the search cursor moves only past files durably handled: a run that loses the database leaves them to the next', async () => {
  const uploadId = await issued();
  const fileId = await uploadViaApi(t, vodClient(t.emulator), encodeUploadContext({ uploadId }));
  const failingDb = claimingWith(() => {
    throw Object.assign(new Error('The database is unavailable'), { status: 503 });
  });
  const lost = await pushRun(130_000, { db: failingDb });
  expect(lost.uploadsRecovered).toBe(0);
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('ISSUED');
  const { rows } = await testDb.db.query<{ file_ids: string[] }>('SELECT file_ids FROM search_cursors');
  expect(rows.flatMap((r) => r.file_ids)).not.toContain(fileId);

  expect((await pushRun(130_000)).uploadsRecovered).toBeGreaterThanOrEqual(1);
  expect((await getUpload(testDb.db, uploadId))!.fileId).toBe(fileId);
  const after = await testDb.db.query<{ file_ids: string[] }>('SELECT file_ids FROM search_cursors');
  expect(after.rows.flatMap((r) => r.file_ids)).toContain(fileId);
}, 60_000);

test('a lease left by a run that lost its database expires before the next run', async () => {
  const uploadId = await issued();
  const fileId = await uploadViaApi(t, vodClient(t.emulator), 'not-ours');
  await updateUpload(testDb.db, uploadId, { status: 'UPLOADED', fileId });
  // What a run that died after leasing leaves: a lease until its budget (50 s) plus a minute.
  await testDb.db.query(`UPDATE uploads SET lease_until = now() + interval '110 seconds' WHERE upload_id = $1`, [uploadId]);
  const skew = t.clock.now() - Date.now();
  expect((await pushRun(60_000 - skew)).processingRestarted).toBe(0);
  expect((await pushRun(300_000 - skew)).processingRestarted).toBe(1);
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('PROCESSING');
}, 60_000);
