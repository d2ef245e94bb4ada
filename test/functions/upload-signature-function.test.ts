import { getUpload } from '#lib/upload-store';
import { decodeUploadContext } from '#lib/upload-context';
import { verify } from '#lib/upload-signature-codec';
import { openTestDatabase, truncateAll, usingPostgres, type TestDatabase } from '../support/db';
import { functionEnv, TEST_SECRET_KEY } from '../support/env';
import { functionUrlEvent, loadFunction, type HttpMainHandler } from '../support/function';
import { userToken } from '../support/jwt';
import { expectAnswerMatchesOpenApi } from '../support/openapi';

let testDb: TestDatabase;
let handler: HttpMainHandler;

const envFor = (overrides: Record<string, string> = {}) =>
  functionEnv({
    ...(testDb.url ? { DATABASE_URL: testDb.url, DATABASE_POOL_MAX: '10' } : { DATA_DIR: testDb.dataDir }),
    RATE_LIMIT_SIGNATURES: '5',
    UPLOAD_MAX_FILE_SIZE: '1000000',
    ...overrides,
  });

beforeAll(async () => {
  testDb = await openTestDatabase();
  handler = loadFunction('upload-signature', envFor());
}, 60_000);
afterAll(() => testDb.close());
beforeEach(() => truncateAll(testDb.db));

async function call(user: string, body?: unknown, fn: HttpMainHandler = handler) {
  const event = functionUrlEvent('POST', '/upload-signature', body, { authorization: `Bearer ${await userToken(user)}` });
  const result = await fn(event);
  expectAnswerMatchesOpenApi(event, result);
  return { status: result.statusCode, headers: result.headers, body: result.body === '' ? undefined : JSON.parse(result.body) };
}

