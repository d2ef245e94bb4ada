/**
 * The built bundle, required in a fresh Node process, answers both SCF event shapes as deployed.
 * `npm test` builds dist/ before jest runs.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateKeyPair, SignJWT } from 'jose';
import { verify } from '#lib/upload-signature-codec';
import { distBundle, invokeBundle } from '../support/bundle';
import { createTestDatabaseUrl, usingPostgres } from '../support/db';
import { functionEnv, TEST_SECRET_ID, TEST_SECRET_KEY } from '../support/env';
import { userToken } from '../support/jwt';

const apiGateway = (token: string | undefined, body: string, isBase64Encoded = false) => ({
  requestContext: {
    serviceId: 'service-x',
    path: '/upload-signature',
    httpMethod: 'POST',
    requestId: 'apigw-1',
    sourceIp: '10.0.0.1',
    stage: 'release',
  },
  headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  body,
  pathParameters: {},
  queryStringParameters: {},
  headerParameters: {},
  stageVariables: {},
  path: '/upload-signature',
  queryString: {},
  httpMethod: 'POST',
  isBase64Encoded,
});

const functionUrl = (token: string | undefined, body: string) => ({
  headers: {
    'content-type': 'application/json',
    'x-scf-remote-addr': '10.0.0.2',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  },
  body,
  httpMethod: 'POST',
  path: '/upload-signature',
  queryString: {},
});

let dataDir: string;
let dropDatabase: (() => Promise<void>) | undefined;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  if (!existsSync(distBundle('upload-signature')))
    throw new Error('dist/upload-signature/index.js is missing: run `npm run build` first');
  dataDir = mkdtempSync(path.join(tmpdir(), 'vub-data-'));
  let database: Record<string, string> = { DATA_DIR: dataDir };
  if (usingPostgres) {
    const created = await createTestDatabaseUrl();
    dropDatabase = created.drop;
    database = { DATABASE_URL: created.url };
  }
  // A day's window: a slow run must not cross into the next window between the 3rd and 4th signature.
  env = functionEnv({
    ...database,
    RATE_LIMIT_SIGNATURES: '3',
    RATE_LIMIT_WINDOW_SECONDS: '86400',
    HTTP_MAX_BODY_BYTES: '1024',
    LOG_LEVEL: 'info',
  });
});
afterAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  await dropDatabase?.();
});

test('the bundle answers API-gateway and function-URL events, refusing bad callers and bad bodies', async () => {
  const alice = await userToken('alice');
  const expired = await userToken('alice', { expiresIn: Math.floor(Date.now() / 1000) - 3600 });
  const events = [
    apiGateway(alice, Buffer.from(JSON.stringify({ fileName: 'a.mp4' })).toString('base64'), true),
    functionUrl(alice, JSON.stringify({ fileSize: 10 })),
    functionUrl(undefined, '{}'),
    functionUrl('not-a-jwt', '{}'),
    apiGateway(expired, '{}'),
    functionUrl(alice, JSON.stringify({ fileType: 'exe' })),
    functionUrl(alice, JSON.stringify({ fileName: 'x'.repeat(2000) })),
    functionUrl(alice, '{}'),
    functionUrl(alice, '{}'),
  ];
  const { results, stdout } = await invokeBundle('upload-signature', events, env);
  const statuses = results.map((r) => r.statusCode);
  expect(statuses).toEqual([200, 200, 401, 401, 401, 400, 413, 200, 429]);

  const [gw, url] = results;
  expect(gw!.isBase64Encoded).toBe(false);
  expect(url).not.toHaveProperty('isBase64Encoded');
  for (const reply of [gw!, url!]) {
    expect(reply.headers['content-type']).toMatch(/application\/json/);
    const body = JSON.parse(reply.body);
    expect(verify(body.signature, TEST_SECRET_KEY)).toMatchObject({ secretId: TEST_SECRET_ID });
  }
  expect(JSON.parse(results[5]!.body).error).toMatchObject({ code: 'InvalidRequest', field: 'fileType' });
  expect(JSON.parse(results[6]!.body).error.code).toBe('PayloadTooLarge');
  expect(results[8]!.headers['retry-after']).toMatch(/^\d+$/);
  for (const reply of results) expect(() => JSON.parse(reply.body)).not.toThrow();

  // The log lines are JSON, carry request ids, and never a secret or a full signature.
  const lines = stdout.split('\n').filter((l) => l.startsWith('{'));
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.some((l) => JSON.parse(l).requestId === 'req-0')).toBe(true);
  const signatures = results.filter((r) => r.statusCode === 200).map((r) => JSON.parse(r.body).signature as string);
  for (const secret of [TEST_SECRET_KEY, env.AUTH_JWT_SECRET!, alice, ...signatures]) expect(stdout).not.toContain(secret);
}, 60_000);

test('a bad environment fails at start-up naming the variable', async () => {
  await expect(invokeBundle('upload-signature', [], { ...env, VOD_SECRET_KEY: undefined })).rejects.toMatchObject({
    stderr: expect.stringContaining('VOD_SECRET_KEY'),
  });
}, 30_000);

test('the bundle caps ISSUED uploads per user (429 TooManyPendingUploads with the limit) and refuses a bad UPLOAD_MAX_AGE_SECONDS at start-up', async () => {
  const capped = { ...env, RATE_LIMIT_SIGNATURES: '100', UPLOAD_MAX_ISSUED_PER_USER: '2' };
  const carol = await userToken('carol');
  const { results } = await invokeBundle(
    'upload-signature',
    [functionUrl(carol, '{}'), functionUrl(carol, '{}'), functionUrl(carol, '{}')],
    capped,
  );
  expect(results.map((r) => r.statusCode)).toEqual([200, 200, 429]);
  expect(JSON.parse(results[2]!.body).error).toMatchObject({ code: 'TooManyPendingUploads', limit: 2 });
  await expect(
    invokeBundle('upload-signature', [], { ...env, UPLOAD_MAX_AGE_SECONDS: '600', SIGNATURE_VALIDITY_SECONDS: '3600' }),
  ).rejects.toMatchObject({
    stderr: expect.stringContaining('UPLOAD_MAX_AGE_SECONDS'),
  });
}, 60_000);

/** The JSON log lines of a run whose message is `message`. */
const logged = (stdout: string, message: string) =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; error?: { name?: string; code?: string } })
    .filter((line) => line.msg === message);

