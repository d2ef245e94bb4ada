/**
 * `npm run bench`: figures measured side by side in one run, printed as a table and saved as JSON
 * under bench/results/. Each figure is a ratio against a baseline measured in the same run:
 *  - the upload-signature bundle (JWT auth, validation, database row, rate limit) vs the naive signer
 *    of Tencent's doc (HMAC only), both behind the same bare HTTP front, driven by autocannon;
 *  - webhook events/s (vod-events with de-dupe) vs a handler that does nothing;
 *  - each bundle's cold start (bench/cold-start.ts: fresh process, require + first invocation) vs the same handler run
 *    unbundled (transpiled files loading node_modules), and its size;
 *  - a cleanup run's cost on 10 k vs BENCH_CLEANUP_ROWS (1 M) uploads;
 *  - upload throughput of a BENCH_UPLOAD_MB (256) MB file through cos-nodejs-sdk-v5 into the emulator vs a
 *    raw HTTP PUT of the same file to a bare Node server;
 *  - recovery (bench/recovery.ts, needs PostgreSQL's server binaries): how many cleanup periods the
 *    slowest of 50 uploads needed after its processing finished, with lossy callbacks and an outage.
 * Set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to also measure against a PostgreSQL server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { measureCleanupScale } from './cleanup-scale';
import { measureColdStarts } from './cold-start';
import { measureUploadThroughput } from './emulator-upload';
import { measureRecovery } from './recovery';
import { postgresBinaries } from '../test/support/pg-server';
import { SignJWT } from 'jose';
import { Client } from 'pg';

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const DURATION_S = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const UPLOAD_MB = Number(process.env.BENCH_UPLOAD_MB ?? 256);
const CLEANUP_ROWS = Number(process.env.BENCH_CLEANUP_ROWS ?? 1_000_000);

/** The bench's own database on the server, recreated per run. */
function benchDatabaseUrl(serverUrl: string): string {
  const url = new URL(serverUrl);
  url.pathname = '/vub_bench';
  return url.toString();
}
const JWT_SECRET = 'bench-jwt-secret-that-is-long-enough-0123456789';
const databaseUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;

function benchEnv(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    STAGE: 'bench',
    LOG_LEVEL: 'error',
    VOD_SECRET_ID: 'AKIDbenchSecretId000000000000000000',
    VOD_SECRET_KEY: 'benchSecretKey-0123456789abcdef',
    AUTH_JWT_SECRET: JWT_SECRET,
    RATE_LIMIT_SIGNATURES: '1000000',
    // Thousands of new uploads per user in a few seconds: the cap would answer most of them 429.
    UPLOAD_MAX_ISSUED_PER_USER: '0',
    ...extra,
  };
}

