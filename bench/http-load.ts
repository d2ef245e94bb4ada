/**
 * The request figures' plumbing: a bundle or a minimal server in a process of its own (bench/serve-bundle.ts),
 * and autocannon's load on it (16 connections for 5 s unless BENCH_CONNECTIONS / BENCH_DURATION say otherwise).
 * BENCH_CPU_PROF=<folder> has each server process write a V8 CPU profile there when it is stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';

export const DURATION_S = Number(process.env.BENCH_DURATION ?? 5);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);

export async function startServer(target: string, env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(__dirname, 'serve-bundle.ts'), target], {
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

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  /** CPU time (user + system) the server process spent per request in the measured run; Linux only. */
  serverCpuMsPerRequest?: number;
}

/** A process's CPU time so far in ms (from /proc; undefined where there is none). */
function cpuMs(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** One second of warm-up (JIT, pages, the connection pool), then the measured run. */
async function measured(options: autocannon.Options, server?: ChildProcess): Promise<LoadResult> {
  await autocannon({ ...options, duration: 1 });
  const cpuBefore = cpuMs(server?.pid);
  const result = await autocannon({ ...options, duration: DURATION_S });
  const cpuAfter = cpuMs(server?.pid);
  return {
    ...(cpuBefore === undefined || cpuAfter === undefined || result.requests.total === 0
      ? {}
      : { serverCpuMsPerRequest: (cpuAfter - cpuBefore) / result.requests.total }),
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** NewFileUpload callbacks, every request a different file: each claims a new de-dupe key (none is a duplicate). */
export async function webhookLoad(url: string, server?: ChildProcess): Promise<LoadResult> {
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
  // The first request opens the database (PGlite can take seconds on a loaded machine).
  await fetch(url, { method: 'POST', headers: options.headers, body: JSON.stringify({ EventType: 'WarmUp' }) });
  return measured(options, server);
}

/** New-upload signature requests of one user; `server`: its process, for its CPU time per request. */
export async function load(url: string, token: string, server?: ChildProcess): Promise<LoadResult> {
  const options = {
    url,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ fileName: 'clip.mp4', fileSize: 1048576 }),
    connections: CONNECTIONS,
  };
  // The first request opens the database, and must be a signature.
  const first = await fetch(url, { method: 'POST', headers: options.headers, body: options.body });
  if (first.status !== 200) throw new Error(`${url} answered ${first.status}: ${await first.text()}`);
  return measured(options, server);
}