test("the log names errors by their class, in the minified bundle: this project's and jose's", async () => {
  // A database that refuses connections: 503, logged as the ServiceUnavailableError it is.
  const alice = await userToken('alice');
  const down = await invokeBundle('upload-signature', [functionUrl(alice, '{}')], {
    ...env,
    DATA_DIR: undefined,
    DATABASE_URL: 'postgres://user:pw@127.0.0.1:1/never',
  });
  expect(down.results[0]!.statusCode).toBe(503);
  expect(logged(down.stdout, 'request failed').map((line) => line.error?.name)).toEqual(['ServiceUnavailableError']);

  // An identity provider whose key set is malformed: jose's JWKSInvalid, by that name.
  const keySet = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":"none"}'));
  await new Promise<void>((resolve) => keySet.listen(0, '127.0.0.1', resolve));
  try {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer('https://login.example.com')
      .setAudience('vod-upload')
      .setExpirationTime('10m')
      .sign(privateKey);
    const jwksUrl = `http://127.0.0.1:${(keySet.address() as AddressInfo).port}/jwks`;
    const { results, stdout } = await invokeBundle('upload-signature', [functionUrl(token, '{}')], {
      ...env,
      AUTH_JWT_SECRET: undefined,
      AUTH_JWKS_URL: jwksUrl,
    });
    expect(results[0]!.statusCode).toBe(503);
    expect(logged(stdout, 'JWKS unavailable').map((line) => line.error)).toEqual([
      expect.objectContaining({ name: 'JWKSInvalid', code: 'ERR_JWKS_INVALID' }),
    ]);
  } finally {
    keySet.close();
  }
}, 60_000);
