import { randomUUID } from 'node:crypto';
import { callbackSign } from '#lib/callback-auth';
import { setLogSink } from '#lib/log';
import { getUpload, insertIssuedUpload } from '#lib/upload-store';
import { openTestDatabase, truncateAll, type TestDatabase } from '../support/db';
import { functionEnv } from '../support/env';
import { newFileUploadBody } from '../support/events';
import { functionUrlEvent, loadFunction, type HttpMainHandler } from '../support/function';
import { expectAnswerMatchesOpenApi } from '../support/openapi';

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
  expectAnswerMatchesOpenApi(event, result);
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
  const result = await post(fn, '/vod-events', newFileUploadBody({ fileId: '5285890784100000003', uploadId: randomUUID() }), {
    token: TOKEN,
  });
  expect(result.status).toBe(503);
  expect(result.body.error.code).toBe('ServiceUnavailable');
});

test('a missing CALLBACK_TOKENS stops the function at start-up, naming the variable', () => {
  expect(() => loadFunction('vod-events', { ...envFor(), CALLBACK_TOKENS: undefined })).toThrow(/CALLBACK_TOKENS/);
  expect(() => loadFunction('vod-events', { ...envFor(), CALLBACK_TOKENS: 'short' })).toThrow(/CALLBACK_TOKENS/);
});

/** A callback as VOD may send it: raw body text, any headers (names in any case), any query. */
async function deliver(
  fn: HttpMainHandler,
  options: { body: string; headers?: Record<string, string>; query?: Record<string, string>; base64?: boolean; path?: string },
) {
  const event = {
    httpMethod: 'POST',
    path: options.path ?? '/vod-events',
    headers: { 'x-scf-remote-addr': '127.0.0.1', ...options.headers },
    body: options.base64 ? Buffer.from(options.body).toString('base64') : options.body,
    queryString: options.query ?? { token: TOKEN },
    ...(options.base64
      ? { isBase64Encoded: true, requestContext: { requestId: 'apigw-1', path: '/vod-events', httpMethod: 'POST' } }
      : {}),
  };
  const result = await fn(event);
  expectAnswerMatchesOpenApi(event, result);
  return { status: result.statusCode, body: result.body ? JSON.parse(result.body) : undefined };
}

const freshT = () => Math.floor(Date.now() / 1000) + 600;

