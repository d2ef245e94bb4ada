/**
 * `npm run bench`: figures measured side by side in one run, printed as a table and saved as JSON
 * under bench/results/. Each figure is a ratio against a baseline measured in the same run:
 *  - database statements per request (bench/round-trips.ts), against issue 14's targets;
 *  - the upload-signature bundle (JWT auth, validation, database row, rate limit) vs a same-work minimal
 *    server (bench/minimal.ts: the same JWT check, counter and row in one statement, HMAC signature) on the
 *    same database, and vs the naive signer of Tencent's doc (HMAC only), all behind the same bare HTTP
 *    front, driven by autocannon;
 *  - webhook events/s (vod-events with de-dupe) vs a same-work minimal handler (claim + apply in one
 *    transaction) on the same database, and vs a handler that does nothing;
 *  - each bundle's cold start (bench/cold-start.ts: fresh process, require + first invocation) vs the same handler run
 *    unbundled (transpiled files loading node_modules), and its size;
 *  - a cleanup run's cost on 10 k vs BENCH_CLEANUP_ROWS (1 M) uploads;
 *  - processing (bench/emulator-processing.ts): the default pipeline on a 30 s clip (BENCH_PROCESSING_HEIGHT,
 *    1080) in the emulator vs the same ffmpeg commands run bare;
 *  - upload throughput of a BENCH_UPLOAD_MB (256) MB file through cos-nodejs-sdk-v5 into the emulator vs a
 *    raw HTTP PUT of the same file to a bare Node server;
 *  - recovery (bench/recovery.ts, needs PostgreSQL's server binaries): how many cleanup periods the
 *    slowest of 50 uploads needed after its processing finished, with lossy callbacks and an outage.
 * Set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to also measure against a PostgreSQL server.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { emulatorProcessing, roundTrips } from './child-figures';
import { measureCleanupScale } from './cleanup-scale';
import { measureColdStarts } from './cold-start';
import { measureUploadThroughput } from './emulator-upload';
import { CONNECTIONS, DURATION_S, type LoadResult, load, startServer, webhookLoad } from './http-load';
import { measureRecovery } from './recovery';
import { ROUND_TRIP_TARGETS } from './round-trips';
import { measureWebhooks } from './webhooks';
import { postgresBinaries } from '../test/support/pg-server';
import { SignJWT } from 'jose';
import { Client } from 'pg';

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const UPLOAD_MB = Number(process.env.BENCH_UPLOAD_MB ?? 256);
const CLEANUP_ROWS = Number(process.env.BENCH_CLEANUP_ROWS ?? 1_000_000);
// The processing figure's clip height (30 s, 16:9); 0 leaves it out (at 1080p it takes minutes).
const PROCESSING_HEIGHT = Number(process.env.BENCH_PROCESSING_HEIGHT ?? 1080);
// BENCH_QUICK=1 leaves out everything after the webhook figures (and saves no report).

/** The bench's own database on the server, recreated per run. */
function benchDatabaseUrl(serverUrl: string): string {
  const url = new URL(serverUrl);
  url.pathname = '/vub_bench';
  return url.toString();
}
const JWT_SECRET = 'bench-jwt-secret-that-is-long-enough-0123456789';
const databaseUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;

/**
 * The minimal servers' database: the same server database; for PGlite a folder of their own (one process
 * per folder: the bundle's process may not have let go of its folder yet).
 */
function minimalData(extra: Record<string, string>): Record<string, string> {
  return extra.DATA_DIR ? { DATA_DIR: `${extra.DATA_DIR}-minimal` } : {};
}

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

