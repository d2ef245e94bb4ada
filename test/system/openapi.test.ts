/** The local gateway serves the OpenAPI document at /openapi.json, with the stack as its server. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildOpenApiDocument } from '#lib/openapi';
import { startStack, type Stack } from '../../local/stack';

let stack: Stack;
const dataDir = mkdtempSync(path.join(tmpdir(), 'vub-openapi-'));

beforeAll(async () => {
  stack = await startStack({ dataDir, port: 0, emulatorPort: 0, timers: false, log: () => undefined });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('GET /openapi.json: the generated document, this stack as its server, readable from any origin', async () => {
  const response = await fetch(`${stack.apiUrl}/openapi.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  expect(response.headers.get('access-control-allow-origin')).toBe('*');
  const served = (await response.json()) as Record<string, unknown>;
  expect(served).toEqual({ ...buildOpenApiDocument(), servers: [{ url: stack.apiUrl, description: 'this local stack' }] });
  expect(Object.keys(served.paths as object).sort()).toEqual([
    '/me/usage',
    '/upload-signature',
    '/uploads',
    '/uploads/{uploadId}',
    '/uploads/{uploadId}/review',
    '/vod-events',
    '/vod-events/{token}',
  ]);
  expect((await fetch(`${stack.apiUrl}/openapi.json`, { method: 'POST' })).status).not.toBe(200);
});
