/**
 * A small local stack for the upload-client tests: the real `upload-signature` and `media-status`
 * handlers behind a loopback HTTP server (SCF function-URL event shape), one shared in-memory PGlite
 * (lib/db keeps a process-wide registry per data dir, so both functions and the test see the same
 * database), and the VOD emulator. Only loopback; nothing else.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { ScfHttpEvent } from '#lib/http';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { functionEnv, TEST_SECRET_ID, TEST_SECRET_KEY } from '../support/env';
import { loadFunction, type HttpMainHandler } from '../support/function';
import { startTestEmulator, tempDir, writeRandomFile } from '../emulator/helpers';
import type { TestEmulator } from '../emulator/helpers';
import type { StartOptions } from '../../local/emulator/index.ts';

// PGlite needs --experimental-vm-modules under jest (`npm run test:jest` passes it).
const vmModules = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('--experimental-vm-modules'));
export const stackUsable = vmModules || Boolean(process.env.TEST_DATABASE_URL);

export interface RequestLog {
  method: string;
  url: string;
  /** Set when the response has finished (or the connection closed). */
  done: boolean;
}

export interface ClientStack {
  /** Base URL of the backend (signature + status routes). */
  apiUrl: string;
  /** Same routes, but the signature function allows only `limitedSignatures` per user per window. */
  limitedApiUrl: string;
  t: TestEmulator;
  testDb: TestDatabase;
  /** Every request the emulator received (method, url), in arrival order. */
  requests: RequestLog[];
  /** Most part PUTs the emulator was handling at once (reset it to 0 before measuring). */
  maxPartsInFlight: number;
  /** Hook called as each emulator request finishes. */
  onRequestDone?: (request: RequestLog) => void;
  /** Emulator options passed through to `cosDomain`, `vodApiUrl`. */
  cosDomain: string;
  vodApiUrl: string;
  work: string;
  close(): Promise<void>;
}

function toEvent(req: http.IncomingMessage, body: string): ScfHttpEvent {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = { 'x-scf-remote-addr': '127.0.0.1' };
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return {
    httpMethod: req.method ?? 'GET',
    path: url.pathname,
    headers,
    body,
    queryString: Object.fromEntries(url.searchParams),
  };
}

export interface StaticFile {
  contentType: string;
  body: string | Buffer;
}

async function serve(
  routes: (pathname: string) => HttpMainHandler | undefined,
  files: Record<string, StaticFile> = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const file = req.method === 'GET' ? files[new URL(req.url ?? '/', 'http://localhost').pathname] : undefined;
    if (file) {
      res.writeHead(200, { 'content-type': file.contentType, 'cache-control': 'no-store' });
      res.end(file.body);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const event = toEvent(req, Buffer.concat(chunks).toString('utf8'));
      const handler = routes(event.path ?? '/');
      if (!handler) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'NotFound', message: 'no route' } }));
        return;
      }
      handler(event, { request_id: `req-${Math.random().toString(36).slice(2)}` }).then(
        (result) => {
          res.writeHead(result.statusCode, result.headers);
          res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(error));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function startClientStack(
  options: {
    emulator?: Partial<StartOptions>;
    limitedSignatures?: number /** Served by the API server (GET). */;
    files?: Record<string, StaticFile>;
  } = {},
): Promise<ClientStack> {
  const testDb = await openTestDatabase();
  const dbEnv = testDb.url ? { DATABASE_URL: testDb.url } : { DATA_DIR: testDb.dataDir };
  const signature = loadFunction('upload-signature', functionEnv(dbEnv));
  const status = loadFunction('media-status', functionEnv(dbEnv));
  const limited = loadFunction(
    'upload-signature',
    functionEnv({ ...dbEnv, RATE_LIMIT_SIGNATURES: String(options.limitedSignatures ?? 2), RATE_LIMIT_WINDOW_SECONDS: '3600' }),
  );
  const routes = (sig: HttpMainHandler) => (pathname: string) =>
    pathname === '/upload-signature' ? sig : /^\/uploads\/[^/]+$/.test(pathname) ? status : undefined;
  const api = await serve(routes(signature), options.files);
  const limitedApi = await serve(routes(limited));

  const requests: RequestLog[] = [];
  const stack = { maxPartsInFlight: 0 } as ClientStack;
  let partsInFlight = 0;
  const t = await startTestEmulator({
    credentials: [{ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY }],
    onRequest: (r) => {
      const entry: RequestLog = { method: r.method, url: r.url, done: false };
      requests.push(entry);
      const isPart = partPuts([entry]).length > 0;
      if (isPart) stack.maxPartsInFlight = Math.max(stack.maxPartsInFlight, ++partsInFlight);
      return () => {
        if (isPart) partsInFlight -= 1;
        entry.done = true;
        stack.onRequestDone?.(entry);
      };
    },
    ...options.emulator,
  });
  const work = tempDir('vod-client-test-');
  Object.assign(stack, {
    apiUrl: api.url,
    limitedApiUrl: limitedApi.url,
    t,
    testDb,
    requests,
    cosDomain: t.emulator.cosDomain,
    vodApiUrl: t.emulator.url,
    work,
    async close() {
      await api.close();
      await limitedApi.close();
      await t.close();
      await testDb.close();
      fs.rmSync(work, { recursive: true, force: true });
    },
  });
  return stack;
}

/** A file of `size` pseudo-random bytes under the stack's work folder. */
export function makeFile(stack: ClientStack, name: string, size: number, seed = 1): string {
  const file = path.join(stack.work, name);
  writeRandomFile(file, size, seed);
  return file;
}

/** Part PUTs (`PUT …?partNumber=N&uploadId=…`) among the logged requests, as part numbers. */
export function partPuts(requests: RequestLog[]): number[] {
  return requests
    .filter((r) => r.method === 'PUT' && /[?&]partNumber=\d+/.test(r.url))
    .map((r) => Number(/[?&]partNumber=(\d+)/.exec(r.url)![1]));
}

/** InitiateMultipartUpload requests (`POST /key?uploads`). */
export const multipartInits = (requests: RequestLog[]) =>
  requests.filter((r) => r.method === 'POST' && /\?uploads(=|&|$)/.test(r.url));

export const ugcCalls = (requests: RequestLog[], action: string) =>
  requests.filter((r) => r.url.includes(`Action=${action}`)).length;

export interface CosProxy {
  /** Value for the client's `cosDomain`. */
  domain: string;
  /** Body bytes of the part uploads (`PUT …?partNumber=`) forwarded to the emulator so far. */
  partBytes: number;
  close(): Promise<void>;
}

/**
 * A loopback proxy in front of the emulator for COS traffic (point `cosDomain` at `domain`). It counts
 * the part bytes it forwards; `fail` may answer a request itself with an HTTP status (e.g. 503).
 */
export async function startCosProxy(
  targetPort: number,
  fail: (req: { method: string; url: string }) => number | undefined = () => undefined,
): Promise<CosProxy> {
  const proxy = { partBytes: 0 } as CosProxy;
  const server = http.createServer((req, res) => {
    const status = fail({ method: req.method ?? '', url: req.url ?? '' });
    if (status) {
      req.resume();
      req.on('end', () => {
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>injected by the test proxy</Message></Error>`,
        );
      });
      return;
    }
    const upstream = http.request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    if (req.method === 'PUT' && /[?&]partNumber=\d+/.test(req.url ?? '')) {
      req.on('data', (c: Buffer) => {
        proxy.partBytes += c.length;
      });
    }
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  proxy.domain = `127.0.0.1:${port}/cos/{Bucket}/{Region}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
