import { randomUUID } from 'node:crypto';
import { openDatabase, type Database } from '#lib/db';
import { migrate, MIGRATIONS } from '#lib/migrations';
import { insertIssuedUploadWithinQuotas } from '#lib/quota-store';
import { rateWindow } from '#lib/rate-limit';
import { canTransition, UPLOAD_STATUSES, UploadStatus } from '#lib/upload-lifecycle';
import { extendSignatureExpiry, getUpload, insertIssuedUpload } from '#lib/upload-store';
import { openTestDatabase, truncateAll, usingPostgres, type TestDatabase } from '../support/db';

let test_db: TestDatabase;
let db: Database;
beforeAll(async () => {
  test_db = await openTestDatabase();
  db = test_db.db;
}, 60_000);
afterAll(() => test_db.close());
beforeEach(() => truncateAll(db));

describe(`store on ${usingPostgres ? 'PostgreSQL' : 'PGlite'}`, () => {
  test('migrations are recorded once and re-running them applies nothing', async () => {
    const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await migrate(db)).toEqual([]);
  });

  test('instances starting at once apply a new migration exactly once', async () => {
    const extra = [...MIGRATIONS, { version: 9001, name: 'test', sql: 'CREATE TABLE migration_probe (id int)' }];
    // On PostgreSQL these are separate connection pools racing for the advisory lock.
    const others: Database[] = test_db.url
      ? await Promise.all([1, 2, 3].map(() => openDatabase({ url: test_db.url, dataDir: 'unused', poolMax: 1 })))
      : [db, db, db];
    try {
      const results = await Promise.all(others.map((other) => migrate(other, extra)));
      expect(results.flat()).toEqual([9001]);
      const { rows } = await db.query('SELECT version FROM schema_migrations WHERE version = 9001');
      expect(rows).toHaveLength(1);
    } finally {
      await db.exec('DROP TABLE migration_probe; DELETE FROM schema_migrations WHERE version = 9001');
      if (test_db.url) await Promise.all(others.map((other) => other.close()));
    }
  });

  test('a failed transaction leaves nothing behind', async () => {
    await expect(
      db.transaction(async (tx) => {
        await insertIssuedUpload(tx, {
          uploadId: '00000000-0000-4000-8000-000000000001',
          userId: 'a',
          signatureExpiresAt: new Date(),
        });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await getUpload(db, '00000000-0000-4000-8000-000000000001')).toBeUndefined();
  });

  test('uploads: insert, read back with normalised types, extend the signature expiry but never shorten it', async () => {
    const expires = new Date('2030-01-01T00:00:00Z');
    const inserted = await insertIssuedUpload(db, {
      uploadId: '00000000-0000-4000-8000-000000000002',
      userId: 'alice',
      fileName: 'clip.mp4',
      fileSize: 5 * 1024 ** 3,
      fileType: 'mp4',
      signatureExpiresAt: expires,
    });
    expect(inserted).toMatchObject({ status: 'ISSUED', userId: 'alice', fileSize: 5 * 1024 ** 3, fileId: null });
    expect(inserted.createdAt).toBeInstanceOf(Date);
    await extendSignatureExpiry(db, inserted.uploadId, new Date('2029-01-01T00:00:00Z'));
    expect((await getUpload(db, inserted.uploadId))!.signatureExpiresAt.toISOString()).toBe(expires.toISOString());
    await extendSignatureExpiry(db, inserted.uploadId, new Date('2031-01-01T00:00:00Z'));
    expect((await getUpload(db, inserted.uploadId))!.signatureExpiresAt.toISOString()).toBe('2031-01-01T00:00:00.000Z');
  });

  test('the status column refuses anything outside the lifecycle', async () => {
    await insertIssuedUpload(db, {
      uploadId: '00000000-0000-4000-8000-000000000003',
      userId: 'a',
      signatureExpiresAt: new Date(),
    });
    await expect(db.query(`UPDATE uploads SET status = 'DONE'`)).rejects.toThrow();
  });

  /** A new upload of `userId` through the signature's one statement (lib/quota-store.ts). */
  const sign = (userId: string, now: Date, rateLimit: number, concurrentUploads?: number) =>
    insertIssuedUploadWithinQuotas(
      db,
      {
        uploadId: randomUUID(),
        userId,
        signatureExpiresAt: new Date(Date.now() + 3600_000),
      },
      { concurrentUploads, rate: rateWindow(`signature:${userId}`, rateLimit, 60, now) },
      { now: new Date(), maxAgeSeconds: 86_400, graceSeconds: 3600 },
    );

  test('rate limits are exact under concurrency and reset with the window', async () => {
    const now = new Date('2026-11-25T10:00:30Z');
    const decisions = await Promise.all(Array.from({ length: 40 }, () => sign('bob', now, 10)));
    expect(decisions.filter((d) => d.outcome === 'issued')).toHaveLength(10);
    expect(decisions.filter((d) => d.outcome === 'rate-limited')).toHaveLength(30);
    expect(rateWindow('signature:bob', 10, 60, now).retryAfterSeconds).toBe(30);
    expect((await sign('carol', now, 10)).outcome).toBe('issued');
    expect((await sign('bob', new Date('2026-11-25T10:01:00Z'), 10)).outcome).toBe('issued');
  });

  test('the cap of ISSUED uploads holds under concurrency, across a rate-limit window boundary too', async () => {
    // Half the requests fall in one rate-limit window, half in the next: the counter rows differ,
    // the user's quota row is the same.
    const windows = [new Date('2026-11-25T10:00:59Z'), new Date('2026-11-25T10:01:00Z')];
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => sign('dave', windows[i % 2]!, 1000, 5)));
    expect(results.filter((r) => r.outcome === 'issued')).toHaveLength(5);
    expect((await db.query(`SELECT 1 FROM uploads WHERE user_id = 'dave'`)).rows).toHaveLength(5);
  });
});

