/**
 * Per-user quotas on a real database (PGlite here; CI reruns test/functions on PostgreSQL): each quota
 * refuses exactly at its limit, parallel signatures never pass one, an arriving file is trued up, and
 * the counters always equal a recount from the uploads table, whatever happens to the uploads.
 */
import fc from 'fast-check';
import { loadConfig, type Config } from '#lib/config';
import type { Database, Queryable } from '#lib/db';
import { handleVodEvent } from '#lib/handle-vod-event';
import { issueUploadSignature } from '#lib/issue-upload-signature';
import { createLogger } from '#lib/log';
import { dayEnd } from '#lib/quota';
import { quotaCounters, recountQuotas } from '#lib/quota-store';
import { expireIssuedUploads } from '#lib/upload-batches';
import { getUpload, updateUpload } from '#lib/upload-store';
import type { VodCalls } from '#lib/vod-api';
import { parseVodEvent } from '#lib/vod-event';
import { openTestDatabase, truncateAll, usingPostgres, type TestDatabase } from '../support/db';
import { functionEnv } from '../support/env';
import { newFileUploadBody, procedureBody } from '../support/events';
import { functionUrlEvent, loadFunction, type HttpMainHandler } from '../support/function';
import { userToken } from '../support/jwt';
import { expectAnswerMatchesOpenApi } from '../support/openapi';

let testDb: TestDatabase;
const log = createLogger({}, 'error');

const envFor = (overrides: Record<string, string> = {}) =>
  functionEnv({
    ...(testDb.url ? { DATABASE_URL: testDb.url, DATABASE_POOL_MAX: '10' } : { DATA_DIR: testDb.dataDir }),
    RATE_LIMIT_SIGNATURES: '1000',
    UPLOAD_MAX_FILE_SIZE: '100000000',
    ...overrides,
  });

beforeAll(async () => {
  testDb = await openTestDatabase();
}, 60_000);
afterAll(() => testDb.close());
beforeEach(() => truncateAll(testDb.db));

async function call(
  fn: HttpMainHandler,
  user: string,
  method: string,
  path: string,
  body?: unknown,
  query?: Record<string, string>,
) {
  const event = functionUrlEvent(method, path, body, { authorization: `Bearer ${await userToken(user)}` });
  if (query) event.queryString = query;
  const result = await fn(event);
  expectAnswerMatchesOpenApi(event, result);
  return { status: result.statusCode, headers: result.headers, body: result.body === '' ? undefined : JSON.parse(result.body) };
}

const sign = (fn: HttpMainHandler, user: string, body: Record<string, unknown> = {}) =>
  call(fn, user, 'POST', '/upload-signature', body);

async function expectCountersMatchRecount(): Promise<void> {
  expect(await quotaCounters(testDb.db)).toEqual(await recountQuotas(testDb.db));
}

/** A file arriving for an upload (VOD's NewFileUpload), with its real size and duration. */
async function arrive(config: Config, uploadId: string, size: number, duration: number, fileId = randomFileId()) {
  const body = newFileUploadBody({ fileId, uploadId, duration, procedureTaskId: 'task' });
  body.FileUploadEvent.MetaData.Size = size;
  return handle(config, body);
}

const randomFileId = () => `5285890${Math.floor(Math.random() * 1e9)}`;
// With a procedure's task id (or a processing event) nothing is asked of VOD.
const handle = (config: Config, body: unknown) =>
  handleVodEvent({ config, db: testDb.db, vod: {} as VodCalls, log }, parseVodEvent(body), { confirmWithVod: false });

const tomorrow = () => dayEnd(new Date().toISOString().slice(0, 10)).toISOString();

