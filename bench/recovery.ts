/**
 * Recovery that does not depend on VOD resending anything: uploads through the local stack (a real
 * PostgreSQL server) with PUSH callbacks dropped and duplicated and the database stopped for a while in
 * the middle, the cleanup run every few seconds on a clock that jumps one cleanup period per run (the
 * real period from serverless.yml, every recovery setting at its default). An outage shorter than a
 * period meets one run: the run in its middle. The figure: how many cleanup
 * periods the slowest upload needed after its processing finished in VOD.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { runCleanup } from '#lib/cleanup';
import { loadConfig } from '#lib/config';
import { openDatabase } from '#lib/db';
import { createLogger, setLogSink } from '#lib/log';
import { createVodClient } from '#lib/vod-api';
import { MemoryResumeStore, VodUploader } from '../client/node';
import { parseCron } from '../local/cron';
import { readFunctions } from '../local/functions-config';
import { startStack } from '../local/stack';
import { makeTestClip } from '../scripts/test-clip';
import { startPgServer } from '../test/support/pg-server';
import { freePort } from '../test/support/stack-process';

export interface RecoveryOptions {
  uploads?: number;
  dropRate?: number;
  duplicateRate?: number;
  outageSeconds?: number;
  /** Real time between two cleanup runs (each stands for one cleanup period on the run's clock). */
  tickMs?: number;
}

export interface RecoveryResult {
  uploads: number;
  /** Upload id → final status. */
  statuses: Record<string, string>;
  /** File id → how many tasks VOD has for it. */
  tasksPerFile: Record<string, number>;
  /** Most cleanup runs any upload needed between its processing finishing and READY. */
  slowestPeriods: number;
  periodSeconds: number;
  cleanupRuns: number;
  /** Callbacks the webhook answered 5xx (VOD does not resend those). */
  callbacksAnswered5xx: number;
  callbacksDropped: number;
}