describe('upload lifecycle', () => {
  test('only forward transitions are allowed', () => {
    const allowed = UPLOAD_STATUSES.flatMap((from) =>
      UPLOAD_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}>${to}`),
    );
    expect(allowed.sort()).toEqual(
      [
        'ISSUED>UPLOADED',
        'ISSUED>PROCESSING',
        'ISSUED>READY',
        'ISSUED>FAILED',
        'ISSUED>REJECTED',
        'ISSUED>EXPIRED',
        'ISSUED>DELETED',
        'UPLOADED>PROCESSING',
        'UPLOADED>READY',
        'UPLOADED>FAILED',
        'UPLOADED>REJECTED',
        'UPLOADED>DELETED',
        'PROCESSING>READY',
        'PROCESSING>FAILED',
        'PROCESSING>DELETED',
        'READY>DELETED',
        'FAILED>DELETED',
        'REJECTED>DELETED',
        'EXPIRED>DELETED',
        'PROCESSING>REJECTED',
        // The content review: held once processed, blocked from any state with a file until it is final.
        'ISSUED>IN_REVIEW',
        'UPLOADED>IN_REVIEW',
        'PROCESSING>IN_REVIEW',
        'IN_REVIEW>READY',
        'IN_REVIEW>BLOCKED',
        'IN_REVIEW>DELETED',
        'UPLOADED>BLOCKED',
        'PROCESSING>BLOCKED',
        'READY>BLOCKED',
        'BLOCKED>DELETED',
      ].sort(),
    );
    expect(canTransition(UploadStatus.READY, UploadStatus.PROCESSING)).toBe(false);
    expect(canTransition(UploadStatus.BLOCKED, UploadStatus.READY)).toBe(false);
    expect(canTransition(UploadStatus.IN_REVIEW, UploadStatus.PROCESSING)).toBe(false);
  });
});
