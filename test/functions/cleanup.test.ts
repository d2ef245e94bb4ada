/**
 * The cleanup run against the VOD emulator (PULL mode, the official SDK) and a real database.
 */
import { randomUUID } from 'node:crypto';
import { runCleanup, type CleanupDeps } from '#lib/cleanup';
import { loadConfig, type Config } from '#lib/config';
import type { Database, Queryable } from '#lib/db';
import { MAX_ATTEMPTS } from '#lib/cleanup/lost-uploads';
import { createLogger, setLogSink } from '#lib/log';
import { encodeUploadContext } from '#lib/upload-context';
import { getUpload, insertIssuedUpload, updateUpload } from '#lib/upload-store';
import { createVodClient, type VodCalls } from '#lib/vod-api';
import { emulatorEnv, startTestEmulator, uploadViaApi, vodClient, type TestEmulator } from '../emulator/helpers';
import { openTestDatabase, truncateAll, type TestDatabase } from '../support/db';

let t: TestEmulator;
let testDb: TestDatabase;
let config: Config;
const log = createLogger({}, 'error');

function configWith(overrides: Record<string, string> = {}): Config {
  return loadConfig(
    emulatorEnv(t, {
      VOD_EVENT_MODE: 'PULL',
      UPLOAD_EXPIRY_GRACE_SECONDS: '60',
      ...overrides,
    }),
  );
}

/** The official client, counting the calls a test wants to count. */
function countingVod(cfg: Config, counts: Record<string, number> = {}): VodCalls {
  const client = createVodClient(cfg, { timeoutSeconds: 15 });
  return new Proxy(client, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        counts[String(name)] = (counts[String(name)] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  }) as VodCalls;
}

const deps = (overrides: Partial<CleanupDeps> = {}): CleanupDeps => ({
  config,
  db: testDb.db,
  vod: countingVod(config),
  log,
  deadline: Date.now() + 30_000,
  ...overrides,
});

/**
 * The test database, with `fault` run first whenever an event is to be claimed: the statement that claims
 * it and writes its change, or the transaction that does (lib/handle-vod-event.ts has both paths).
 */
function claimingWith(fault: () => void): Database {
  const db = testDb.db;
  return Object.create(db, {
    query: {
      value: (sql: string, params?: readonly unknown[], options?: Parameters<Database['query']>[2]) => {
        if (sql.includes('INSERT INTO vod_events')) fault();
        return db.query(sql, params, options);
      },
    },
    transaction: {
      value: (fn: Parameters<Database['transaction']>[0]) => {
        fault();
        return db.transaction(fn);
      },
    },
  });
}

async function issued(overrides: { expiresAt?: Date } = {}): Promise<string> {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, {
    uploadId,
    userId: 'alice',
    signatureExpiresAt: overrides.expiresAt ?? new Date(Date.now() + 3600_000),
  });
  return uploadId;
}

beforeAll(async () => {
  [t, testDb] = await Promise.all([
    startTestEmulator({
      eventConfig: { Mode: 'PULL', UploadMediaCompleteEventSwitch: 'ON', DeleteMediaCompleteEventSwitch: 'ON' },
    }),
    openTestDatabase(),
  ]);
  config = configWith();
}, 60_000);
afterAll(async () => {
  await t.close();
  await testDb.close();
});
beforeEach(async () => {
  await truncateAll(testDb.db);
  // Let an earlier test's processing finish, then drain whatever it left in VOD's queue.
  await t.emulator.processing.idle();
  await t.emulator.flush();
  const client = vodClient(t.emulator);
  for (;;) {
    const { EventSet } = await client.PullEvents({});
    if (!EventSet?.length) break;
    await client.ConfirmEvents({ EventHandles: EventSet.map((e) => e.EventHandle!) });
  }
  // An earlier test's processing (real ffmpeg, adaptive HLS included) may still be running.
}, 120_000);

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

async function rejectedWithMedia(): Promise<{ uploadId: string; fileId: string }> {
  const uploadId = await issued();
  const fileId = await uploadViaApi(t, vodClient(t.emulator), 'not-ours');
  await updateUpload(testDb.db, uploadId, { status: 'REJECTED', fileId, error: { code: 'MediaRejected', message: 'too long' } });
  return { uploadId, fileId };
}

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

/**
 * A run of the PUSH-mode cleanup (no pump) with its clock `ahead` ms past VOD's (the emulator's clock,
 * which an earlier test may have moved past the database's).
 */
const pushRun = (ahead: number, overrides: Partial<CleanupDeps> = {}) =>
  runCleanup(deps({ config: configWith({ VOD_EVENT_MODE: 'PUSH' }), clock: () => t.clock.now() + ahead, ...overrides }));

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