/** The server process's CPU time per request, where measured (where the floor is on a busy machine). */
const cpuNote = (result: LoadResult) =>
  result.serverCpuMsPerRequest === undefined ? '' : `, ${result.serverCpuMsPerRequest.toFixed(2)} ms CPU/request`;

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
    // Statements per request: on the server when there is one (the deployed engine), else PGlite.
    const trips = await roundTrips(databaseUrl ? { DATABASE_URL: benchDatabaseUrl(databaseUrl) } : {});
    report.roundTrips = trips;
    rows.push([`database statements per request (${trips.engine}, BEGIN/COMMIT included)`, 'statements', '', '', 'target']);
    for (const [name, { statements }] of Object.entries(trips.requests)) {
      const target = ROUND_TRIP_TARGETS[name];
      rows.push([name, String(statements), '', '', target === undefined ? '' : `≤ ${target}`]);
    }
    rows.push([]);

    const signature: Record<string, unknown> = { naive: naiveResult };
    rows.push(['signature endpoint', 'req/s', 'p50 ms', 'p99 ms', 'vs same-work minimal (vs naive)']);
    rows.push([
      'naive doc signer (no auth, no DB)',
      naiveResult.requestsPerSecond.toFixed(0),
      String(naiveResult.p50Ms),
      String(naiveResult.p99Ms),
      '',
    ]);
    for (const [name, extra] of backends) {
      // Side by side on the same database: the minimal server first, then the bundle.
      const minimalServer = await startServer('--minimal-signature', benchEnv({ ...extra, ...minimalData(extra) }));
      const minimal = await load(minimalServer.url, token, minimalServer.child);
      minimalServer.child.kill();
      const server = await startServer(path.join(dist, 'upload-signature', 'index.js'), benchEnv(extra));
      const result = await load(server.url, token, server.child);
      server.child.kill();
      signature[name] = result;
      signature[`${name} minimal`] = minimal;
      for (const [what, r] of [
        [name, result],
        [`${name} minimal`, minimal],
      ] as const) {
        if (r.non2xx > 0 || r.errors > 0) console.warn(`warning: ${what}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      }
      rows.push([
        `same-work minimal server (bench/minimal.ts), ${name}${cpuNote(minimal)}`,
        minimal.requestsPerSecond.toFixed(0),
        String(minimal.p50Ms),
        String(minimal.p99Ms),
        `1.00 (${(minimal.requestsPerSecond / naiveResult.requestsPerSecond).toFixed(3)})`,
      ]);
      rows.push([
        `upload-signature bundle, ${name}${cpuNote(result)}`,
        result.requestsPerSecond.toFixed(0),
        String(result.p50Ms),
        String(result.p99Ms),
        `${(result.requestsPerSecond / minimal.requestsPerSecond).toFixed(2)} (${(result.requestsPerSecond / naiveResult.requestsPerSecond).toFixed(3)})`,
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
    rows.push(['webhook (NewFileUpload events)', 'events/s', 'p50 ms', 'p99 ms', 'vs same-work minimal (vs no-op)']);
    rows.push(['no-op handler', noopResult.requestsPerSecond.toFixed(0), String(noopResult.p50Ms), String(noopResult.p99Ms), '']);
    for (const [name, extra] of backends) {
      const env = benchEnv({ ...extra, CALLBACK_TOKENS: callbackToken, CALLBACK_VERIFY_WITH_VOD: 'false' });
      const minimalServer = await startServer('--minimal-events', { ...env, ...minimalData(extra) });
      const minimal = await webhookLoad(minimalServer.url.replace('/upload-signature', `/vod-events/${callbackToken}`));
      minimalServer.child.kill();
      const server = await startServer(path.join(dist, 'vod-events', 'index.js'), env);
      const result = await webhookLoad(server.url.replace('/upload-signature', `/vod-events/${callbackToken}`));
      server.child.kill();
      webhook[name] = result;
      webhook[`${name} minimal`] = minimal;
      for (const [what, r] of [
        [name, result],
        [`${name} minimal`, minimal],
      ] as const) {
        if (r.non2xx > 0 || r.errors > 0) console.warn(`warning: webhook ${what}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      }
      rows.push([
        `same-work minimal handler (bench/minimal.ts), ${name}`,
        minimal.requestsPerSecond.toFixed(0),
        String(minimal.p50Ms),
        String(minimal.p99Ms),
        `1.00 (${(minimal.requestsPerSecond / noopResult.requestsPerSecond).toFixed(3)})`,
      ]);
      rows.push([
        `vod-events bundle with de-dupe, ${name}`,
        result.requestsPerSecond.toFixed(0),
        String(result.p50Ms),
        String(result.p99Ms),
        `${(result.requestsPerSecond / minimal.requestsPerSecond).toFixed(2)} (${(result.requestsPerSecond / noopResult.requestsPerSecond).toFixed(3)})`,
      ]);
    }
    report.webhook = webhook;

    // BENCH_QUICK=1: the request figures only (round trips, signature, webhook), for trying a change.
    if (!process.env.BENCH_QUICK) {
      rows.push([]);
      rows.push(['cold start (fresh process, median of 5)', 'bundle ms', 'unbundled ms', 'bundled / unbundled', 'bundle KiB']);
      const bundles = await measureColdStarts(
        benchEnv({ DATA_DIR: dataDir, CALLBACK_TOKENS: 'bench-callback-token-0123456789' }),
      );
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

      // Processing: the default pipeline in the emulator vs the same ffmpeg commands run bare (minutes at 1080p).
      if (PROCESSING_HEIGHT > 0) {
        const processing = await emulatorProcessing(PROCESSING_HEIGHT);
        report.processing = processing;
        rows.push([]);
        rows.push([
          `processing, ${processing.procedure}, ${processing.seconds} s ${processing.width}x${processing.height} clip (${processing.commands} ffmpeg commands)`,
          's',
          '',
          '',
          'vs bare ffmpeg',
        ]);
        rows.push([
          'the same ffmpeg commands run bare, one after the other',
          processing.directSeconds.toFixed(1),
          '',
          '',
          '1.00',
        ]);
        rows.push([
          `emulator, ProcessMediaByProcedure → FINISH (outside ffmpeg: ${processing.overheads[0]!.toFixed(1)} s)`,
          processing.emulatorSeconds.toFixed(1),
          '',
          '',
          processing.ratio.toFixed(2),
        ]);
        // The same run's own ffmpeg time: immune to load that changes between the two sides.
        const own = processing.emulatorSeconds - processing.overheads[0]!;
        rows.push([
          'emulator vs its own ffmpeg commands in that run',
          own.toFixed(1),
          '',
          '',
          (processing.emulatorSeconds / own).toFixed(3),
        ]);
      }

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
      rows.push([], ...(await measureWebhooks(databaseUrl && benchDatabaseUrl(databaseUrl))));
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(`${dataDir}-minimal`, { recursive: true, force: true });
  }

  console.log(
    `\nnpm run bench — Node ${process.version}, ${os.cpus().length} cores, ${DURATION_S} s × ${CONNECTIONS} connections\n`,
  );
  const widths = rows.reduce<number[]>((w, row) => w.map((width, i) => Math.max(width, row[i]?.length ?? 0)), [0, 0, 0, 0, 0]);
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
  if (process.env.BENCH_QUICK) return;
  mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  const file = path.join(root, 'bench', 'results', `bench-${Date.now()}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nsaved ${path.relative(root, file)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
