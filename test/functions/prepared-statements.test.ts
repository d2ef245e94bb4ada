/**
 * Named (prepared) statements, lib/db.ts `prepare`: the signature's statements are parsed and planned
 * once per connection on PostgreSQL. They must answer exactly as unnamed ones, inside transactions too,
 * and keep working when a migration changes the tables under a prepared plan.
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '#lib/db';
import { insertIssuedUploadWithinQuotas, quotaCounters, recountQuotas, renewIssuedUpload } from '#lib/quota-store';
import { rateWindow } from '#lib/rate-limit';
import { openTestDatabase, truncateAll, usingPostgres, type TestDatabase } from '../support/db';

let test_db: TestDatabase;
let db: Database;
beforeAll(async () => {
  test_db = await openTestDatabase();
  db = test_db.db;
}, 60_000);
afterAll(() => test_db.close());
beforeEach(() => truncateAll(db));

const now = new Date('2026-11-25T10:00:30Z');
const sign = (userId: string, rateLimit = 1000, concurrentUploads?: number) =>
  insertIssuedUploadWithinQuotas(
    db,
    { uploadId: randomUUID(), userId, signatureExpiresAt: new Date(now.getTime() + 3600_000) },
    { concurrentUploads, rate: rateWindow(`signature:${userId}`, rateLimit, 60, now) },
    { now, maxAgeSeconds: 86_400, graceSeconds: 3600 },
  );

describe(`prepared statements on ${usingPostgres ? 'PostgreSQL' : 'PGlite'}`, () => {
  test('a named statement answers as the unnamed one, every time, in and out of a transaction', async () => {
    const sql = 'SELECT $1::int + $2::int AS sum, $3::text AS label';
    const plain = await db.query(sql, [1, 2, 'a']);
    for (const params of [
      [1, 2, 'a'],
      [40, 2, null],
      [1, 2, 'a'],
    ]) {
      const named = await db.query(sql, params, { prepare: 'test-sum' });
      const unnamed = await db.query(sql, params);
      expect(named.rows).toEqual(unnamed.rows);
    }
    const inside = await db.transaction((tx) => tx.query(sql, [1, 2, 'a'], { prepare: 'test-sum' }));
    expect(inside.rows).toEqual(plain.rows);
  });

  test('the signature statements keep their limits when prepared: exact rate limit (no quota) and cap under concurrency', async () => {
    const decisions = await Promise.all(Array.from({ length: 30 }, () => sign('bob', 12)));
    expect(decisions.filter((d) => d.outcome === 'issued')).toHaveLength(12);
    expect(decisions.filter((d) => d.outcome === 'rate-limited')).toHaveLength(18);
    const capped = await Promise.all(Array.from({ length: 20 }, () => sign('carol', 1000, 5)));
    expect(capped.filter((d) => d.outcome === 'issued')).toHaveLength(5);
    expect(capped.filter((d) => d.outcome === 'refused')).toHaveLength(15);
    // Without a quota or cap the statement neither locks nor reads the counters: the trigger still keeps them.
    const counters = await quotaCounters(db);
    expect(counters).toEqual(await recountQuotas(db));
    expect(counters.users).toEqual([
      { userId: 'bob', concurrentUploads: 12, storedBytes: 0, storedSeconds: 0 },
      { userId: 'carol', concurrentUploads: 5, storedBytes: 0, storedSeconds: 0 },
    ]);
  });

  test('a migration that changes the uploads table under prepared plans breaks neither statement', async () => {
    // Every pooled connection prepares both statements first.
    await Promise.all(Array.from({ length: 20 }, () => sign('dave')));
    const { rows } = await db.query<{ upload_id: string }>('SELECT upload_id FROM uploads LIMIT 1');
    const renew = () =>
      renewIssuedUpload(
        db,
        {
          uploadId: rows[0]!.upload_id,
          userId: 'dave',
          nowSeconds: now.getTime() / 1000,
          validitySeconds: 3600,
          maxAgeSeconds: 86_400,
        },
        rateWindow('signature:dave', 1000, 60, now),
      );
    await Promise.all(Array.from({ length: 10 }, renew));
    try {
      await db.exec(
        'ALTER TABLE uploads ADD COLUMN prepared_probe text; CREATE INDEX uploads_prepared_probe ON uploads (prepared_probe)',
      );
      const after = await Promise.all(Array.from({ length: 20 }, () => sign('dave')));
      expect(after.every((d) => d.outcome === 'issued')).toBe(true);
      const renewed = await Promise.all(Array.from({ length: 10 }, renew));
      expect(renewed.every((d) => d.outcome === 'checked' && d.renewed)).toBe(true);
    } finally {
      await db.exec('ALTER TABLE uploads DROP COLUMN prepared_probe');
    }
  });

  (usingPostgres ? test : test.skip)('on PostgreSQL the named statement is prepared on the connection', async () => {
    const names = await db.transaction(async (tx) => {
      await tx.query('SELECT $1::int AS one', [1], { prepare: 'test-probe' });
      const { rows } = await tx.query<{ name: string }>('SELECT name FROM pg_prepared_statements');
      return rows.map((row) => row.name);
    });
    expect(names).toContain('test-probe');
  });
});