/**
 * The test database, except that every statement about one item (its upload id, file id or de-dupe key
 * among the parameters) fails: a poison row. The lost-upload search's own retry records still work.
 */
function poisoned(...poison: string[]): Database {
  const check = (sql: string, params: readonly unknown[] = []) => {
    const hit = poison.find((id) => params.includes(id));
    if (hit !== undefined && !sql.includes('search_retries')) throw new Error(`injected poison row ${hit}`);
  };
  const wrap = (q: Queryable): Queryable => ({
    query: async (sql, params) => {
      check(sql, params);
      return q.query(sql, params);
    },
    exec: (sql) => q.exec(sql),
  });
  return Object.create(testDb.db, {
    query: { value: wrap(testDb.db).query },
    transaction: { value: (fn: Parameters<Database['transaction']>[0]) => testDb.db.transaction((tx) => fn(wrap(tx))) },
  });
}

/** Runs `work` with the log lines it writes collected. */
async function logged<T>(work: () => Promise<T>): Promise<[T, Array<Record<string, unknown>>]> {
  const lines: Array<Record<string, unknown>> = [];
  const previous = setLogSink((line) => lines.push(JSON.parse(line)));
  try {
    return [await work(), lines];
  } finally {
    setLogSink(previous);
  }
}

const lostUpload = async () => {
  const uploadId = await issued();
  return { uploadId, fileId: await uploadViaApi(t, vodClient(t.emulator), encodeUploadContext({ uploadId, userId: 'alice' })) };
};

test('a poison file in lost-upload recovery: the others are recovered, it is counted, logged with its id, retried by the next run, and holds no cursor', async () => {
  const poison = await lostUpload(); // created first: the search meets it first
  const other = await lostUpload();
  const [first, lines] = await logged(() => pushRun(130_000, { db: poisoned(poison.fileId) }));
  expect(first).toMatchObject({ stepsFailed: 0, itemsFailed: 1 });
  expect(first.uploadsRecovered).toBeGreaterThanOrEqual(1);
  expect((await getUpload(testDb.db, other.uploadId))!.fileId).toBe(other.fileId);
  expect((await getUpload(testDb.db, poison.uploadId))!.status).toBe('ISSUED');
  expect(lines.find((l) => l.level === 'error' && l.fileId === poison.fileId)).toMatchObject({
    uploadId: poison.uploadId,
    error: { message: expect.stringMatching(/poison/) },
  });
  // The cursor moved past it (beyond its creation time, or at it with it among the files seen); the retry list holds it.
  const created = Date.parse(
    (await vodClient(t.emulator).DescribeMediaInfos({ FileIds: [poison.fileId] })).MediaInfoSet![0]!.BasicInfo!.CreateTime!,
  );
  const cursor = (
    await testDb.db.query<{ file_ids: string[]; high_water: Date }>('SELECT file_ids, high_water FROM search_cursors')
  ).rows[0]!;
  expect(new Date(cursor.high_water).getTime() > created || cursor.file_ids.includes(poison.fileId)).toBe(true);
  expect((await testDb.db.query(`SELECT attempts FROM search_retries WHERE file_id = $1`, [poison.fileId])).rows).toEqual([
    { attempts: 1 },
  ]);

  // Cured (say a fix was deployed): the next run recovers it from the retry list.
  const second = await pushRun(130_000);
  expect(second.itemsFailed).toBe(0);
  expect((await getUpload(testDb.db, poison.uploadId))!.fileId).toBe(poison.fileId);
  expect((await testDb.db.query('SELECT 1 FROM search_retries')).rows).toEqual([]);
}, 60_000);

test(`a file that always fails is tried by ${MAX_ATTEMPTS} runs, then given up with an error naming it; later lost uploads are still found`, async () => {
  const poison = await lostUpload();
  const db = poisoned(poison.fileId);
  const runs = [];
  for (let i = 0; i < MAX_ATTEMPTS; i++) runs.push(await logged(() => pushRun(130_000, { db })));
  expect(runs.map(([summary]) => summary.itemsFailed)).toEqual(Array(MAX_ATTEMPTS).fill(1));
  const [, lastLines] = runs[MAX_ATTEMPTS - 1]!;
  expect(lastLines.find((l) => /gave up/.test(String(l.msg)))).toMatchObject({
    level: 'error',
    fileId: poison.fileId,
    attempts: MAX_ATTEMPTS,
  });
  expect((await testDb.db.query('SELECT 1 FROM search_retries')).rows).toEqual([]);
  expect((await pushRun(130_000, { db })).itemsFailed).toBe(0);

  const later = await lostUpload();
  expect((await pushRun(130_000, { db })).uploadsRecovered).toBeGreaterThanOrEqual(1);
  expect((await getUpload(testDb.db, later.uploadId))!.fileId).toBe(later.fileId);
}, 120_000);

