/**
 * The event's claim, both ways lib/handle-vod-event.ts takes it: unlocked (lib/event-store.ts
 * `readEventUpload`, then `claimAndWrite` while the upload is the version read) and locked
 * (`claimEventForUpload`: one statement claims the de-dupe key and finds and locks the upload, as
 * `findUploadForEvent` does, in a transaction); and the statements each sends (lib/db.ts `observeStatements`).
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '#lib/config';
import { type Database, observeStatements } from '#lib/db';
import { claimAndWrite, claimEventForUpload, readEventUpload } from '#lib/event-store';
import { handleVodEvent } from '#lib/handle-vod-event';
import { createLogger } from '#lib/log';
import { getUpload, insertIssuedUpload, updateUpload } from '#lib/upload-store';
import type { VodCalls } from '#lib/vod-api';
import { parseVodEvent } from '#lib/vod-event';
import { openTestDatabase, truncateAll, usingPostgres, type TestDatabase } from '../support/db';
import { functionEnv } from '../support/env';
import { procedureBody } from '../support/events';

let testDb: TestDatabase;
let db: Database;
beforeAll(async () => {
  testDb = await openTestDatabase();
  db = testDb.db;
}, 60_000);
afterAll(() => testDb.close());
beforeEach(() => truncateAll(db));

const record = (dedupeKey: string) => ({ dedupeKey, eventType: 'ProcedureStateChanged', outcome: 'pending' as const });

async function upload(fileId?: string, taskId?: string): Promise<string> {
  const uploadId = randomUUID();
  await insertIssuedUpload(db, { uploadId, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 3600_000) });
  if (fileId || taskId) await updateUpload(db, uploadId, { fileId, taskId });
  return uploadId;
}

describe(`the claim on ${usingPostgres ? 'PostgreSQL' : 'PGlite'}`, () => {
  test('finds the upload by upload id first, else by file id, else by task id; a second claim finds nothing', async () => {
    const byId = await upload();
    const byFile = await upload('file-1');
    const byTask = await upload(undefined, 'task-1');
    const claim = (key: string, keys: Parameters<typeof claimEventForUpload>[2]) =>
      db.transaction((tx) => claimEventForUpload(tx, record(key), keys));

    // Each key names a different upload: the upload id wins over the file id, the file id over the task id.
    expect((await claim('a', { uploadId: byId, fileId: 'file-1', taskId: 'task-1' })).upload?.uploadId).toBe(byId);
    expect((await claim('b', { uploadId: randomUUID(), fileId: 'file-1', taskId: 'task-1' })).upload?.uploadId).toBe(byFile);
    expect((await claim('c', { fileId: 'file-unknown', taskId: 'task-1' })).upload?.uploadId).toBe(byTask);
    expect(await claim('d', { fileId: 'file-unknown' })).toEqual({ claimed: true, upload: undefined });
    expect(await claim('e', {})).toEqual({ claimed: true, upload: undefined });
    expect(await claim('a', { uploadId: byId })).toEqual({ claimed: false });
    const { rows } = await db.query('SELECT dedupe_key FROM vod_events ORDER BY dedupe_key');
    expect(rows.map((r) => r.dedupe_key)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  test('a claim rolled back leaves the key free for the next delivery', async () => {
    const uploadId = await upload();
    await expect(
      db.transaction(async (tx) => {
        await claimEventForUpload(tx, record('k'), { uploadId });
        throw new Error('the apply failed');
      }),
    ).rejects.toThrow('the apply failed');
    const again = await db.transaction((tx) => claimEventForUpload(tx, record('k'), { uploadId }));
    expect(again).toMatchObject({ claimed: true, upload: { uploadId } });
  });

  test('twins at once: exactly one owns the event', async () => {
    const uploadId = await upload();
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        db.transaction(async (tx) => {
          const claim = await claimEventForUpload(tx, record('twin'), { uploadId });
          if (claim.claimed) await updateUpload(tx, uploadId, { taskId: 'task-twin' });
          return claim.claimed;
        }),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  test('every statement is observed, BEGIN and COMMIT included', async () => {
    const uploadId = await upload();
    const sent: string[] = [];
    observeStatements((sql) => sent.push(sql.trim().split(/\s+/)[0]!));
    try {
      await db.transaction((tx) => claimEventForUpload(tx, record('seen'), { uploadId }));
      await db.query('SELECT 1');
    } finally {
      observeStatements(undefined);
    }
    expect(sent).toEqual(['BEGIN', 'WITH', 'COMMIT', 'SELECT']);
  });
});

describe(`the unlocked claim on ${usingPostgres ? 'PostgreSQL' : 'PGlite'}`, () => {
  const progress = (percent: number) => ({ patch: { result: { progress: percent } } });
  const recordOf = (key: string, uploadId: string) => ({ ...record(key), outcome: 'progress:10' as const, uploadId });

  test('writes the change and the record together while the upload is as read; a second claim is a duplicate', async () => {
    const uploadId = await upload();
    const read = await readEventUpload(db, 'k', { uploadId });
    expect(read).toMatchObject({ handled: false, seen: { upload: { uploadId, status: 'ISSUED' } } });
    expect(await claimAndWrite(db, recordOf('k', uploadId), read.seen, progress(10))).toBe('claimed');
    expect((await getUpload(db, uploadId))!.result).toEqual({ progress: 10 });
    expect(await readEventUpload(db, 'k', { uploadId })).toEqual({ handled: true });
    // Read before the first write: the key is taken, whatever the version.
    const fresh = await readEventUpload(db, 'other', { uploadId });
    expect(await claimAndWrite(db, recordOf('k', uploadId), fresh.seen, progress(20))).toBe('duplicate');
    expect((await getUpload(db, uploadId))!.result).toEqual({ progress: 10 });
    const { rows } = await db.query('SELECT outcome, upload_id FROM vod_events');
    expect(rows).toEqual([{ outcome: 'progress:10', upload_id: uploadId }]);
  });

  test('an upload changed since it was read is stale: nothing is written and the key stays free', async () => {
    const uploadId = await upload();
    const read = await readEventUpload(db, 'k', { uploadId });
    await updateUpload(db, uploadId, { taskId: 'task-meanwhile' });
    expect(await claimAndWrite(db, recordOf('k', uploadId), read.seen, progress(10))).toBe('stale');
    expect(await claimAndWrite(db, recordOf('k', uploadId), read.seen, undefined)).toBe('stale');
    expect((await getUpload(db, uploadId))!.result).toBeNull();
    expect(await readEventUpload(db, 'k', { uploadId })).toMatchObject({ handled: false });
  });

  test('twins from one read at once: exactly one writes', async () => {
    const uploadId = await upload();
    const read = await readEventUpload(db, 'twin', { uploadId });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        claimAndWrite(db, recordOf(i % 2 ? 'twin' : `twin-${i}`, uploadId), read.seen, progress(i)),
      ),
    );
    expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM vod_events');
    expect(Number(rows[0]!.n)).toBe(1);
  });
});

describe('an event through handleVodEvent', () => {
  const config = loadConfig(functionEnv({}));
  const deps = (database: Database) => ({
    config,
    db: database,
    vod: {} as VodCalls, // progress events call nothing in VOD
    log: createLogger({}, 'error'),
  });
  const handle = (database: Database, body: unknown) =>
    handleVodEvent(deps(database), parseVodEvent(body), { confirmWithVod: false });

  async function processing(fileId: string, taskId: string): Promise<string> {
    const uploadId = await upload();
    await updateUpload(db, uploadId, { status: 'UPLOADED', fileId });
    await updateUpload(db, uploadId, { status: 'PROCESSING', taskId });
    return uploadId;
  }

  test('progress takes two statements, a duplicate one', async () => {
    const uploadId = await processing('file-2', 'task-2');
    const body = procedureBody({ taskId: 'task-2', fileId: 'file-2', uploadId, status: 'PROCESSING', progress: 40 });
    const sent: string[] = [];
    observeStatements((sql) => sent.push(sql.trim().split(/\s+/)[0]!));
    try {
      // The procedure's progress is its subtasks' mean: the transcode at 40, the cover at 0.
      expect((await handle(db, body)).outcome).toBe('progress:20');
      expect(sent).toEqual(['SELECT', 'WITH']);
      sent.length = 0;
      expect((await handle(db, body)).duplicate).toBe(true);
      expect(sent).toEqual(['SELECT']);
    } finally {
      observeStatements(undefined);
    }
  });

  test('an upload that changes under every unlocked attempt is handled in the locked transaction, once', async () => {
    const uploadId = await processing('file-3', 'task-3');
    let bumps = 0;
    // Another writer touches the row between each read and its write.
    const busy: Database = Object.create(db, {
      query: {
        value: async (sql: string, params?: readonly unknown[]) => {
          if (sql.trimStart().startsWith('WITH current')) {
            bumps++;
            await updateUpload(db, uploadId, { taskId: 'task-3' });
          }
          return db.query(sql, params);
        },
      },
    });
    const body = procedureBody({ taskId: 'task-3', fileId: 'file-3', uploadId, status: 'PROCESSING', progress: 60 });
    expect(await handle(busy, body)).toMatchObject({ duplicate: false, outcome: 'progress:30', uploadId });
    expect(bumps).toBe(3);
    expect((await getUpload(db, uploadId))!.result).toEqual({ progress: 30 });
    expect((await handle(db, body)).duplicate).toBe(true);
  });

  test('many progress events on one upload at once: each applied once, the bar at the highest', async () => {
    const uploadId = await processing('file-4', 'task-4');
    const percents = [10, 35, 20, 80, 55, 70, 5, 90, 45, 60];
    const results = await Promise.all(
      percents.map((progress) =>
        handle(db, procedureBody({ taskId: 'task-4', fileId: 'file-4', uploadId, status: 'PROCESSING', progress })),
      ),
    );
    expect(results.filter((r) => r.duplicate)).toEqual([]);
    expect((await getUpload(db, uploadId))!.result).toEqual({ progress: 45 }); // 90 % of the transcode, 0 of the cover
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM vod_events WHERE outcome LIKE 'progress:%'`);
    expect(Number(rows[0]!.n)).toBe(percents.length);
  });
});
