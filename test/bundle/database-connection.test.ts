/**
 * The bundles' PostgreSQL driver is pg with a few parts replaced by shims (scripts/build.ts `PG_SHIMS`):
 * what a TencentDB connection uses must still work in the built bundle. A throwaway server that accepts
 * only TLS connections with SCRAM-SHA-256 passwords; the bundle reaches it through a DATABASE_URL naming
 * the password, `sslmode=verify-full` and the server's certificate (`sslrootcert`), as README "Deploy" has it.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { distBundle, invokeBundle } from '../support/bundle';
import { functionEnv } from '../support/env';
import { userToken } from '../support/jwt';
import { postgresBinaries } from '../support/pg-server';
import { freePort } from '../support/stack-process';

const bin = postgresBinaries();
if (!bin) console.warn('database-connection test skipped: no PostgreSQL server binaries (apt-get install postgresql)');
const maybe = bin ? test : test.skip;
const PASSWORD = 'scram-password-0123456789';

let dir: string;
let port: number;
const asRoot = process.getuid?.() === 0;
const pgTool = (tool: string, args: string[]) =>
  execFileSync(
    asRoot ? 'runuser' : path.join(bin!, tool),
    asRoot ? ['-u', 'postgres', '--', path.join(bin!, tool), ...args] : args,
    { stdio: 'pipe' },
  );

beforeAll(async () => {
  if (!bin) return;
  if (!existsSync(distBundle('upload-signature'))) throw new Error('dist/ is missing: run `npm run build` first');
  dir = mkdtempSync(path.join(tmpdir(), 'vub-pgtls-'));
  port = await freePort();
  const data = path.join(dir, 'data');
  writeFileSync(path.join(dir, 'pw'), PASSWORD);
  // A certificate for the address the bundle connects to, so verify-full can check it.
  const key = path.join(dir, 'server.key');
  const cert = path.join(dir, 'server.crt');
  const certificate = 'req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1';
  execFileSync('openssl', [...certificate.split(' '), '-keyout', key, '-out', cert], { stdio: 'pipe' });
  chmodSync(key, 0o600);
  if (asRoot) execFileSync('chown', ['-R', 'postgres', dir]);
  pgTool('initdb', ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${path.join(dir, 'pw')}`]);
  // TLS and a SCRAM password, or no connection at all.
  writeFileSync(path.join(data, 'pg_hba.conf'), 'local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n');
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on -c ssl_cert_file=${cert} -c ssl_key_file=${key}`;
  pgTool('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-o', options, 'start']);
}, 60_000);

afterAll(() => {
  if (!bin || !dir) return;
  try {
    pgTool('pg_ctl', ['-D', path.join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  } catch {
    // never started
  }
  rmSync(dir, { recursive: true, force: true });
});

const signatureRequest = (token: string) => ({
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  body: '{}',
  httpMethod: 'POST',
  path: '/upload-signature',
  queryString: {},
});

maybe(
  'the upload-signature bundle signs over TLS (verify-full, sslrootcert) with a SCRAM-SHA-256 password; a wrong password gets no signature',
  async () => {
    const url = (password: string, query: string) => `postgres://postgres:${password}@127.0.0.1:${port}/postgres?${query}`;
    const verified = `sslmode=verify-full&sslrootcert=${encodeURIComponent(path.join(dir, 'server.crt'))}`;
    const token = await userToken('scram-user');
    const run = (databaseUrl: string) =>
      invokeBundle('upload-signature', [signatureRequest(token)], functionEnv({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'info' }));

    const signed = await run(url(PASSWORD, verified));
    expect(signed.results.map((r) => r.statusCode)).toEqual([200]);
    expect(JSON.parse(signed.results[0]!.body).signature).toEqual(expect.any(String));

    const refused = await run(url('wrong-password', verified));
    expect(refused.results[0]!.statusCode).toBeGreaterThanOrEqual(500);
    expect(refused.stdout).toMatch(/password authentication failed/);
    expect(refused.stdout).not.toContain('wrong-password');

    // The server takes nothing but TLS: without it the same password gets nowhere.
    const plain = await run(url(PASSWORD, 'sslmode=disable'));
    expect(plain.results[0]!.statusCode).toBeGreaterThanOrEqual(500);
    expect(plain.stdout).toMatch(/no pg_hba\.conf entry/);
  },
  90_000,
);
