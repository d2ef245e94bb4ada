import { randomUUID } from 'node:crypto';
import { callbackSign } from '#lib/callback-auth';
import { setLogSink } from '#lib/log';
import { getUpload, insertIssuedUpload } from '#lib/upload-store';
import { openTestDatabase, truncateAll, type TestDatabase } from '../support/db';
import { functionEnv } from '../support/env';
import { newFileUploadBody } from '../support/events';
import { functionUrlEvent, loadFunction, type HttpMainHandler } from '../support/function';

const TOKEN = 'callback-token-0123456789abcdef';
const OLD_TOKEN = 'previous-token-0123456789abcdef';
const SIGN_KEY = 'SignKey2026abc';

let testDb: TestDatabase;
let handler: HttpMainHandler;
let signed: HttpMainHandler;
const lines: string[] = [];
let previousSink: (line: string) => void;

const envFor = (overrides: Record<string, string> = {}) =>
  functionEnv({
    ...(testDb.url ? { DATABASE_URL: testDb.url } : { DATA_DIR: testDb.dataDir }),
    CALLBACK_TOKENS: `${TOKEN},${OLD_TOKEN}`,
    CALLBACK_VERIFY_WITH_VOD: 'false',
    // ProcessMedia goes nowhere fast: the upload stays UPLOADED, which is all these tests look at.
    VOD_API_ENDPOINT: '127.0.0.1:9',
    VOD_API_PROTOCOL: 'http://',
    LOG_LEVEL: 'info',
    ...overrides,
  });

beforeAll(async () => {
  previousSink = setLogSink((line) => lines.push(line));
  testDb = await openTestDatabase();
  handler = loadFunction('vod-events', envFor());
  signed = loadFunction('vod-events', envFor({ CALLBACK_SIGN_KEYS: SIGN_KEY }));
}, 60_000);
afterAll(async () => {
  setLogSink(previousSink);
  await testDb.close();
});
beforeEach(() => truncateAll(testDb.db));

async function post(fn: HttpMainHandler, path: string, body: unknown, query: Record<string, string> = {}) {
  const event = functionUrlEvent('POST', path, body);
  event.queryString = query;
  const result = await fn(event);
  return { status: result.statusCode, body: result.body ? JSON.parse(result.body) : undefined };
}

async function issued(): Promise<string> {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 3600_000) });
  return uploadId;
}

test('the URL token is required, compared against every configured token, in the query or as a path suffix', async () => {
  const uploadId = await issued();
  const body = newFileUploadBody({ fileId: '5285890784100000001', uploadId });
  expect((await post(handler, '/vod-events', body)).status).toBe(401);
  expect((await post(handler, '/vod-events', body, { token: 'wrong-token-0123456789abcdef' })).status).toBe(403);
  expect((await post(handler, '/vod-events/wrong-token-0123456789abcdef', body)).status).toBe(403);
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('ISSUED');

  expect((await post(handler, `/vod-events/${OLD_TOKEN}`, body)).status).toBe(200);
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('UPLOADED');
  expect(await post(handler, '/vod-events', body, { token: TOKEN })).toEqual({ status: 200, body: {} });
}, 30_000);

test('with a SignKey, Sign = md5(SignKey + T) must match and T must not have passed', async () => {
  const uploadId = await issued();
  const body = newFileUploadBody({ fileId: '5285890784100000002', uploadId });
  const t = Math.floor(Date.now() / 1000) + 600;
  const query = { token: TOKEN };
  expect((await post(signed, '/vod-events', body, query)).status).toBe(403);
  expect((await post(signed, '/vod-events', { ...body, T: t, Sign: callbackSign('OtherKey', t) }, query)).status).toBe(403);
  const stale = Math.floor(Date.now() / 1000) - 5;
  const replay = await post(signed, '/vod-events', { ...body, T: stale, Sign: callbackSign(SIGN_KEY, stale) }, query);
  expect(replay.status).toBe(403);
  expect(replay.body.error.message).toMatch(/expired/);
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('ISSUED');
  expect((await post(signed, '/vod-events', { ...body, T: t, Sign: callbackSign(SIGN_KEY, t) }, query)).status).toBe(200);
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('UPLOADED');
}, 30_000);

test('malformed bodies are 400s naming the problem; unknown event types are acknowledged', async () => {
  const query = { token: TOKEN };
  const broken = await post(handler, '/vod-events', '{"EventType":', query);
  expect(broken.status).toBe(400);
  const wrongShape = await post(handler, '/vod-events', { EventType: 'NewFileUpload', FileUploadEvent: { FileId: 42 } }, query);
  expect(wrongShape.status).toBe(400);
  expect(wrongShape.body.error.message).toMatch(/FileId/);
  expect((await post(handler, '/vod-events', { EventType: 'BrandNewEvent2027' }, query)).status).toBe(200);
  expect((await post(handler, '/vod-events', [], query)).status).toBe(400);
});

test('no log line carries the callback token or the sign key', () => {
  const all = lines.join('\n');
  expect(all.length).toBeGreaterThan(0);
  for (const secret of [TOKEN, OLD_TOKEN, SIGN_KEY]) expect(all).not.toContain(secret);
});

test('an unreachable database is a 503 (VOD or the pump delivers the event again), not a 200 or a crash', async () => {
  const fn = loadFunction('vod-events', { ...envFor(), DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none', DATA_DIR: undefined });
  const result = await post(fn, '/vod-events', newFileUploadBody({ fileId: '5285890784100000003', uploadId: randomUUID() }), { token: TOKEN });
  expect(result.status).toBe(503);
  expect(result.body.error.code).toBe('ServiceUnavailable');
});

test('a missing CALLBACK_TOKENS stops the function at start-up, naming the variable', () => {
  expect(() => loadFunction('vod-events', { ...envFor(), CALLBACK_TOKENS: undefined })).toThrow(/CALLBACK_TOKENS/);
  expect(() => loadFunction('vod-events', { ...envFor(), CALLBACK_TOKENS: 'short' })).toThrow(/CALLBACK_TOKENS/);
});
