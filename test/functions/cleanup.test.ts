/**
 * The cleanup run against the VOD emulator (PULL mode, the official SDK) and a real database: the event
 * pump, expiry of ISSUED uploads, orphan deletion, two runs at once, the purge, and a failing step.
 * Recovery in PUSH mode is in cleanup-recovery.test.ts, poison rows in cleanup-poison.test.ts.
 */
import { runCleanup } from '#lib/cleanup';
import { encodeUploadContext } from '#lib/upload-context';
import { getUpload } from '#lib/upload-store';
import { uploadViaApi, vodClient } from '../emulator/helpers';
import {
  claimingWith,
  config,
  configWith,
  countingVod,
  deps,
  issued,
  rejectedWithMedia,
  t,
  testDb,
  useCleanupFixture,
} from '../support/cleanup-fixture';

useCleanupFixture();

test('the event pump applies pulled events through the webhook path and confirms them', async () => {
  const client = vodClient(t.emulator);
  const uploads = await Promise.all([issued(), issued(), issued()]);
  const fileIds = [];
  for (const uploadId of uploads) fileIds.push(await uploadViaApi(t, client, encodeUploadContext({ uploadId, userId: 'alice' })));

  const summary = await runCleanup(deps());
  // The pump runs until the queue is empty: events of the processing it started may come in the same run.
  expect(summary.eventsFailed).toBe(0);
  expect(summary.eventsPulled).toBeGreaterThanOrEqual(3);
  expect(summary.eventsConfirmed).toBe(summary.eventsPulled);
  expect(summary.eventsApplied).toBe(summary.eventsPulled);
  // NewFileUpload made each upload UPLOADED and started processing in the emulator.
  for (const [i, uploadId] of uploads.entries()) {
    const upload = await getUpload(testDb.db, uploadId);
    expect(upload).toMatchObject({ fileId: fileIds[i], taskId: expect.any(String) });
    expect(['PROCESSING', 'READY']).toContain(upload!.status);
  }
  const { rows } = await testDb.db.query(`SELECT 1 FROM vod_events WHERE event_type = 'NewFileUpload'`);
  expect(rows).toHaveLength(3);
}, 60_000);

test('a slow pull is confirmed as it goes: no handle waits past 30 s unconfirmed', async () => {
  const client = vodClient(t.emulator);
  for (let i = 0; i < 8; i++) await uploadViaApi(t, client, encodeUploadContext({ uploadId: await issued() }));
  // Each handled event takes 6 s on VOD's clock (and the run's): 8 of them would take 48 s.
  const slowDb = claimingWith(() => t.clock.advance(6_000));
  const counts: Record<string, number> = {};
  const run = () =>
    runCleanup(
      deps({
        db: slowDb,
        clock: t.clock.now,
        vod: countingVod(config, counts),
        config: configWith({ CLEANUP_RECONCILE: 'false' }),
      }),
    );
  const first = await run();
  expect(first.stepsFailed).toBe(0); // a stale handle would have made ConfirmEvents fail
  expect(first.eventsConfirmed).toBe(first.eventsApplied);
  expect(first.eventsConfirmed).toBeGreaterThan(0);
  expect(counts.ConfirmEvents).toBeGreaterThan(1);
  // Those not started within 20 s of their pull come back after 30 s and are handled then.
  t.clock.advance(31_000);
  const second = await run();
  expect(second.stepsFailed).toBe(0);
  const { rows } = await testDb.db.query<{ status: string }>(`SELECT status FROM uploads`);
  expect(rows.filter((r) => r.status === 'ISSUED')).toEqual([]);
}, 60_000);

test('an event whose handling crashes is left unconfirmed, comes back, and is applied once', async () => {
  const uploadId = await issued();
  await uploadViaApi(t, vodClient(t.emulator), encodeUploadContext({ uploadId }));
  let crashes = 1;
  const crashingDb = claimingWith(() => {
    if (crashes-- > 0) throw new Error('injected crash');
  });
  // (Events from earlier tests' processing may share the queue: assert on this upload alone.)
  const first = await runCleanup(deps({ db: crashingDb }));
  expect(first.eventsFailed).toBe(1);
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('ISSUED');

  await runCleanup(deps({ db: crashingDb })); // within 30 s: not delivered again yet
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('ISSUED');
  t.clock.advance(31_000);
  const second = await runCleanup(deps({ db: crashingDb }));
  expect(second.eventsApplied).toBeGreaterThanOrEqual(1);
  expect(['PROCESSING', 'READY']).toContain((await getUpload(testDb.db, uploadId))!.status);
  const fileId = (await getUpload(testDb.db, uploadId))!.fileId;
  const { rows } = await testDb.db.query(`SELECT 1 FROM vod_events WHERE event_type = 'NewFileUpload' AND file_id = $1`, [
    fileId,
  ]);
  expect(rows).toHaveLength(1);
}, 60_000);

test('ISSUED uploads whose signature ran out (plus grace) become EXPIRED; others stay', async () => {
  const stale = await issued({ expiresAt: new Date(Date.now() - 61_000) });
  const inGrace = await issued({ expiresAt: new Date(Date.now() - 30_000) });
  const fresh = await issued();
  expect((await runCleanup(deps({ config: configWith({ VOD_EVENT_MODE: 'PUSH' }) }))).expired).toBe(1);
  expect((await getUpload(testDb.db, stale))!.status).toBe('EXPIRED');
  expect((await getUpload(testDb.db, inGrace))!.status).toBe('ISSUED');
  expect((await getUpload(testDb.db, fresh))!.status).toBe('ISSUED');
});