async function startServer(target: string, env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'serve-bundle.ts'), target], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/upload-signature`, child };
}

interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

async function webhookLoad(url: string): Promise<LoadResult> {
  // Every request a different file: each one claims a new de-dupe key (none is a duplicate).
  let n = 0;
  const options = {
    url,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json' },
    connections: CONNECTIONS,
    requests: [
      {
        setupRequest: (request: autocannon.Request) => ({
          ...request,
          body: JSON.stringify({
            EventType: 'NewFileUpload',
            FileUploadEvent: {
              FileId: String(5285890780000000000n + BigInt(++n) + BigInt(process.pid) * 1_000_000n),
              MediaBasicInfo: {
                Name: 'clip',
                Type: 'mp4',
                SourceInfo: { SourceType: 'Upload', SourceContext: `uploadId=${crypto.randomUUID()}` },
              },
            },
          }),
        }),
      },
    ],
  };
  await autocannon({ ...options, duration: 1 });
  const result = await autocannon({ ...options, duration: DURATION_S });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

async function load(url: string, token: string): Promise<LoadResult> {
  const options = {
    url,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ fileName: 'clip.mp4', fileSize: 1048576 }),
    connections: CONNECTIONS,
  };
  // Warm-up: the first request opens the database; then JIT, pages and the connection pool.
  const first = await fetch(url, { method: 'POST', headers: options.headers, body: options.body });
  if (first.status !== 200) throw new Error(`${url} answered ${first.status}: ${await first.text()}`);
  await autocannon({ ...options, duration: 1 });
  const result = await autocannon({ ...options, duration: DURATION_S });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

async function main(): Promise<void> {
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('bench-user')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(JWT_SECRET));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vub-bench-'));
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    node: process.version,
    cores: os.cpus().length,
    durationSeconds: DURATION_S,
    connections: CONNECTIONS,
  };
  const rows: string[][] = [];
  try {
    const naive = await startServer('--naive', benchEnv({}));
    const naiveResult = await load(naive.url.replace('/upload-signature', '/'), token);
    naive.child.kill();

    const backends: [string, Record<string, string>][] = [['PGlite', { DATA_DIR: dataDir }]];
    if (databaseUrl) {
      // A clean database per run, so earlier runs' rows do not skew the figures.
      const admin = new Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query('DROP DATABASE IF EXISTS vub_bench WITH (FORCE)');
      await admin.query('CREATE DATABASE vub_bench');
      await admin.end();
    }
    if (databaseUrl) backends.push(['PostgreSQL', { DATABASE_URL: benchDatabaseUrl(databaseUrl), DATABASE_POOL_MAX: '8' }]);
    const signature: Record<string, unknown> = { naive: naiveResult };
    rows.push(['signature endpoint', 'req/s', 'p50 ms', 'p99 ms', 'vs naive (throughput)']);
    rows.push([
      'naive doc signer (no auth, no DB)',
      naiveResult.requestsPerSecond.toFixed(0),
      String(naiveResult.p50Ms),
      String(naiveResult.p99Ms),
      '1.00',
    ]);
    for (const [name, extra] of backends) {
      const server = await startServer(path.join(dist, 'upload-signature', 'index.js'), benchEnv(extra));
      const result = await load(server.url, token);
      server.child.kill();
      signature[name] = result;
      if (result.non2xx > 0 || result.errors > 0)
        console.warn(`warning: ${name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      rows.push([
        `upload-signature bundle, ${name}`,
        result.requestsPerSecond.toFixed(0),
        String(result.p50Ms),
        String(result.p99Ms),
        (result.requestsPerSecond / naiveResult.requestsPerSecond).toFixed(3),
      ]);
    }
    report.signature = signature;

    // Webhook: vod-events with de-dupe on the database vs a handler that does nothing.
    const callbackToken = 'bench-callback-token-0123456789';
    const noop = await startServer('--noop', benchEnv({}));
    const noopResult = await webhookLoad(noop.url.replace('/upload-signature', `/vod-events/${callbackToken}`));
    noop.child.kill();
    const webhook: Record<string, unknown> = { noop: noopResult };
    rows.push([]);
    rows.push(['webhook (NewFileUpload events)', 'events/s', 'p50 ms', 'p99 ms', 'vs no-op handler']);
    rows.push([
      'no-op handler',
      noopResult.requestsPerSecond.toFixed(0),
      String(noopResult.p50Ms),
      String(noopResult.p99Ms),
      '1.00',
    ]);
    for (const [name, extra] of backends) {
      const env = benchEnv({ ...extra, CALLBACK_TOKENS: callbackToken, CALLBACK_VERIFY_WITH_VOD: 'false' });
      const server = await startServer(path.join(dist, 'vod-events', 'index.js'), env);
      const result = await webhookLoad(server.url.replace('/upload-signature', `/vod-events/${callbackToken}`));
      server.child.kill();
      webhook[name] = result;
      if (result.non2xx > 0 || result.errors > 0)
        console.warn(`warning: webhook ${name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      rows.push([
        `vod-events bundle with de-dupe, ${name}`,
        result.requestsPerSecond.toFixed(0),
        String(result.p50Ms),
        String(result.p99Ms),
        (result.requestsPerSecond / noopResult.requestsPerSecond).toFixed(3),
      ]);
    }
    report.webhook = webhook;

    rows.push([]);
    rows.push(['cold start (fresh process, median of 5)', 'bundle ms', 'unbundled ms', 'bundled / unbundled', 'bundle KiB']);
    const bundles = await measureColdStarts(benchEnv({ DATA_DIR: dataDir, CALLBACK_TOKENS: 'bench-callback-token-0123456789' }));
    for (const [name, { sizeKiB, bundled, unbundled: plain }] of Object.entries(bundles)) {
      rows.push([
        name,
        bundled.totalMs.toFixed(1),
        plain.totalMs.toFixed(1),
        (bundled.totalMs / plain.totalMs).toFixed(2),
        sizeKiB.toFixed(1),
      ]);
    }

    // Cleanup cost: the same run on 10 k and on 1 M rows (it should cost what it finds).
    const scale = await measureCleanupScale({
      databaseUrl: databaseUrl ? benchDatabaseUrl(databaseUrl) : undefined,
      large: CLEANUP_ROWS,
    });
    report.cleanupScale = scale;
    rows.push([]);
    rows.push([`cleanup run (${scale.engine}), 100 uploads to expire`, 'ms', '', '', `vs ${scale.smallRows} rows`]);
    rows.push([`table of ${scale.smallRows} uploads`, scale.smallMs.toFixed(1), '', '', '1.00']);
    rows.push([
      `table of ${scale.largeRows} uploads`,
      scale.largeMs.toFixed(1),
      '',
      '',
      (scale.largeMs / scale.smallMs).toFixed(2),
    ]);

    await (await import('./list-uploads')).addListCost(report, rows, {
      databaseUrl: databaseUrl ? benchDatabaseUrl(databaseUrl) : undefined,
      large: CLEANUP_ROWS,
    });
    // Upload: the official COS SDK into the emulator vs a raw HTTP PUT of the same file to a bare server.
    const upload = await measureUploadThroughput(UPLOAD_MB);
    report.upload = upload;
    rows.push([]);
    rows.push([`upload ${UPLOAD_MB} MB on loopback`, 'MB/s', '', '', 'vs raw HTTP PUT']);
    rows.push(['raw HTTP PUT to a bare Node server', upload.rawPut.toFixed(0), '', '', '1.00']);
    rows.push([
      'cos-nodejs-sdk-v5 sliceUploadFile → emulator',
      upload.sliceUploadFile.toFixed(0),
      '',
      '',
      (upload.sliceUploadFile / upload.rawPut).toFixed(2),
    ]);
    rows.push([
      'cos-nodejs-sdk-v5 putObject → emulator',
      upload.putObject.toFixed(0),
      '',
      '',
      (upload.putObject / upload.rawPut).toFixed(2),
    ]);

    // Recovery without VOD resending: cleanup periods the slowest upload needed after its processing finished.
    if (postgresBinaries()) {
      const recovery = await measureRecovery();
      report.recovery = recovery;
      rows.push([]);
      rows.push([
        `recovery, ${recovery.uploads} uploads: 30 % callbacks dropped, 30 % duplicated, 30 s database outage`,
        'periods',
        '',
        '',
        'target',
      ]);
      rows.push([
        `slowest upload, cleanup periods (${recovery.periodSeconds} s) after its processing finished`,
        String(recovery.slowestPeriods),
        '',
        '',
        '≤ 2',
      ]);
    } else {
      rows.push([], ['recovery: skipped (no PostgreSQL server binaries: apt-get install postgresql)']);
    }
    report.bundles = bundles;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }

  console.log(
    `\nnpm run bench — Node ${process.version}, ${os.cpus().length} cores, ${DURATION_S} s × ${CONNECTIONS} connections\n`,
  );
  const widths = rows.reduce<number[]>((w, row) => w.map((width, i) => Math.max(width, row[i]?.length ?? 0)), [0, 0, 0, 0, 0]);
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
  mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  const file = path.join(root, 'bench', 'results', `bench-${Date.now()}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nsaved ${path.relative(root, file)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
