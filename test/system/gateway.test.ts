/**
 * The local stack: the gateway serving the built bundles behind serverless.yml's routes, wired to the
 * emulator. `npm test` builds dist/ first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readFunctions } from '../../local/functions-config';
import { startGateway } from '../../local/gateway';
import { startStack, type Stack } from '../../local/stack';

const root = path.resolve(__dirname, '..', '..');
let stack: Stack;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'vub-stack-'));
  stack = await startStack({ dataDir, port: 0, emulatorPort: 0, timers: false, log: () => undefined });
}, 60_000);
afterAll(async () => {
  await stack.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('serverless.yml declares every function the build produced, with its routes and schedules', () => {
  const functions = readFunctions(path.join(root, 'serverless.yml'));
  const byName = Object.fromEntries(functions.map((f) => [f.name, f]));
  expect(byName['upload-signature']!.routes).toEqual([{ method: 'POST', path: '/upload-signature' }]);
  expect(byName['media-status']!.routes).toEqual([{ method: 'GET', path: '/uploads/{uploadId}' }]);
  expect(byName['vod-events']!.routes[0]).toMatchObject({ method: 'POST' });
  expect(byName.cleanup!.schedules.length).toBeGreaterThan(0);
  for (const fn of functions) expect(fn.bundle).toMatch(/dist\/[\w-]+\/index\.js$/);
});

test('HTTP requests reach the functions as SCF events and come back as HTTP', async () => {
  const token = await stack.demoToken('alice');
  const signed = await fetch(`${stack.apiUrl}/upload-signature`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ fileName: 'clip.mp4' }),
  });
  expect(signed.status).toBe(200);
  const { uploadId } = (await signed.json()) as { uploadId: string };

  const status = await fetch(`${stack.apiUrl}/uploads/${uploadId}`, { headers: { authorization: `Bearer ${token}` } });
  expect(status.status).toBe(200);
  expect(await status.json()).toMatchObject({ uploadId, status: 'ISSUED' });

  // A binary body travels base64-encoded; the function sees bytes and refuses the type.
  const binary = await fetch(`${stack.apiUrl}/upload-signature`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body: Buffer.from([0, 1, 2, 255]),
  });
  expect(binary.status).toBe(415);

  const preflight = await fetch(`${stack.apiUrl}/upload-signature`, {
    method: 'OPTIONS',
    headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' },
  });
  expect(preflight.status).toBe(204);
  expect(preflight.headers.get('access-control-allow-origin')).toBe('*');

  const unknown = await fetch(`${stack.apiUrl}/nothing-here`, { method: 'POST' });
  expect(unknown.status).toBe(404);
  expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('NotFound');
  const wrongMethod = await fetch(`${stack.apiUrl}/upload-signature`, { method: 'PUT' });
  expect(wrongMethod.status).toBe(405);
}, 90_000);

test('the API-gateway event shape is selectable and answered the same way', async () => {
  const functions = readFunctions(path.join(root, 'serverless.yml'));
  const gateway = await startGateway({
    functions,
    env: stack.env,
    eventShape: 'api-gateway',
    timers: false,
    log: () => undefined,
  });
  try {
    const response = await fetch(`${gateway.url}/upload-signature`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await stack.demoToken('bob')}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toHaveProperty('signature');
  } finally {
    await gateway.close();
  }
});

test('the timer function runs and returns its counts', async () => {
  const summary = (await stack.gateway.invokeTimer('cleanup')) as Record<string, unknown>;
  expect(summary).toMatchObject({ eventsPulled: 0, mediaDeleted: 0, outOfTime: false });
});