test('the lost-upload search asks VOD nothing while nothing created since its cursor has settled', async () => {
  await issued({ expiresAt: new Date(Date.now() - 61_000) });
  const push = { VOD_EVENT_MODE: 'PUSH' };
  // The only upload is seconds old: with a day to settle, no media can be in the search's window yet.
  const settling = configWith({ ...push, UPLOADED_RETRY_AFTER_SECONDS: '86400' });
  const quiet: Record<string, number> = {};
  expect((await runCleanup(deps({ config: settling, vod: countingVod(settling, quiet) }))).expired).toBe(1);
  expect(quiet.SearchMedia ?? 0).toBe(0);
  // Once the window has settled media in it (an upload still waiting, ten minutes on), the search asks again.
  await issued();
  const settled = configWith({ ...push, UPLOADED_RETRY_AFTER_SECONDS: '60' });
  const asked: Record<string, number> = {};
  await runCleanup(deps({ config: settled, vod: countingVod(settled, asked), clock: () => Date.now() + 600_000 }));
  expect(asked.SearchMedia).toBeGreaterThanOrEqual(1);
});

test('an ISSUED upload past UPLOAD_MAX_AGE_SECONDS (plus grace) expires even while its signature is still valid', async () => {
  // Re-signed again and again: a signature that never runs out. Age alone closes its window.
  const kept = await issued({ expiresAt: new Date(Date.now() + 3600_000) });
  const young = await issued({ expiresAt: new Date(Date.now() + 3600_000) });
  const age = (uploadId: string, seconds: number) =>
    testDb.db.query(`UPDATE uploads SET created_at = now() - make_interval(secs => $2) WHERE upload_id = $1`, [
      uploadId,
      seconds,
    ]);
  await age(kept, 86_400 + 61);
  await age(young, 86_400 + 30); // within the grace of 60 s
  expect((await runCleanup(deps({ config: configWith({ VOD_EVENT_MODE: 'PUSH' }) }))).expired).toBe(1);
  expect((await getUpload(testDb.db, kept))!.status).toBe('EXPIRED');
  expect((await getUpload(testDb.db, young))!.status).toBe('ISSUED');
});

test('orphans: dry-run reports and deletes nothing; a real run deletes the media in VOD', async () => {
  const pushConfig = configWith({ VOD_EVENT_MODE: 'PUSH' });
  const { uploadId, fileId } = await rejectedWithMedia();
  const dry = await runCleanup(deps({ config: configWith({ VOD_EVENT_MODE: 'PUSH', CLEANUP_DRY_RUN: 'true' }) }));
  expect(dry.wouldDelete).toEqual([fileId]);
  expect(dry.mediaDeleted).toBe(0);
  const client = vodClient(t.emulator);
  expect((await client.DescribeMediaInfos({ FileIds: [fileId] })).MediaInfoSet).toHaveLength(1);
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('REJECTED');

  const real = await runCleanup(deps({ config: pushConfig }));
  expect(real).toMatchObject({ mediaDeleted: 1, wouldDelete: [] });
  expect((await client.DescribeMediaInfos({ FileIds: [fileId] })).NotExistFileIdSet).toEqual([fileId]);
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('DELETED');
}, 60_000);

test('two runs started at once never work on the same row', async () => {
  const cfg = configWith({ VOD_EVENT_MODE: 'PUSH', CLEANUP_BATCH_SIZE: '3' });
  const orphans = [];
  for (let i = 0; i < 8; i++) orphans.push(await rejectedWithMedia());
  const counts: Record<string, number> = {};
  const [a, b] = await Promise.all([
    runCleanup(deps({ config: cfg, vod: countingVod(cfg, counts) })),
    runCleanup(deps({ config: cfg, vod: countingVod(cfg, counts) })),
  ]);
  expect(counts.DeleteMedia).toBe(8);
  expect(a.mediaDeleted + b.mediaDeleted).toBe(8);
  for (const { uploadId } of orphans) expect((await getUpload(testDb.db, uploadId))!.status).toBe('DELETED');
}, 120_000);

test('purge removes old de-dupe records and rate-limit windows, keeps undeleted orphans', async () => {
  await testDb.db.query(
    `INSERT INTO vod_events (dedupe_key, event_type, outcome, file_id, received_at) VALUES
       ('old', 'NewFileUpload', 'UPLOADED', '1', now() - interval '30 days'),
       ('new', 'NewFileUpload', 'UPLOADED', '2', now()),
       ('orphan', 'NewFileUpload', 'extra-file', NULL, now() - interval '30 days')`,
  );
  await testDb.db.query(
    `INSERT INTO rate_limits VALUES ('signature:a', now() - interval '2 days', 3), ('signature:a', now(), 1)`,
  );
  const summary = await runCleanup(
    deps({ config: configWith({ VOD_EVENT_MODE: 'PUSH', CLEANUP_RECONCILE: 'false', CLEANUP_DELETE_ORPHANS: 'false' }) }),
  );
  expect(summary).toMatchObject({ eventsPurged: 1, rateLimitWindowsPurged: 1 });
  const { rows } = await testDb.db.query<{ dedupe_key: string }>('SELECT dedupe_key FROM vod_events ORDER BY dedupe_key');
  expect(rows.map((r) => r.dedupe_key)).toEqual(['new', 'orphan']);
});

test('a step that fails (VOD refusing PullEvents) is logged and counted; the other steps still run', async () => {
  const stale = await issued({ expiresAt: new Date(Date.now() - 120_000) });
  t.emulator.setFaults({ api: { internalErrorRate: 1, actions: ['PullEvents'] } });
  try {
    const summary = await runCleanup(deps({ deadline: Date.now() + 10_000 }));
    expect(summary.stepsFailed).toBe(1);
    expect(summary.expired).toBe(1);
    expect((await getUpload(testDb.db, stale))!.status).toBe('EXPIRED');
  } finally {
    t.emulator.setFaults({});
  }
}, 30_000);