/** The cleanup timer's period, from its cron in serverless.yml. */
function cleanupPeriodSeconds(root: string): number {
  const cleanup = readFunctions(path.join(root, 'serverless.yml')).find((fn) => fn.name === 'cleanup');
  const cron = parseCron(cleanup!.schedules[0]!.cron);
  const first = cron.next(new Date())!;
  return (cron.next(first)!.getTime() - first.getTime()) / 1000;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function measureRecovery(options: RecoveryOptions = {}): Promise<RecoveryResult> {
  const { uploads: count = 50, dropRate = 0.3, duplicateRate = 0.3, outageSeconds = 30, tickMs = 4000 } = options;
  const root = path.resolve(__dirname, '..');
  const work = mkdtempSync(path.join(tmpdir(), 'vub-recovery-'));
  const previousSink = setLogSink(() => undefined);
  const server = startPgServer(await freePort());
  const periodSeconds = cleanupPeriodSeconds(root);
  let stack: Awaited<ReturnType<typeof startStack>> | undefined;
  const db = await openDatabase({ url: server.url, dataDir: 'unused', poolMax: 2 });
  try {
    const clip = makeTestClip(path.join(work, 'clip.mp4'), { width: 160, height: 90, seconds: 1, fps: 10, audio: false });
    stack = await startStack({
      dataDir: path.join(work, 'data'),
      port: 0,
      emulatorPort: 0,
      timers: false,
      log: () => undefined,
      env: {
        DATABASE_URL: server.url,
        LOG_LEVEL: 'error',
        PIPELINE_TRANSCODE_DEFINITIONS: '100010',
        PIPELINE_SNAPSHOT_DEFINITION: '0',
        PIPELINE_COVER_DEFINITION: '0',
        PIPELINE_SPRITE_DEFINITION: '0',
        PIPELINE_ADAPTIVE_DEFINITION: '0',
        RATE_LIMIT_SIGNATURES: '1000',
      },
    });
    const running = stack;
    // A short delay on every callback, so that those of the last uploads before the outage land in it.
    running.emulator.setFaults({ seed: 2026, push: { dropRate, duplicateRate, delayMs: 500 } });
    let callbacksAnswered5xx = 0;
    let callbacksDropped = 0;
    const finishedAt = new Map<string, number>();
    running.emulator.events.on('push', (attempt) => {
      if ((attempt.status ?? 0) >= 500) callbacksAnswered5xx++;
    });
    running.emulator.events.on('pushDropped', () => callbacksDropped++);
    running.emulator.events.on('event', ({ content }) => {
      const change = content.ProcedureStateChangeEvent as { Status?: string; FileId?: string } | null;
      if (content.EventType === 'ProcedureStateChanged' && change?.Status === 'FINISH' && change.FileId)
        finishedAt.set(change.FileId, Date.now());
    });

    // The cleanup timer, run here: the function's own code on its own settings, with a clock that moves
    // one period per run (the database's and VOD's clocks stay real: everything only looks older).
    const config = loadConfig(running.env);
    const vodCalls = createVodClient(config, { timeoutSeconds: 15 });
    const log = createLogger({}, 'error');
    let offsetMs = 0;
    const runStarts: number[] = [];
    const runOnce = async () => {
      offsetMs += periodSeconds * 1000;
      runStarts.push(Date.now());
      await runCleanup({
        config,
        db,
        vod: vodCalls,
        log,
        deadline: Date.now() + config.cleanup.timeBudgetSeconds * 1000,
        clock: () => Date.now() + offsetMs,
      });
    };
    let stopTimer = false;
    let paused = false;
    let current: Promise<void> = Promise.resolve();
    const timer = (async () => {
      while (!stopTimer) {
        await sleep(tickMs);
        if (stopTimer) break;
        if (paused) continue;
        current = runOnce();
        await current;
      }
    })();
    const token = await running.demoToken('recovery');
    const client = new VodUploader({
      apiBaseUrl: running.apiUrl,
      token,
      vodApiUrl: running.emulator.url,
      cosDomain: running.emulator.cosDomain,
      resumeStore: new MemoryResumeStore(),
      stateDir: path.join(work, 'client'),
    });
    const done: Array<{ uploadId: string; fileId: string }> = [];
    const uploadBatches = async (until: number) => {
      while (done.length < until) {
        done.push(...(await Promise.all(Array.from({ length: Math.min(5, until - done.length) }, () => client.upload(clip)))));
      }
    };
    await uploadBatches(Math.floor(count / 2));
    // The outage is shorter than a cleanup period, so one run (in its middle) finds the database gone.
    paused = true;
    await current;
    server.stop();
    await sleep((outageSeconds * 1000) / 2);
    await runOnce();
    await sleep((outageSeconds * 1000) / 2);
    server.start();
    paused = false;
    await uploadBatches(count);

    const statusesNow = async () => {
      const { rows } = await db.query<{ upload_id: string; status: string; status_changed_at: Date | string }>(
        'SELECT upload_id, status, status_changed_at FROM uploads WHERE upload_id = ANY($1::uuid[])',
        [done.map((u) => u.uploadId)],
      );
      return rows;
    };
    // Until every upload is READY, or ten periods passed after the last upload.
    const lastUploadRuns = runStarts.length;
    let rows = await statusesNow();
    while (rows.filter((r) => r.status === 'READY').length < count && runStarts.length < lastUploadRuns + 10) {
      await sleep(tickMs);
      rows = await statusesNow().catch(() => rows);
    }
    stopTimer = true;
    await timer;

    let slowestPeriods = 0;
    const byUpload = new Map(rows.map((r) => [r.upload_id, r]));
    for (const { uploadId, fileId } of done) {
      const row = byUpload.get(uploadId);
      const finished = finishedAt.get(fileId);
      if (row?.status !== 'READY' || finished === undefined) {
        slowestPeriods = Number.POSITIVE_INFINITY;
        continue;
      }
      const readyAt = new Date(row.status_changed_at).getTime();
      const runs = runStarts.filter((start) => start > finished && start <= readyAt).length;
      slowestPeriods = Math.max(slowestPeriods, runs);
    }

    const api = new vod.v20180717.Client({
      credential: { secretId: running.secrets.secretId, secretKey: running.secrets.secretKey },
      region: 'ap-guangzhou',
      profile: { httpProfile: { endpoint: running.emulator.apiEndpoint, protocol: 'http://' } },
    });
    const tasksPerFile: Record<string, number> = {};
    for (const { fileId } of done) tasksPerFile[fileId] = (await api.DescribeTasks({ FileId: fileId })).TaskSet?.length ?? 0;
    return {
      uploads: count,
      statuses: Object.fromEntries(done.map((u) => [u.uploadId, byUpload.get(u.uploadId)?.status ?? 'missing'])),
      tasksPerFile,
      slowestPeriods,
      periodSeconds,
      cleanupRuns: runStarts.length,
      callbacksAnswered5xx,
      callbacksDropped,
    };
  } finally {
    await stack?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    server.destroy();
    setLogSink(previousSink);
    rmSync(work, { recursive: true, force: true });
  }
}
