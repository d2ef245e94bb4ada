/**
 * Per-user quotas on a real database (PGlite here; CI reruns test/functions on PostgreSQL): each quota
 * refuses exactly at its limit (and the rate limit is reported first), and GET /me/usage. Parallel
 * signatures, the true-up of an arriving file and the counters against a recount are in
 * quotas-counters.test.ts.
 */
import { loadConfig } from '#lib/config';
import { updateUpload } from '#lib/upload-store';
import { usingPostgres } from '../support/db';
import { loadFunction } from '../support/function';
import {
  arrive,
  call,
  envFor,
  expectCountersMatchRecount,
  sign,
  testDb,
  tomorrow,
  useQuotaDatabase,
} from '../support/quota-fixture';

useQuotaDatabase();

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
});