describe(`quotas on ${usingPostgres ? 'PostgreSQL' : 'PGlite'}`, () => {
  test('QUOTA_UPLOADS_PER_DAY: the upload past the limit is 429 QuotaExceeded with the day it frees up; nothing written', async () => {
    const fn = loadFunction('upload-signature', envFor({ QUOTA_UPLOADS_PER_DAY: '3' }));
    for (let i = 0; i < 3; i++) expect((await sign(fn, 'alice')).status).toBe(200);
    const over = await sign(fn, 'alice');
    expect(over.status).toBe(429);
    expect(over.body).toEqual({
      error: {
        code: 'QuotaExceeded',
        message: expect.stringMatching(/uploadsPerDay/),
        quota: 'uploadsPerDay',
        limit: 3,
        used: 3,
        resetsAt: tomorrow(),
      },
    });
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect((await testDb.db.query(`SELECT 1 FROM uploads WHERE user_id = 'alice'`)).rows).toHaveLength(3);
    // The refusal counted nothing against the rate limit either.
    expect((await testDb.db.query<{ count: number }>(`SELECT count FROM rate_limits`)).rows.map((r) => Number(r.count))).toEqual([
      3,
    ]);
    expect((await sign(fn, 'bob')).status).toBe(200);
    // Deleting a video gives no daily share back; an upload that expired without a file does.
    const [first] = (await testDb.db.query<{ upload_id: string }>(`SELECT upload_id FROM uploads WHERE user_id = 'alice'`)).rows;
    await updateUpload(testDb.db, first!.upload_id, { status: 'DELETED' });
    expect((await sign(fn, 'alice')).body.error.quota).toBe('uploadsPerDay');
    await testDb.db.query(
      `UPDATE uploads SET status = 'EXPIRED' WHERE upload_id = (SELECT upload_id FROM uploads WHERE user_id = 'alice' AND status = 'ISSUED' LIMIT 1)`,
    );
    expect((await sign(fn, 'alice')).status).toBe(200);
    await expectCountersMatchRecount();
  });

  test('QUOTA_BYTES_PER_DAY: reserved from fileSize, refused one byte past the limit', async () => {
    const fn = loadFunction('upload-signature', envFor({ QUOTA_BYTES_PER_DAY: '1000' }));
    expect((await sign(fn, 'alice', { fileSize: 600 })).status).toBe(200);
    const over = await sign(fn, 'alice', { fileSize: 401 });
    expect(over.status).toBe(429);
    expect(over.body.error).toMatchObject({
      code: 'QuotaExceeded',
      quota: 'bytesPerDay',
      limit: 1000,
      used: 600,
      resetsAt: tomorrow(),
    });
    expect((await sign(fn, 'alice', { fileSize: 400 })).status).toBe(200);
    expect((await sign(fn, 'alice', { fileSize: 1 })).body.error).toMatchObject({ quota: 'bytesPerDay', used: 1000 });
    await expectCountersMatchRecount();
  });

  test('a byte quota makes fileSize required (400 naming the field); without one it stays optional', async () => {
    const fn = loadFunction('upload-signature', envFor({ QUOTA_STORED_BYTES: '1000' }));
    const missing = await sign(fn, 'alice', { fileName: 'a.mp4' });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'InvalidRequest', field: 'fileSize' });
    expect((await testDb.db.query('SELECT 1 FROM uploads')).rows).toHaveLength(0);
    // Re-signing needs no size: the upload's reservation is already made.
    const first = await sign(fn, 'alice', { fileSize: 10 });
    expect((await sign(fn, 'alice', { uploadId: first.body.uploadId })).status).toBe(200);
    const plain = loadFunction('upload-signature', envFor({ QUOTA_UPLOADS_PER_DAY: '10' }));
    expect((await sign(plain, 'alice', {})).status).toBe(200);
  });

  test('QUOTA_STORED_BYTES: held while the upload lives, released when it is deleted, rejected or expired', async () => {
    const fn = loadFunction('upload-signature', envFor({ QUOTA_STORED_BYTES: '1000' }));
    const a = await sign(fn, 'alice', { fileSize: 700 });
    const b = await sign(fn, 'alice', { fileSize: 300 });
    expect(b.status).toBe(200);
    const over = await sign(fn, 'alice', { fileSize: 1 });
    expect(over.status).toBe(429);
    expect(over.body.error).toEqual({
      code: 'QuotaExceeded',
      message: expect.any(String),
      quota: 'storedBytes',
      limit: 1000,
      used: 1000,
    });
    expect(over.headers['retry-after']).toBeUndefined();
    await updateUpload(testDb.db, a.body.uploadId, { status: 'DELETED' });
    expect((await sign(fn, 'alice', { fileSize: 701 })).status).toBe(429);
    expect((await sign(fn, 'alice', { fileSize: 700 })).status).toBe(200);
    await updateUpload(testDb.db, b.body.uploadId, { status: 'REJECTED' });
    expect((await sign(fn, 'alice', { fileSize: 300 })).status).toBe(200);
    await expectCountersMatchRecount();
  });

  test('QUOTA_STORED_SECONDS: a new upload is refused once the live videos reach the limit', async () => {
    const env = envFor({ QUOTA_STORED_SECONDS: '20' });
    const fn = loadFunction('upload-signature', env);
    const config = loadConfig(env);
    const first = await sign(fn, 'alice');
    expect((await arrive(config, first.body.uploadId, 5000, 12.5)).outcome).toBe('PROCESSING');
    const second = await sign(fn, 'alice');
    expect((await arrive(config, second.body.uploadId, 5000, 7.5)).outcome).toBe('PROCESSING');
    const over = await sign(fn, 'alice');
    expect(over.status).toBe(429);
    expect(over.body.error).toMatchObject({ code: 'QuotaExceeded', quota: 'storedSeconds', limit: 20, used: 20 });
    await updateUpload(testDb.db, second.body.uploadId, { status: 'FAILED' });
    expect((await sign(fn, 'alice')).status).toBe(429); // FAILED media stays until the cleanup deletes it
    await updateUpload(testDb.db, second.body.uploadId, { status: 'DELETED' });
    expect((await sign(fn, 'alice')).status).toBe(200);
    await expectCountersMatchRecount();
  });

  test('QUOTA_CONCURRENT_UPLOADS and UPLOAD_MAX_ISSUED_PER_USER are one limit: the smaller binds, with its own code', async () => {
    const quota = loadFunction('upload-signature', envFor({ QUOTA_CONCURRENT_UPLOADS: '2', UPLOAD_MAX_ISSUED_PER_USER: '5' }));
    const ids = [(await sign(quota, 'alice')).body.uploadId, (await sign(quota, 'alice')).body.uploadId];
    const over = await sign(quota, 'alice');
    expect(over.status).toBe(429);
    expect(over.body.error).toEqual({
      code: 'QuotaExceeded',
      message: expect.any(String),
      quota: 'concurrentUploads',
      limit: 2,
      used: 2,
    });
    // A committed upload frees its place; so does one whose window closed (the cleanup expires it).
    await updateUpload(testDb.db, ids[0], { status: 'UPLOADED' });
    expect((await sign(quota, 'alice')).status).toBe(200);
    await testDb.db.query(`UPDATE uploads SET signature_expires_at = now() - interval '2 hours' WHERE upload_id = $1`, [ids[1]]);
    expect((await sign(quota, 'alice')).status).toBe(200);
    expect((await sign(quota, 'alice')).body.error.quota).toBe('concurrentUploads');

    const cap = loadFunction('upload-signature', envFor({ QUOTA_CONCURRENT_UPLOADS: '9', UPLOAD_MAX_ISSUED_PER_USER: '1' }));
    expect((await sign(cap, 'bob')).status).toBe(200);
    expect((await sign(cap, 'bob')).body.error).toMatchObject({ code: 'TooManyPendingUploads', limit: 1 });
    await expectCountersMatchRecount();
  });

  test('the rate limit is still reported first when both it and a quota refuse', async () => {
    const fn = loadFunction('upload-signature', envFor({ RATE_LIMIT_SIGNATURES: '2', QUOTA_UPLOADS_PER_DAY: '1' }));
    expect((await sign(fn, 'alice')).status).toBe(200);
    expect((await sign(fn, 'alice')).body.error.code).toBe('QuotaExceeded');
    expect((await sign(fn, 'alice')).body.error.code).toBe('QuotaExceeded'); // refusals do not count
    const first = (await testDb.db.query<{ upload_id: string }>('SELECT upload_id FROM uploads')).rows[0]!.upload_id;
    expect((await sign(fn, 'alice', { uploadId: first })).status).toBe(200);
    expect((await sign(fn, 'alice')).body.error.code).toBe('RateLimited');
  });

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

  test('GET /me/usage: limits (null when unset), use, and when daily quotas reset; another user only with a service token', async () => {
    const env = envFor({ QUOTA_UPLOADS_PER_DAY: '10', QUOTA_STORED_BYTES: '5000', UPLOAD_MAX_ISSUED_PER_USER: '4' });
    const fn = loadFunction('upload-signature', env);
    const usage = loadFunction('usage', env);
    await sign(fn, 'alice', { fileSize: 1200 });
    await sign(fn, 'alice', { fileSize: 300 });
    const mine = await call(usage, 'alice', 'GET', '/me/usage');
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual({
      userId: 'alice',
      quotas: {
        uploadsPerDay: { limit: 10, used: 2, resetsAt: tomorrow() },
        bytesPerDay: { limit: null, used: 1500, resetsAt: tomorrow() },
        storedBytes: { limit: 5000, used: 1500 },
        storedSeconds: { limit: null, used: 0 },
        concurrentUploads: { limit: 4, used: 2 },
      },
    });
    expect((await call(usage, 'bob', 'GET', '/me/usage')).body.quotas.storedBytes).toEqual({ limit: 5000, used: 0 });
    expect((await call(usage, 'alice', 'GET', '/me/usage', undefined, { userId: 'alice' })).status).toBe(200);
    const other = await call(usage, 'bob', 'GET', '/me/usage', undefined, { userId: 'alice' });
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe('Forbidden');
    expect(JSON.stringify(other.body)).not.toMatch(/1500/);
    expect((await call(usage, 'bob', 'GET', '/me/usage', undefined, { userId: 'x\u0000' })).body.error.field).toBe('userId');
    expect((await call(usage, 'alice', 'POST', '/me/usage')).status).toBe(405);
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
