/**
 * Per-user quota counters on a real database (PGlite here; CI reruns test/functions on PostgreSQL):
 * parallel signatures never pass a quota, signatures and arriving files at once keep exact counters, an
 * arriving file is trued up, one round trip per signature, and the counters always equal a recount from
 * the uploads table, whatever happens to the uploads. Each quota's own refusal is in quotas.test.ts.
 */
import fc from 'fast-check';
import { loadConfig } from '#lib/config';
import type { Database, Queryable } from '#lib/db';
import { issueUploadSignature } from '#lib/issue-upload-signature';
import { quotaCounters, recountQuotas } from '#lib/quota-store';
import { expireIssuedUploads } from '#lib/upload-batches';
import { getUpload, updateUpload } from '#lib/upload-store';
import { truncateAll, usingPostgres } from '../support/db';
import { procedureBody } from '../support/events';
import { functionUrlEvent, loadFunction } from '../support/function';
import { userToken } from '../support/jwt';
import {
  arrive,
  call,
  envFor,
  expectCountersMatchRecount,
  handle,
  log,
  randomFileId,
  sign,
  testDb,
  useQuotaDatabase,
} from '../support/quota-fixture';

useQuotaDatabase();

describe(`quotas on ${usingPostgres ? 'PostgreSQL' : 'PGlite'}`, () => {
  test.each([
    ['uploadsPerDay', { QUOTA_UPLOADS_PER_DAY: '7' }],
    ['bytesPerDay', { QUOTA_BYTES_PER_DAY: '7000' }],
    ['storedBytes', { QUOTA_STORED_BYTES: '7999' }],
    ['concurrentUploads', { QUOTA_CONCURRENT_UPLOADS: '7' }],
  ])('200 parallel signatures of one user never pass %s', async (quota, settings) => {
    const fn = loadFunction('upload-signature', envFor(settings));
    const token = await userToken('greedy');
    const results = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const event = functionUrlEvent('POST', '/upload-signature', { fileSize: 1000 }, { authorization: `Bearer ${token}` });
        const reply = await fn(event);
        return { status: reply.statusCode, body: JSON.parse(reply.body) };
      }),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(7);
    expect(results.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body.error.code} ${r.body.error.quota}`)).toEqual(
      Array(193).fill(`429 QuotaExceeded ${quota}`),
    );
    expect((await testDb.db.query(`SELECT 1 FROM uploads WHERE user_id = 'greedy'`)).rows).toHaveLength(7);
    await expectCountersMatchRecount();
  });

  test('new signatures, re-signs and arriving files of one user all at once: no deadlock, no 5xx, exact counters', async () => {
    const env = envFor({ QUOTA_STORED_BYTES: '1000000000', QUOTA_CONCURRENT_UPLOADS: '1000', UPLOAD_MAX_ISSUED_PER_USER: '0' });
    const config = loadConfig(env);
    const fn = loadFunction('upload-signature', env);
    const token = await userToken('busy');
    const post = async (body: unknown) => {
      const reply = await fn(functionUrlEvent('POST', '/upload-signature', body, { authorization: `Bearer ${token}` }));
      return reply.statusCode;
    };
    const open = await Promise.all(
      Array.from({ length: 40 }, async () => (await sign(fn, 'busy', { fileSize: 100 })).body.uploadId),
    );
    const results = await Promise.all([
      ...Array.from({ length: 80 }, () => post({ fileSize: 100 }).then((status) => `new ${status}`)),
      ...open.map((uploadId) => post({ uploadId }).then((status) => `renew ${status === 409 ? 200 : status}`)),
      ...open.map((uploadId) => arrive(config, uploadId, 150, 3).then((handled) => `arrive ${handled.outcome}`)),
    ]);
    expect(results.sort()).toEqual([
      ...Array(40).fill('arrive PROCESSING'),
      ...Array(80).fill('new 200'),
      ...Array(40).fill('renew 200'),
    ]);
    await expectCountersMatchRecount();
  });

  test('true-up: a file over its reservation by more than the quota allows is REJECTED (QuotaExceeded); one under releases the rest', async () => {
    const env = envFor({ QUOTA_STORED_BYTES: '3000000', QUOTA_STORED_SECONDS: '100' });
    const config = loadConfig(env);
    const fn = loadFunction('upload-signature', env);
    const usage = loadFunction('usage', env);
    const storedBytes = async () => (await call(usage, 'alice', 'GET', '/me/usage')).body.quotas.storedBytes.used;

    const under = await sign(fn, 'alice', { fileSize: 2_000_000 });
    expect(await storedBytes()).toBe(2_000_000);
    expect((await arrive(config, under.body.uploadId, 1_048_576, 10)).outcome).toBe('PROCESSING');
    expect(await storedBytes()).toBe(1_048_576);

    const small = await sign(fn, 'alice', { fileSize: 1000 });
    // 1 048 576 + 1000 reserved; a 1.5 MB file would hold 2 548 576 of 3 000 000: it fits.
    expect((await arrive(config, small.body.uploadId, 1_500_000, 10)).outcome).toBe('PROCESSING');
    const big = await sign(fn, 'alice', { fileSize: 1000 });
    expect((await arrive(config, big.body.uploadId, 500_000, 10)).outcome).toBe('REJECTED');
    const rejected = await getUpload(testDb.db, big.body.uploadId);
    expect(rejected).toMatchObject({ status: 'REJECTED', error: { code: 'QuotaExceeded' } });
    expect(rejected!.error!.message).toMatch(/storedBytes/);
    expect(await storedBytes()).toBe(2_548_576);

    const long = await sign(fn, 'alice', { fileSize: 10 });
    expect((await arrive(config, long.body.uploadId, 10, 80.5)).outcome).toBe('REJECTED');
    expect((await getUpload(testDb.db, long.body.uploadId))!.error!.message).toMatch(/storedSeconds/);
    // Processing may report before NewFileUpload: the file still faces the quotas when it is described.
    const early = await sign(fn, 'alice', { fileSize: 10 });
    const fileId = randomFileId();
    await handle(config, procedureBody({ taskId: 'task-early', fileId, uploadId: early.body.uploadId, status: 'PROCESSING' }));
    expect((await getUpload(testDb.db, early.body.uploadId))!.status).toBe('PROCESSING');
    expect((await arrive(config, early.body.uploadId, 900_000, 5, fileId)).outcome).toBe('REJECTED');
    expect(await getUpload(testDb.db, early.body.uploadId)).toMatchObject({
      status: 'REJECTED',
      error: { code: 'QuotaExceeded' },
    });
    await expectCountersMatchRecount();
  });

  test('one database round trip per signature, new or renewed (counted through the database layer)', async () => {
    const config = loadConfig(
      envFor({ QUOTA_STORED_BYTES: '100000', QUOTA_UPLOADS_PER_DAY: '100', QUOTA_CONCURRENT_UPLOADS: '50' }),
    );
    const counted = countingDatabase(testDb.db);
    const deps = { config, db: counted.db, log };
    const fresh = await issueUploadSignature(deps, 'alice', { fileSize: 10 });
    expect(counted.roundTrips).toBe(1);
    await issueUploadSignature(deps, 'alice', { uploadId: fresh.uploadId });
    expect(counted.roundTrips).toBe(2);
    await expect(issueUploadSignature(deps, 'alice', { fileSize: 100_000 })).rejects.toMatchObject({ code: 'QuotaExceeded' });
    expect(counted.roundTrips).toBe(3);
  });

  test('property: after any sequence of sign / arrive / expire / fail / delete, the counters equal a recount', async () => {
    const config = loadConfig(
      envFor({
        QUOTA_STORED_BYTES: '20000',
        QUOTA_BYTES_PER_DAY: '30000',
        QUOTA_UPLOADS_PER_DAY: '12',
        QUOTA_CONCURRENT_UPLOADS: '4',
      }),
    );
    const users = ['ann', 'ben', 'cat'];
    const command = fc.oneof(
      fc.record({ kind: fc.constant('sign' as const), user: fc.nat(2), size: fc.integer({ min: 1, max: 9000 }) }),
      fc.record({
        kind: fc.constant('arrive' as const),
        pick: fc.nat(),
        size: fc.integer({ min: 1, max: 12000 }),
        duration: fc.double({ min: 0, max: 600, noNaN: true }),
      }),
      fc.record({ kind: fc.constantFrom('expire' as const, 'fail' as const, 'delete' as const), pick: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 25 }), async (commands) => {
        await truncateAll(testDb.db);
        const ids: string[] = [];
        for (const c of commands) {
          if (c.kind === 'sign') {
            const signed = await issueUploadSignature({ config, db: testDb.db, log }, users[c.user]!, { fileSize: c.size }).catch(
              (error: { code?: string }) => {
                if (error.code !== 'QuotaExceeded') throw error;
                return undefined;
              },
            );
            if (signed) ids.push(signed.uploadId);
            continue;
          }
          if (ids.length === 0) continue;
          const uploadId = ids[c.pick % ids.length]!;
          if (c.kind === 'arrive') await arrive(config, uploadId, c.size, Math.round(c.duration * 1000) / 1000);
          else if (c.kind === 'expire') {
            // The cleanup's own expiry, run as if the window had closed long ago.
            await testDb.db.query(`UPDATE uploads SET signature_expires_at = now() - interval '1 day' WHERE upload_id = $1`, [
              uploadId,
            ]);
            await expireIssuedUploads(testDb.db, { maxAgeSeconds: 86_400, graceSeconds: 60 }, 100, new Date());
          } else if (c.kind === 'fail') await updateUpload(testDb.db, uploadId, { status: 'FAILED' }, 'PROCESSING');
          else await updateUpload(testDb.db, uploadId, { status: 'DELETED' });
        }
        const counters = await quotaCounters(testDb.db);
        expect(counters).toEqual(await recountQuotas(testDb.db));
        // And no quota was passed: the stored bytes of each user stay within the limit.
        for (const user of counters.users) expect(user.storedBytes).toBeLessThanOrEqual(20000);
      }),
      { numRuns: usingPostgres ? 25 : 40 },
    );
  }, 120_000);
});

/** The database, counting round trips (each query, and a transaction's BEGIN and COMMIT). */
function countingDatabase(db: Database): { db: Database; readonly roundTrips: number } {
  let roundTrips = 0;
  const wrap = (inner: Queryable): Queryable => ({
    query: (sql, params) => {
      roundTrips++;
      return inner.query(sql, params);
    },
    exec: (sql) => {
      roundTrips++;
      return inner.exec(sql);
    },
  });
  const counted: Database = {
    ...wrap(db),
    engine: db.engine,
    transaction: (fn) => {
      roundTrips += 2;
      return db.transaction((tx) => fn(wrap(tx)));
    },
    close: () => db.close(),
  };
  return {
    db: counted,
    get roundTrips() {
      return roundTrips;
    },
  };
}
