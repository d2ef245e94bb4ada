/**
 * The cleanup run against the VOD emulator and a real database with poison rows (every statement about
 * one item fails): in lost-upload recovery (retried, then given up), in reconcile and in orphans, the other
 * items are still handled and the failure is counted and logged with its id.
 */
import { runCleanup } from '#lib/cleanup';
import { MAX_ATTEMPTS } from '#lib/cleanup/lost-uploads';
import type { Database, Queryable } from '#lib/db';
import { setLogSink } from '#lib/log';
import { encodeUploadContext } from '#lib/upload-context';
import { getUpload, updateUpload } from '#lib/upload-store';
import { uploadViaApi, vodClient } from '../emulator/helpers';
import { configWith, deps, issued, pushRun, rejectedWithMedia, t, testDb, useCleanupFixture } from '../support/cleanup-fixture';

useCleanupFixture();

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
