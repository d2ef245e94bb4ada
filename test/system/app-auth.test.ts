/**
 * `npm start` with the app's sign-in in the shell: a JWKS served here (RS256), the stack started as
 * README says with AUTH_JWKS_URL, issuer, audience and user claim set. It says so, the upload client
 * uploads with a token from that key, tokens from another key or audience are refused, and the demo sign-in
 * refuses with a reason. The same for an HS256 AUTH_JWT_SECRET, in-process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, type KeyLike, SignJWT } from 'jose';
import { setLogSink } from '#lib/log';
import { makeTestClip } from '../../scripts/test-clip';
import { MemoryResumeStore, VodUploader } from '../../client/node';
import { startStack } from '../../local/stack';
import { checkedFetch } from '../support/openapi';
import { freePort, startStackProcess, type StackProcess } from '../support/stack-process';

const work = mkdtempSync(path.join(tmpdir(), 'vub-app-auth-'));
const clip = path.join(work, 'clip.mp4');
const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'video-app';
let jwks: Server;
let jwksUrl: string;
let privateKey: KeyLike;
let stack: StackProcess;
let apiUrl: string;
let vodApi: string;
let cosDomain: string;

const appToken = (uid: string, key: KeyLike | Uint8Array = privateKey, alg = 'RS256') =>
  new SignJWT({ uid })
    .setProtectedHeader({ alg, kid: 'app-key-1', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key);

beforeAll(async () => {
  makeTestClip(clip, { width: 320, height: 180, seconds: 2 });
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  const body = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'app-key-1', alg: 'RS256', use: 'sig' }] });
  jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/.well-known/jwks.json`;

  const [port, emulatorPort] = [await freePort(), await freePort()];
  stack = await startStackProcess({
    PORT: String(port),
    EMULATOR_PORT: String(emulatorPort),
    DATA_DIR: path.join(work, 'data'),
    AUTH_JWKS_URL: jwksUrl,
    AUTH_JWT_ISSUER: ISSUER,
    AUTH_JWT_AUDIENCE: AUDIENCE,
    AUTH_USER_CLAIM: 'uid',
  });
  const output = stack.output();
  apiUrl = /web page and API\s+(\S+)\//.exec(output)![1]!;
  vodApi = /VOD emulator\s+(\S+)/.exec(output)![1]!;
  cosDomain = /--cos-domain (\S+)/.exec(output)![1]!;
}, 90_000);

afterAll(async () => {
  if (stack && stack.child.exitCode === null) stack.child.kill('SIGKILL');
  await new Promise((resolve) => jwks?.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

test('npm start says whose sign-in it uses, and prints no demo token', () => {
  const output = stack.output();
  expect(output).toContain(
    `sign-in: your app's, from the shell (AUTH_JWKS_URL ${jwksUrl}; issuer ${ISSUER}, audience ${AUDIENCE}, user id claim uid)`,
  );
  expect(output).toMatch(/demo sign-in \(\/local\/session\) is off/);
  expect(output).not.toMatch(/bearer token \(24 h\)/);
});

test("the upload client uploads to READY with an RS256 token from the app's JWKS", async () => {
  const result = await new VodUploader({
    apiBaseUrl: apiUrl,
    token: () => appToken('app-user-7'),
    vodApiUrl: vodApi,
    cosDomain,
    resumeStore: new MemoryResumeStore(),
    stateDir: path.join(work, 'client-state'),
    fetch: checkedFetch(apiUrl),
  }).upload(clip, { waitForReady: { timeoutMs: 60_000, intervalMs: 250 } });
  expect(result.status).toBe('READY');
  // The upload is the token's user's: another user of the app does not see it.
  const other = await fetch(`${apiUrl}/uploads/${result.uploadId}`, {
    headers: { authorization: `Bearer ${await appToken('someone-else')}` },
  });
  expect(other.status).toBe(404);
}, 120_000);

test('a token signed with another key, or for another audience, is refused', async () => {
  const stranger = (await generateKeyPair('RS256')).privateKey;
  for (const token of [
    await appToken('app-user-7', stranger),
    await new SignJWT({ uid: 'x' })
      .setProtectedHeader({ alg: 'RS256', kid: 'app-key-1' })
      .setIssuer(ISSUER)
      .setAudience('other-app')
      .setExpirationTime('10m')
      .sign(privateKey),
  ]) {
    const response = await fetch(`${apiUrl}/upload-signature`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
  }
});

test('/local/session refuses with a 409 that says why', async () => {
  const response = await fetch(`${apiUrl}/local/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId: 'demo' }),
  });
  expect(response.status).toBe(409);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('DemoSignInDisabled');
  expect(body.error.message).toMatch(/AUTH_JWKS_URL is set in the shell/);
});

test('AUTH_JWT_SECRET in the environment: HS256 tokens of the app work, the demo sign-in does not', async () => {
  const previousSink = setLogSink(() => undefined);
  const secret = 'an-app-secret-of-at-least-32-characters!';
  const local = await startStack({
    dataDir: path.join(work, 'hs256'),
    port: 0,
    emulatorPort: 0,
    timers: false,
    log: () => undefined,
    env: { AUTH_JWT_SECRET: secret, AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_AUDIENCE: AUDIENCE, AUTH_USER_CLAIM: 'uid' },
  });
  try {
    expect(local.auth).toEqual({ source: 'AUTH_JWT_SECRET', issuer: ISSUER, audience: AUDIENCE, userClaim: 'uid' });
    const token = await appToken('hs-user', new TextEncoder().encode(secret), 'HS256');
    const signed = await fetch(`${local.apiUrl}/upload-signature`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(signed.status).toBe(200);
    await expect(local.demoToken('demo')).rejects.toThrow(/demo sign-in is off/);
    const session = await fetch(`${local.apiUrl}/local/session`, { method: 'POST', body: JSON.stringify({ userId: 'demo' }) });
    expect(session.status).toBe(409);
    expect(((await session.json()) as { error: { message: string } }).error.message).toMatch(
      /AUTH_JWT_SECRET is set in the shell/,
    );
  } finally {
    await local.close();
    setLogSink(previousSink);
  }
}, 60_000);