describe('Sign and T are accepted wherever VOD puts them (vod-protocol/events.md §4.5)', () => {
  const json = { 'content-type': 'application/json' };

  test.each<
    [
      string,
      (
        t: number,
        sign: string,
      ) => { body?: Record<string, unknown>; headers?: Record<string, string>; query?: Record<string, string> },
    ]
  >([
    ['body Sign/T', (t, sign) => ({ body: { Sign: sign, T: t } })],
    ['body sign/t', (t, sign) => ({ body: { sign, t } })],
    ['body SIGN/t as a string', (t, sign) => ({ body: { SIGN: sign, t: String(t) } })],
    ['query Sign/T', (t, sign) => ({ query: { Sign: sign, T: String(t) } })],
    ['query sign/t', (t, sign) => ({ query: { sign, t: String(t) } })],
    ['header Sign/T', (t, sign) => ({ headers: { Sign: sign, T: String(t) } })],
    ['header X-Vod-Sign/X-Vod-T', (t, sign) => ({ headers: { 'X-Vod-Sign': sign, 'X-Vod-T': String(t) } })],
    ['header x-sign/x-t', (t, sign) => ({ headers: { 'x-sign': sign, 'x-t': String(t) } })],
    ['header X-SIGN/X-T', (t, sign) => ({ headers: { 'X-SIGN': sign, 'X-T': String(t) } })],
  ])(
    '%s',
    async (_, place) => {
      const uploadId = await issued();
      const t = freshT();
      const where = place(t, callbackSign(SIGN_KEY, t));
      const body = JSON.stringify({ ...newFileUploadBody({ fileId: '5285890784100000010', uploadId }), ...where.body });
      const forged = place(t, callbackSign('OtherKey', t));
      const forgedBody = JSON.stringify({ ...newFileUploadBody({ fileId: '5285890784100000010', uploadId }), ...forged.body });
      expect(
        (
          await deliver(signed, {
            body: forgedBody,
            headers: { ...json, ...forged.headers },
            query: { token: TOKEN, ...forged.query },
          })
        ).status,
      ).toBe(403);
      expect((await getUpload(testDb.db, uploadId))!.status).toBe('ISSUED');
      expect(
        (await deliver(signed, { body, headers: { ...json, ...where.headers }, query: { token: TOKEN, ...where.query } })).status,
      ).toBe(200);
      expect((await getUpload(testDb.db, uploadId))!.status).toBe('UPLOADED');
    },
    30_000,
  );

  test('the first place carrying both is used: a forged body pair is not rescued by a genuine header pair', async () => {
    const uploadId = await issued();
    const t = freshT();
    const event = newFileUploadBody({ fileId: '5285890784100000011', uploadId });
    const genuine = { 'x-vod-sign': callbackSign(SIGN_KEY, t), 'x-vod-t': String(t) };
    const forgedInBody = JSON.stringify({ ...event, Sign: callbackSign('OtherKey', t), T: t });
    expect((await deliver(signed, { body: forgedInBody, headers: { ...json, ...genuine } })).status).toBe(403);
    // Half a pair in the body does not count as a place: the headers' pair is used.
    const halfInBody = JSON.stringify({ ...event, Sign: callbackSign('OtherKey', t) });
    expect((await deliver(signed, { body: halfInBody, headers: { ...json, ...genuine } })).status).toBe(200);
    expect((await getUpload(testDb.db, uploadId))!.status).toBe('UPLOADED');
  }, 30_000);

  test('no place with a valid pair is still a 403; no token still a 401', async () => {
    const t = freshT();
    const body = JSON.stringify({
      ...newFileUploadBody({ fileId: '5285890784100000012', uploadId: randomUUID() }),
      Sign: callbackSign(SIGN_KEY, t),
    });
    const refused = await deliver(signed, {
      body,
      headers: { ...json, 'x-vod-t': String(t) },
      query: { token: TOKEN, t: String(t) },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/missing/);
    expect(
      (await deliver(signed, { body: '{}', headers: { ...json, sign: callbackSign(SIGN_KEY, t), t: String(t) }, query: {} }))
        .status,
    ).toBe(401);
  });
});

describe('the body is JSON whatever its Content-Type', () => {
  test.each<[string, Record<string, string>]>([
    ['no Content-Type', {}],
    ['text/plain', { 'Content-Type': 'text/plain' }],
    ['text/plain; charset=utf-8', { 'Content-Type': 'text/plain; charset=utf-8' }],
    ['application/x-www-form-urlencoded', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['application/x-www-form-urlencoded; charset=UTF-8', { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' }],
    ['application/json; charset=utf-8', { 'content-type': 'application/json; charset=utf-8' }],
  ])(
    '%s',
    async (_, headers) => {
      const uploadId = await issued();
      const body = JSON.stringify(newFileUploadBody({ fileId: '5285890784100000020', uploadId }));
      expect(await deliver(handler, { body, headers })).toEqual({ status: 200, body: {} });
      expect((await getUpload(testDb.db, uploadId))!.status).toBe('UPLOADED');
    },
    30_000,
  );

  test('a base64-encoded body from SCF, with a text Content-Type', async () => {
    const uploadId = await issued();
    const body = JSON.stringify(newFileUploadBody({ fileId: '5285890784100000021', uploadId }));
    expect((await deliver(handler, { body, headers: { 'Content-Type': 'text/plain' }, base64: true })).status).toBe(200);
    expect((await getUpload(testDb.db, uploadId))!.status).toBe('UPLOADED');
  }, 30_000);

  test('a body that is not JSON at all is a 400 naming the problem', async () => {
    for (const [body, headers] of [
      ['EventType=NewFileUpload&FileId=1', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['hello', { 'content-type': 'text/plain' }],
      ['{"EventType":', {}],
    ] as const) {
      const answer = await deliver(handler, { body, headers });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 'InvalidJson', message: 'The request body is not valid JSON' });
    }
  });
});

describe('CALLBACK_DIAGNOSTICS logs each callback by shape, never a value', () => {
  const diagnosticLines = () =>
    lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'callback shape');

  test('off by default: no shape lines', async () => {
    lines.length = 0;
    await deliver(handler, { body: JSON.stringify({ EventType: 'BrandNewEvent2027' }) });
    expect(diagnosticLines()).toEqual([]);
  });

  test('accepted and refused callbacks: Content-Type, names, where Sign/T were, event type, verdict', async () => {
    const diagnosing = loadFunction('vod-events', envFor({ CALLBACK_SIGN_KEYS: SIGN_KEY, CALLBACK_DIAGNOSTICS: 'true' }));
    lines.length = 0;
    const uploadId = await issued();
    const t = freshT();
    const sign = callbackSign(SIGN_KEY, t);
    const event = newFileUploadBody({ fileId: '5285890784100000030', uploadId });
    const body = JSON.stringify(event);

    expect(
      (await deliver(diagnosing, { body, headers: { 'Content-Type': 'text/plain', 'X-Vod-Sign': sign, 'X-Vod-T': String(t) } }))
        .status,
    ).toBe(200);
    expect((await deliver(diagnosing, { body: JSON.stringify({ ...event, Sign: sign }), headers: {} })).status).toBe(403);
    expect(
      (await deliver(diagnosing, { body: JSON.stringify({ ...event, sign: callbackSign('OtherKey', t), t }), headers: {} }))
        .status,
    ).toBe(403);
    expect(
      (await deliver(diagnosing, { body: 'not json', headers: {}, query: { token: TOKEN, Sign: sign, T: String(t) } })).status,
    ).toBe(400);
    expect((await deliver(diagnosing, { body, headers: {}, query: {} })).status).toBe(401);
    expect((await deliver(diagnosing, { body, headers: {}, query: {}, path: `/vod-events/${OLD_TOKEN}x` })).status).toBe(403);

    const shapes = diagnosticLines();
    expect(shapes).toHaveLength(6);
    expect(shapes[0]).toMatchObject({
      level: 'info',
      contentType: 'text/plain',
      headerNames: expect.arrayContaining(['content-type', 'x-vod-sign', 'x-vod-t']),
      queryNames: ['token'],
      urlAuthAt: 'query',
      bodyKeys: ['EventType', 'FileUploadEvent'],
      signAndTAt: 'header x-vod-sign+x-vod-t',
      eventType: 'NewFileUpload',
      verdict: 'accepted',
      status: 200,
    });
    expect(shapes[1]).toMatchObject({
      contentType: '(none)',
      bodyKeys: ['EventType', 'FileUploadEvent', 'Sign'],
      signAndTAt: 'not found as a pair (only body Sign)',
      verdict: 'refused',
      status: 403,
      reason: 'The callback signature is missing',
    });
    expect(shapes[2]).toMatchObject({
      signAndTAt: 'body sign+t',
      verdict: 'refused',
      status: 403,
      reason: 'The callback signature is not valid (mismatch)',
    });
    expect(shapes[3]).toMatchObject({
      queryNames: ['token', 'Sign', 'T'],
      bodyKeys: '(not read)',
      signAndTAt: 'query Sign+T',
      verdict: 'refused',
      status: 400,
      reason: 'The request body is not valid JSON',
    });
    expect(shapes[4]).toMatchObject({
      urlAuthAt: 'none',
      bodyKeys: '(not read)',
      signAndTAt: 'not found (body not read)',
      eventType: '(none)',
      status: 401,
      reason: 'The callback URL carries no token',
    });
    expect(shapes[5]).toMatchObject({ urlAuthAt: 'path', status: 403, reason: 'The callback token is not valid' });

    // No token, key or Sign anywhere in the log; names only in the shape lines (the event handler's own
    // lines name the upload and file, by design).
    const all = lines.join('\n');
    for (const secret of [TOKEN, OLD_TOKEN, SIGN_KEY, sign]) expect(all).not.toContain(secret);
    const shapeText = JSON.stringify(shapes);
    for (const value of [String(t), uploadId, '5285890784100000030', 'holiday', 'not json', 'alice', 'myqcloud'])
      expect(shapeText).not.toContain(value);
  }, 30_000);

  test('a refused event says which field, not what it held', async () => {
    const diagnosing = loadFunction('vod-events', envFor({ CALLBACK_DIAGNOSTICS: 'true' }));
    lines.length = 0;
    const answer = await deliver(diagnosing, {
      body: JSON.stringify({ EventType: 'NewFileUpload', FileUploadEvent: 'secretvalue' }),
    });
    expect(answer.status).toBe(400);
    const [shape] = diagnosticLines();
    expect(shape).toMatchObject({
      verdict: 'refused',
      status: 400,
      eventType: 'NewFileUpload',
      reason: 'InvalidVodEvent (FileUploadEvent)',
    });
    expect(lines.join('\n')).not.toContain('secretvalue');
  });
});
