/**
 * Hostile input over real HTTP against the local stack (gateway + built bundles + emulator): malformed
 * JSON, wrong types, huge and deeply nested bodies, unicode and control characters, SQL-looking strings,
 * oversized headers, wrong methods. Every answer must be a 4xx with a JSON error (never a 5xx, never a
 * crash), and no response or log line may carry a secret.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { setLogSink } from '#lib/log';
import { startStack, type Stack } from '../../local/stack';

const RUNS = Number(process.env.HOSTILE_RUNS ?? 150);

let stack: Stack;
let dataDir: string;
let token: string;
const logLines: string[] = [];
let previousSink: (line: string) => void;

beforeAll(async () => {
  previousSink = setLogSink((line) => logLines.push(line));
  dataDir = mkdtempSync(path.join(tmpdir(), 'vub-hostile-'));
  stack = await startStack({
    dataDir,
    port: 0,
    emulatorPort: 0,
    timers: false,
    log: (line) => logLines.push(line),
    env: { LOG_LEVEL: 'info', RATE_LIMIT_SIGNATURES: '100000', HTTP_MAX_BODY_BYTES: '65536' },
  });
  token = await stack.demoToken('fuzzer');
}, 60_000);
afterAll(async () => {
  setLogSink(previousSink);
  await stack.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  body: string;
}

/** A raw request (fetch refuses some of what a hostile client sends). */
function send(method: string, pathname: string, headers: Record<string, string>, body?: Buffer | string): Promise<Reply> {
  const url = new URL(stack.apiUrl);
  return new Promise((resolve, reject) => {
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = request(
      { host: url.hostname, port: url.port, method, path: pathname, headers: { ...headers, ...length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function expectClientError(reply: Reply, context: string): void {
  if (reply.status < 400 || reply.status >= 500)
    throw new Error(`${context}: expected a 4xx, got ${reply.status}: ${reply.body.slice(0, 300)}`);
  let parsed: { error?: { code?: unknown; message?: unknown } };
  try {
    parsed = JSON.parse(reply.body) as typeof parsed;
  } catch {
    throw new Error(`${context}: ${reply.status} with a body that is not JSON: ${reply.body.slice(0, 200)}`);
  }
  expect(typeof parsed.error?.code).toBe('string');
  expect(typeof parsed.error?.message).toBe('string');
}

const routes = () => [
  { method: 'POST', path: '/upload-signature', auth: true },
  { method: 'GET', path: '/uploads/00000000-0000-4000-8000-000000000000', auth: true },
  { method: 'POST', path: `/vod-events/${stack.secrets.callbackToken}`, auth: false },
];

const hostileValue = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom(
    "'; DROP TABLE uploads; --",
    '" OR 1=1 --',
    '\u0000',
    '\u202e\u0000\ud800',
    '../../etc/passwd',
    '%00',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a log-injection probe, meant literally
    '${jndi:ldap://x}',
    '<script>',
  ),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
);

test('random JSON bodies with hostile values are refused with a JSON 4xx', async () => {
  const uploadFields = ['uploadId', 'fileName', 'fileSize', 'fileType', 'coverType', 'extra'];
  const eventShapes = ['NewFileUpload', 'ProcedureStateChanged', 'FileDeleted', 'X'];
  await fc.assert(
    fc.asyncProperty(
      fc.nat({ max: 2 }),
      fc.dictionary(fc.constantFrom(...uploadFields, 'EventType', 'FileUploadEvent', 'ProcedureStateChangeEvent'), hostileValue, {
        minKeys: 1,
      }),
      fc.constantFrom(...eventShapes),
      async (which, body, eventType) => {
        const route = routes()[which]!;
        if (route.method === 'GET') return;
        const payload = route.auth
          ? body
          : {
              ...body,
              EventType: body.EventType ?? eventType,
              FileUploadEvent: body.FileUploadEvent ?? { FileId: body.fileName },
            };
        const reply = await send(
          route.method,
          route.path,
          { 'content-type': 'application/json', ...(route.auth ? { authorization: `Bearer ${token}` } : {}) },
          JSON.stringify(payload),
        );
        // Some generated bodies are valid (e.g. `{ fileSize: 1 }`, or an event of an unknown type): those
        // succeed, with a JSON answer.
        if (reply.status === 200) {
          expect(() => JSON.parse(reply.body)).not.toThrow();
          return;
        }
        expectClientError(reply, `${route.path} ${JSON.stringify(payload).slice(0, 200)}`);
      },
    ),
    { numRuns: RUNS },
  );
}, 120_000);

test('broken syntax, huge and deeply nested bodies, odd content types, wrong methods, oversized headers', async () => {
  const cases: Array<[string, string, Record<string, string>, string | Buffer | undefined]> = [];
  for (const route of routes()) {
    const auth: Record<string, string> = route.auth ? { authorization: `Bearer ${token}` } : {};
    cases.push([route.method, route.path, { ...auth, 'content-type': 'application/json' }, '{"a":']);
    cases.push([
      route.method,
      route.path,
      { ...auth, 'content-type': 'application/json' },
      Buffer.from([0xff, 0xfe, 0x7b, 0x7d]),
    ]);
    cases.push([
      route.method,
      route.path,
      { ...auth, 'content-type': 'application/json' },
      `${'['.repeat(50_000)}${']'.repeat(50_000)}`,
    ]);
    cases.push([
      route.method,
      route.path,
      { ...auth, 'content-type': 'application/json' },
      JSON.stringify({ fileName: 'x'.repeat(200_000) }),
    ]);
    cases.push([route.method, route.path, { ...auth, 'content-type': 'text/plain' }, 'hello']);
    cases.push(['DELETE', route.path, auth, undefined]);
    cases.push(['PATCH', route.path, { ...auth, 'content-type': 'application/json' }, '{}']);
  }
  cases.push([
    'POST',
    '/upload-signature',
    { authorization: `Bearer ${'x'.repeat(8000)}`, 'content-type': 'application/json' },
    '{}',
  ]);
  cases.push([
    'POST',
    '/upload-signature',
    { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'content-type': 'application/json' },
    '{}',
  ]);
  cases.push(['GET', "/uploads/'%20OR%20'1'='1", { authorization: `Bearer ${token}` }, undefined]);
  cases.push(['GET', '/uploads/%E0%A4%A', { authorization: `Bearer ${token}` }, undefined]);
  cases.push(['POST', '/vod-events', { 'content-type': 'application/json' }, '{}']);
  cases.push(['POST', '/vod-events/not-the-token-0123456789', { 'content-type': 'application/json' }, '{}']);
  for (const [method, pathname, headers, body] of cases) {
    const reply = await send(method, pathname, headers, body);
    expectClientError(reply, `${method} ${pathname}`);
  }
}, 120_000);

test('paths no file can have (a NUL, a malformed escape) are a JSON 400, not a server error', async () => {
  for (const pathname of ['/%00', '/index.html%00', '/a%00b/c', '/%E0%A4%A', '/%']) {
    const reply = await send('GET', pathname, {}, undefined);
    expect({ pathname, status: reply.status }).toEqual({ pathname, status: 400 });
    expectClientError(reply, `GET ${pathname}`);
  }
});

test('no response body or log line carries a secret', () => {
  const secrets = [stack.secrets.secretKey, stack.secrets.jwtSecret, stack.secrets.callbackToken, stack.secrets.signKey, token];
  const logs = logLines.join('\n');
  expect(logs.length).toBeGreaterThan(0);
  for (const secret of secrets) expect(logs).not.toContain(secret);
});