describe(`upload-signature on ${usingPostgres ? 'PostgreSQL' : 'PGlite'}`, () => {
  test('issues a verifiable signature and records the upload ISSUED', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { status, body } = await call('alice', { fileName: 'holiday.MP4', fileSize: 1234 });
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(['expiresAt', 'signature', 'uploadId']);
    const params = verify(body.signature, TEST_SECRET_KEY);
    expect(params.expireTime - params.currentTimeStamp).toBe(3600);
    expect(params.currentTimeStamp).toBeGreaterThanOrEqual(before);
    expect(new Date(body.expiresAt).getTime()).toBe(params.expireTime * 1000);
    expect(params.vodSubAppId).toBe(1500000001);
    expect(params.procedure).toBeUndefined();
    expect(decodeUploadContext(params.sourceContext)).toEqual({ uploadId: body.uploadId, userId: 'alice' });

    const upload = await getUpload(testDb.db, body.uploadId);
    expect(upload).toMatchObject({ status: 'ISSUED', userId: 'alice', fileName: 'holiday.MP4', fileType: 'mp4', fileSize: 1234 });
  });

  test('the server alone chooses the VOD parameters', async () => {
    const fn = loadFunction(
      'upload-signature',
      envFor({
        UPLOAD_PROCEDURE: 'VideoPipeline',
        UPLOAD_CLASS_ID: '7',
        UPLOAD_STORAGE_REGION: 'ap-chongqing',
        UPLOAD_TASK_PRIORITY: '5',
        UPLOAD_TASK_NOTIFY_MODE: 'Change',
        UPLOAD_ONE_TIME_SIGNATURE: 'true',
        SIGNATURE_VALIDITY_SECONDS: '600',
      }),
    );
    const { status, body } = await call('alice', {}, fn);
    expect(status).toBe(200);
    const params = verify(body.signature, TEST_SECRET_KEY);
    expect(params).toMatchObject({
      procedure: 'VideoPipeline',
      classId: 7,
      storageRegion: 'ap-chongqing',
      taskPriority: 5,
      taskNotifyMode: 'Change',
      oneTimeValid: 1,
    });
    expect(params.expireTime - params.currentTimeStamp).toBe(600);
    expect(decodeUploadContext(params.sessionContext)?.uploadId).toBe(body.uploadId);
    // A client cannot smuggle its own choices in.
    const smuggled = await call('alice', { procedure: 'Other', classId: 1 }, fn);
    expect(smuggled.status).toBe(400);
    expect(smuggled.body.error.field).toBe('procedure');
  });

  test('re-signing: the owner of an ISSUED upload gets a fresh signature for the same upload', async () => {
    const first = await call('alice', {});
    const again = await call('alice', { uploadId: first.body.uploadId.toUpperCase() });
    expect(again.status).toBe(200);
    expect(again.body.uploadId).toBe(first.body.uploadId);
    expect(again.body.signature).not.toBe(first.body.signature);

    expect((await call('mallory', { uploadId: first.body.uploadId })).status).toBe(404);
    expect((await call('alice', { uploadId: '0b9c8bd4-8a8b-4d4e-9a3c-1f1f1f1f1f1f' })).status).toBe(404);
    await testDb.db.query(`UPDATE uploads SET status = 'UPLOADED' WHERE upload_id = $1`, [first.body.uploadId]);
    const late = await call('alice', { uploadId: first.body.uploadId });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('UploadNotPending');
  });

  test.each([
    ['fileSize', { fileSize: 1000001 }],
    ['fileSize', { fileSize: -1 }],
    ['fileSize', { fileSize: '12' }],
    ['fileType', { fileType: 'exe' }],
    ['fileName', { fileName: 'virus.exe' }],
    ['fileName', { fileName: 'a\u0000b.mp4' }],
    ['fileName', { fileName: 'x'.repeat(256) }],
    ['coverType', { coverType: 'svg' }],
    ['uploadId', { uploadId: "1' OR '1'='1" }],
    ['extra', { extra: true }],
  ])('a bad %s is a 400 naming the field, and records nothing', async (field, body) => {
    const { status, body: reply } = await call('alice', body);
    expect(status).toBe(400);
    expect(reply.error).toMatchObject({ code: 'InvalidRequest', field });
    expect(reply.error.message).toContain(field);
    expect((await testDb.db.query('SELECT 1 FROM uploads')).rows).toHaveLength(0);
  });

  test('a token whose user id is not one, or that is no access token, answers 401 with a JSON error, and records nothing', async () => {
    const hostile: [string, string, RegExp][] = [
      ['lone surrogate', await userToken('alice\ud800'), /"sub" claim.*lone surrogate/],
      ['right-to-left override', await userToken('alice\u202Egpj.exe'), /"sub" claim.*format/],
      ['zero width space', await userToken('ali\u200Bce'), /"sub" claim.*format/],
      ['only spaces', await userToken('   '), /"sub" claim.*blank/],
      ['a number', await userToken(123), /"sub" claim.*not a number/],
      ['a refresh token', await userToken('alice', { typ: 'refresh+jwt' }), /not an access token/],
    ];
    for (const [name, token, message] of hostile) {
      const reply = await handler(functionUrlEvent('POST', '/upload-signature', {}, { authorization: `Bearer ${token}` }));
      expectAnswerMatchesOpenApi({ httpMethod: 'POST', path: '/upload-signature' }, reply);
      expect({ name, status: reply.statusCode }).toEqual({ name, status: 401 });
      expect(reply.headers['content-type']).toMatch(/application\/json/);
      expect(JSON.parse(reply.body).error).toMatchObject({ code: 'Unauthorized', message: expect.stringMatching(message) });
    }
    expect((await testDb.db.query('SELECT 1 FROM uploads')).rows).toHaveLength(0);
  });

  test('a body that is not a JSON object is a 400', async () => {
    expect((await call('alice', [1, 2])).status).toBe(400);
    expect((await call('alice', '"text"')).status).toBe(400);
    expect((await call('alice', '{"broken"')).status).toBe(400);
  });

  test('past the per-user limit: 429 with Retry-After, other users unaffected', async () => {
    for (let i = 0; i < 5; i++) expect((await call('alice', {})).status).toBe(200);
    const limited = await call('alice', {});
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.body.error.code).toBe('RateLimited');
    expect((await call('bob', {})).status).toBe(200);
    expect((await testDb.db.query(`SELECT 1 FROM uploads WHERE user_id = 'alice'`)).rows).toHaveLength(5);
  });

  test('200 parallel requests for 20 users: one row per success, no rate-limit overshoot', async () => {
    const fn = loadFunction('upload-signature', envFor({ RATE_LIMIT_SIGNATURES: '7' }));
    const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const tokens = new Map(await Promise.all(users.map(async (u) => [u, await userToken(u)] as const)));
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const user = users[i % 20]!;
        const reply = await fn(
          functionUrlEvent('POST', '/upload-signature', {}, { authorization: `Bearer ${tokens.get(user)}` }),
        );
        expectAnswerMatchesOpenApi({ httpMethod: 'POST', path: '/upload-signature' }, reply);
        return { user, status: reply.statusCode, body: JSON.parse(reply.body) };
      }),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(results.filter((r) => r.status !== 200 && r.status !== 429)).toEqual([]);
    expect(ok).toHaveLength(20 * 7);
    const { rows } = await testDb.db.query<{ user_id: string; upload_id: string }>('SELECT user_id, upload_id FROM uploads');
    expect(rows).toHaveLength(ok.length);
    expect(new Set(rows.map((r) => r.upload_id))).toEqual(new Set(ok.map((r) => r.body.uploadId)));
    for (const user of users) expect(rows.filter((r) => r.user_id === user)).toHaveLength(7);
  });

  test('re-signing has an age limit: past UPLOAD_MAX_AGE_SECONDS it is 409 UploadTooOld, and no signature outlives it', async () => {
    const first = await call('alice', {});
    const age = async (seconds: number) =>
      testDb.db.query(`UPDATE uploads SET created_at = now() - make_interval(secs => $2) WHERE upload_id = $1`, [
        first.body.uploadId,
        seconds,
      ]);
    // Ten minutes before the limit (one day): a signature for those ten minutes, not the usual hour.
    await age(86_400 - 600);
    const near = await call('alice', { uploadId: first.body.uploadId });
    expect(near.status).toBe(200);
    const params = verify(near.body.signature, TEST_SECRET_KEY);
    expect(params.expireTime - params.currentTimeStamp).toBeGreaterThan(590);
    expect(params.expireTime - params.currentTimeStamp).toBeLessThanOrEqual(600);
    // Past it: refused, however often the owner asks.
    await age(86_400 + 1);
    const old = await call('alice', { uploadId: first.body.uploadId });
    expect(old.status).toBe(409);
    expect(old.body.error.code).toBe('UploadTooOld');
    expect(old.body.error.message).toMatch(/86400 s/);
  });

  test('past UPLOAD_MAX_ISSUED_PER_USER a new upload is 429 TooManyPendingUploads; re-signing, other users and closed windows are not held back', async () => {
    const fn = loadFunction('upload-signature', envFor({ RATE_LIMIT_SIGNATURES: '100', UPLOAD_MAX_ISSUED_PER_USER: '3' }));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await call('alice', {}, fn)).body.uploadId);
    const over = await call('alice', {}, fn);
    expect(over.status).toBe(429);
    expect(over.headers['content-type']).toMatch(/application\/json/);
    expect(over.body.error).toMatchObject({ code: 'TooManyPendingUploads', limit: 3 });
    expect((await testDb.db.query(`SELECT 1 FROM uploads WHERE user_id = 'alice'`)).rows).toHaveLength(3);
    // Re-signing an upload the user already has is no new upload.
    expect((await call('alice', { uploadId: ids[0] }, fn)).status).toBe(200);
    expect((await call('bob', {}, fn)).status).toBe(200);
    // A committed upload frees its place; so does one whose window closed (the cleanup expires it).
    await testDb.db.query(`UPDATE uploads SET status = 'UPLOADED' WHERE upload_id = $1`, [ids[1]]);
    expect((await call('alice', {}, fn)).status).toBe(200);
    expect((await call('alice', {}, fn)).status).toBe(429);
    await testDb.db.query(`UPDATE uploads SET signature_expires_at = now() - interval '2 hours' WHERE upload_id = $1`, [ids[2]]);
    expect((await call('alice', {}, fn)).status).toBe(200);
    // 0: no cap.
    const uncapped = loadFunction('upload-signature', envFor({ RATE_LIMIT_SIGNATURES: '100', UPLOAD_MAX_ISSUED_PER_USER: '0' }));
    expect((await call('alice', {}, uncapped)).status).toBe(200);
  });

  test('200 parallel new uploads of one user never pass the cap of ISSUED uploads', async () => {
    const fn = loadFunction('upload-signature', envFor({ RATE_LIMIT_SIGNATURES: '1000', UPLOAD_MAX_ISSUED_PER_USER: '7' }));
    const token = await userToken('greedy');
    const results = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const reply = await fn(functionUrlEvent('POST', '/upload-signature', {}, { authorization: `Bearer ${token}` }));
        return { status: reply.statusCode, body: JSON.parse(reply.body) };
      }),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(7);
    expect(results.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body.error.code}`)).toEqual(
      Array(193).fill('429 TooManyPendingUploads'),
    );
    expect((await testDb.db.query(`SELECT 1 FROM uploads WHERE user_id = 'greedy'`)).rows).toHaveLength(7);
  });
});