test('a poison upload in reconcile: the other uploads are still handled, the failure is counted and logged with its id, the step goes on', async () => {
  const processing = async (taskId: string, ageSeconds: number) => {
    const uploadId = await issued();
    await updateUpload(testDb.db, uploadId, { status: 'PROCESSING', fileId: `file-${taskId}`, taskId });
    await testDb.db.query(`UPDATE uploads SET status_changed_at = now() - make_interval(secs => $2) WHERE upload_id = $1`, [
      uploadId,
      ageSeconds,
    ]);
    return uploadId;
  };
  // VOD knows neither task (kept only three days): each becomes FAILED, unless its row cannot be written.
  const poison = await processing('poison-task', 7200);
  const other = await processing('other-task', 7100);
  const stale = await issued({ expiresAt: new Date(Date.now() - 120_000) });
  const [summary, lines] = await logged(() => pushRun(0, { db: poisoned(poison), clock: () => Date.now() }));
  expect(summary).toMatchObject({ stepsFailed: 0, itemsFailed: 1, processingResolved: 1, expired: 1 });
  expect(await getUpload(testDb.db, other)).toMatchObject({ status: 'FAILED', error: { code: 'TaskNotFound' } });
  expect((await getUpload(testDb.db, poison))!.status).toBe('PROCESSING');
  expect((await getUpload(testDb.db, stale))!.status).toBe('EXPIRED');
  expect(lines.find((l) => l.level === 'error' && l.uploadId === poison)).toMatchObject({
    msg: expect.stringMatching(/overdue/),
  });
}, 60_000);

test('a poison row in orphans: the other media are still deleted, the failure is counted and logged with its id', async () => {
  const poison = await rejectedWithMedia();
  const other = await rejectedWithMedia();
  await testDb.db.query(`UPDATE uploads SET status_changed_at = now() - interval '1 minute' WHERE upload_id = $1`, [
    poison.uploadId,
  ]);
  // Two files that came for an upload that already had one; the first one's record cannot be written.
  const extra = [
    await uploadViaApi(t, vodClient(t.emulator), 'not-ours'),
    await uploadViaApi(t, vodClient(t.emulator), 'not-ours'),
  ];
  await testDb.db.query(
    `INSERT INTO vod_events (dedupe_key, event_type, outcome, file_id) VALUES ('a-poison', 'NewFileUpload', 'extra-file', $1), ('b-fine', 'NewFileUpload', 'extra-file', $2)`,
    extra,
  );
  const cfg = configWith({ VOD_EVENT_MODE: 'PUSH', CLEANUP_RECONCILE: 'false' });
  const [first, lines] = await logged(() => runCleanup(deps({ config: cfg, db: poisoned(poison.uploadId, 'a-poison') })));
  expect(first).toMatchObject({ stepsFailed: 0, itemsFailed: 2 });
  expect((await getUpload(testDb.db, other.uploadId))!.status).toBe('DELETED');
  expect((await getUpload(testDb.db, poison.uploadId))!.status).toBe('REJECTED');
  expect(lines.find((l) => l.level === 'error' && l.uploadId === poison.uploadId)).toMatchObject({ fileId: poison.fileId });
  expect(lines.find((l) => l.level === 'error' && l.fileId === extra[0])).toMatchObject({ msg: expect.stringMatching(/orphan/) });
  const outcomes = async () =>
    (
      await testDb.db.query<{ dedupe_key: string; outcome: string }>(
        `SELECT dedupe_key, outcome FROM vod_events ORDER BY dedupe_key`,
      )
    ).rows;
  expect(await outcomes()).toEqual([
    { dedupe_key: 'a-poison', outcome: 'extra-file' },
    { dedupe_key: 'b-fine', outcome: 'extra-file:deleted' },
  ]);

  // The next run tries them again (their media are already gone: as good as deleted).
  expect(await runCleanup(deps({ config: cfg }))).toMatchObject({ stepsFailed: 0, itemsFailed: 0 });
  expect((await getUpload(testDb.db, poison.uploadId))!.status).toBe('DELETED');
  expect(await outcomes()).toEqual([
    { dedupe_key: 'a-poison', outcome: 'extra-file:deleted' },
    { dedupe_key: 'b-fine', outcome: 'extra-file:deleted' },
  ]);
}, 60_000);
