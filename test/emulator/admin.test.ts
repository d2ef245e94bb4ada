/**
 * Issue #20 §10a: `/__admin/*` is for this machine only. A web page (cross-site Origin, a `text/plain` body
 * that needs no preflight), a DNS name rebound to 127.0.0.1 (its own Host) and another host on the network
 * are refused and change nothing; answers carry no CORS headers. Real HTTP requests, raw headers.
 */
import http from 'node:http';
import os from 'node:os';
import { startTestEmulator } from './helpers';
import type { TestEmulator } from './helpers';

let t: TestEmulator;
afterEach(() => t.close());

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: any;
}

function request(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string; address?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: options.address ?? '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/__admin/faults',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            json: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const alwaysFail = JSON.stringify({ api: { internalErrorRate: 1 } });

test('a cross-site page cannot write faults: Origin https://evil.example with text/plain is 403, text/plain alone 415; nothing changes', async () => {
  t = await startTestEmulator();
  const port = t.emulator.port;
  const before = t.emulator.getFaults();

  const fromPage = await request(port, {
    method: 'POST',
    headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
    body: alwaysFail,
  });
  expect(fromPage.status).toBe(403);
  expect(fromPage.json.error.message).toContain('https://evil.example');
  expect(fromPage.headers['access-control-allow-origin']).toBeUndefined();

  const asJson = await request(port, {
    method: 'POST',
    headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
    body: alwaysFail,
  });
  expect(asJson.status).toBe(403);
  const opaque = await request(port, {
    method: 'POST',
    headers: { origin: 'null', 'content-type': 'application/json' },
    body: alwaysFail,
  });
  expect(opaque.status).toBe(403);

  const plain = await request(port, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: alwaysFail });
  expect(plain.status).toBe(415);
  expect(plain.json.error.code).toBe('UnsupportedMediaType');
  const form = await request(port, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: alwaysFail,
  });
  expect(form.status).toBe(415);

  const read = await request(port, { headers: { origin: 'https://evil.example' } });
  expect(read.status).toBe(403);
  const preflight = await request(port, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  });
  expect(preflight.status).toBe(403);
  expect(preflight.headers['access-control-allow-origin']).toBeUndefined();

  expect(t.emulator.getFaults()).toEqual(before);
});

test('a Host other than localhost (DNS rebinding) is refused, for reads and writes', async () => {
  t = await startTestEmulator();
  const port = t.emulator.port;
  const before = t.emulator.getFaults();
  for (const path of ['/__admin/health', '/__admin/faults']) {
    const answer = await request(port, { path, headers: { host: `evil.example:${port}` } });
    expect(answer.status).toBe(403);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  }
  const write = await request(port, {
    method: 'POST',
    headers: { host: 'evil.example', 'content-type': 'application/json' },
    body: alwaysFail,
  });
  expect(write.status).toBe(403);
  expect(t.emulator.getFaults()).toEqual(before);
});

test('local callers still work: JSON from this machine, with or without a localhost Origin, and no CORS headers', async () => {
  t = await startTestEmulator();
  const port = t.emulator.port;
  const variants: Record<string, string>[] = [
    {},
    { origin: `http://127.0.0.1:${port}` },
    { origin: 'http://localhost:8080' },
    { host: `localhost:${port}` },
  ];
  for (const headers of variants) {
    const set = await request(port, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
      body: alwaysFail,
    });
    expect(set.status).toBe(200);
    expect(set.json.api.internalErrorRate).toBe(1);
    expect(set.headers['access-control-allow-origin']).toBeUndefined();
    expect(
      (await request(port, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' })).status,
    ).toBe(200);
  }
  const health = await request(port, { path: '/__admin/health' });
  expect(health).toMatchObject({ status: 200, json: { ok: true } });
  // fetch, as the tests' helpers call it
  const viaFetch = await fetch(`${t.emulator.url}/__admin/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: alwaysFail,
  });
  expect(viaFetch.status).toBe(200);
});

const external = Object.values(os.networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

(external ? test : test.skip)('a peer on the network is refused even with Host 127.0.0.1', async () => {
  t = await startTestEmulator({ host: '0.0.0.0' });
  const answer = await request(t.emulator.port, { address: external, headers: { host: `127.0.0.1:${t.emulator.port}` } });
  expect(answer.status).toBe(403);
  // The rest of the emulator still answers there (VOD's APIs are not local-only).
  expect((await request(t.emulator.port, { address: external, path: '/nope' })).status).toBe(404);
});
