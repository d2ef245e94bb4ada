/**
 * The webhook's claim (lib/event-store.ts `claimEventForUpload`): one statement claims the event's
 * de-dupe key and finds and locks its upload, as `findUploadForEvent` does; and the statements each
 * request sends (lib/db.ts `observeStatements`).
 */
import { randomUUID } from 'node:crypto';
import { type Database, observeStatements } from '#lib/db';
import { claimEventForUpload } from '#lib/event-store';
import { insertIssuedUpload, updateUpload } from '#lib/upload-store';
import { openTestDatabase, truncateAll, usingPostgres, type TestDatabase } from '../support/db';

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
