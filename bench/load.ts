/**
 * Load tests against the local stack (loopback only, bounded in count and time):
 *  - signatures: many concurrent POST /upload-signature across many users, each user's requests sent
 *    together (they race for the same window): zero 5xx, one upload row per success, and each user's rate
 *    limit exact (successes = min(requests, limit));
 *  - callbacks: a burst of VOD NewFileUpload callbacks, a share of them duplicates (half of those sent
 *    alongside their original, as a retry racing it): every distinct event applied exactly once, each
 *    upload moved to UPLOADED exactly once.
 * `npm run load` runs the full sizes (2 000 signatures / 100 users, 5 000 callbacks); the test suite runs
 * them smaller (LOAD_SCALE); LOAD_CONCURRENCY and LOAD_UPLOADS_PER_OWNER change their shape (README).
 * With DATABASE_URL or TEST_DATABASE_URL (scripts/with-postgres.sh) it runs on a fresh database of its own
 * on that PostgreSQL server, dropped afterwards; otherwise on PGlite.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from '#lib/db';
import { setLogSink } from '#lib/log';
import { encodeUploadContext } from '#lib/upload-context';
import { Client } from 'pg';
import { startStack, type Stack } from '../local/stack';

/** How long the requests of a phase took (from the client's side), and what they cost this process. */
export interface Latency {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU time of this process (the gateway, the functions, the emulator, PGlite) per request sent. */
  cpuMsPerRequest: number;
}

export interface LoadReport {
  signatures: {
    requests: number;
    /** Requests sent before the phase's time limit (all of them unless it ran out). */
    sent: number;
    users: number;
    limit: number;
    ok: number;
    limited: number;
    serverErrors: number;
    otherErrors: number;
    rows: number;
    usersOverLimit: number;
    seconds: number;
    latency: Latency;
  };
  callbacks: {
    requests: number;
    sent: number;
    distinct: number;
    /** Duplicates sent right after their original, in flight with it. */
    raced: number;
    ok: number;
    serverErrors: number;
    otherErrors: number;
    /** Distinct events recorded with their outcome. */
    applied: number;
    /** The callbacks' uploads that left ISSUED. */
    uploadsUploaded: number;
    /** Moves to UPLOADED in the uploads' timelines: one per upload when each event took effect once. */
    uploadedTransitions: number;
    seconds: number;
    latency: Latency;
  };
}

function latencyOf(durations: number[], cpu?: NodeJS.CpuUsage): Latency {
  const sorted = [...durations].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  const cpuMs = cpu ? (cpu.user + cpu.system) / 1000 : 0;
  return {
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: Math.round(sorted.at(-1) ?? 0),
    cpuMsPerRequest: sorted.length === 0 ? 0 : Math.round((cpuMs / sorted.length) * 10) / 10,
  };
}

/**
 * Runs `count` jobs in order with at most `concurrency` in flight, starting none after `deadline`; returns
 * how many started and how long they took.
 */
async function pool(
  count: number,
  concurrency: number,
  deadline: number,
  job: (i: number) => Promise<void>,
): Promise<{ sent: number; latency: Latency }> {
  let next = 0;
  const durations: number[] = [];
  const cpu = process.cpuUsage();
  const worker = async () => {
    while (next < count && Date.now() < deadline) {
      const started = performance.now();
      await job(next++);
      durations.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { sent: next, latency: latencyOf(durations, process.cpuUsage(cpu)) };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

async function count(db: Database, sql: string): Promise<number> {
  return Number((await db.query<{ n: string }>(sql)).rows[0]!.n);
}

/** Requests in flight at once: the load stack's database pool (more only queue in this one process). */
const CONCURRENCY = 16;
/**
 * Each phase's bound: at least 10 requests a second on average (the slowest measured, PGlite on two busy
 * shared cores, did 18), so only a stall, not a slow machine, runs it out.
 */
const phaseTimeLimitMs = (requests: number) => 30_000 + requests * 100;

export async function runLoad(options: {
  stack: Stack;
  db: Database;
  scale?: number;
  concurrency?: number;
  /** Each phase's time limit (no request starts after it); default from its size. */
  timeLimitMs?: number;
  /** How many of the callbacks' uploads one user owns (default: the rate limit, what one user can have). */
  uploadsPerOwner?: number;
}): Promise<LoadReport> {
  const scale = options.scale ?? 1;
  const concurrency = options.concurrency ?? CONCURRENCY;
  const { stack, db } = options;

  // Signatures: requests spread over users; each user asks more often than the limit allows, and a user's
  // requests are sent one after another, so they are in flight together and race for the same window.
  const users = Math.max(10, Math.round(100 * scale));
  const requests = Math.max(100, Math.round(2000 * scale));
  const perUser = Math.ceil(requests / users);
  const limit = Number(stack.env.RATE_LIMIT_SIGNATURES);
  const tokens = await Promise.all(Array.from({ length: users }, (_, i) => stack.demoToken(`load-user-${i}`)));
  // Windows are aligned to the clock: start the burst well inside one, so each user has exactly one.
  const windowMs = Number(stack.env.RATE_LIMIT_WINDOW_SECONDS) * 1000;
  const intoWindow = Date.now() % windowMs;
  const signingLimitMs = options.timeLimitMs ?? phaseTimeLimitMs(requests);
  if (windowMs - intoWindow < signingLimitMs) await new Promise((resolve) => setTimeout(resolve, windowMs - intoWindow + 1000));
  const signatures = {
    requests,
    sent: 0,
    users,
    limit,
    ok: 0,
    limited: 0,
    serverErrors: 0,
    otherErrors: 0,
    rows: 0,
    usersOverLimit: 0,
    seconds: 0,
    latency: latencyOf([]),
  };
  const okPerUser = new Map<number, number>();
  let started = Date.now();
  const signed = await pool(requests, concurrency, started + signingLimitMs, async (i) => {
    const user = Math.floor(i / perUser);
    const response = await fetch(`${stack.apiUrl}/upload-signature`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[user]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fileName: `clip-${i}.mp4`, fileSize: 1_000_000 }),
    });
    await response.arrayBuffer();
    if (response.status === 200) {
      signatures.ok++;
      okPerUser.set(user, (okPerUser.get(user) ?? 0) + 1);
    } else if (response.status === 429) signatures.limited++;
    else if (response.status >= 500) signatures.serverErrors++;
    else signatures.otherErrors++;
  });
  signatures.seconds = (Date.now() - started) / 1000;
  signatures.sent = signed.sent;
  signatures.latency = signed.latency;
  signatures.rows = await count(db, `SELECT count(*) AS n FROM uploads WHERE user_id LIKE 'load-user-%'`);
  signatures.usersOverLimit = [...okPerUser.values()].filter((n) => n > limit).length;

  // Callbacks: one ISSUED upload per distinct event, owned `uploadsPerOwner` to a user (one user's uploads
  // share the user's quota counter rows), then the burst with duplicates mixed in.
  const total = Math.max(200, Math.round(5000 * scale));
  const distinct = Math.round(total * 0.7);
  const uploadIds = Array.from({ length: distinct }, () => randomUUID());
  await db.query(
    `INSERT INTO uploads (upload_id, user_id, status, signature_expires_at)
     SELECT id::uuid, 'load-callbacks-' || ((n - 1) / $2::int), 'ISSUED', now() + interval '1 hour'
     FROM unnest($1::text[]) WITH ORDINALITY AS t(id, n)`,
    [uploadIds, options.uploadsPerOwner ?? limit],
  );
  // Events 0..duplicates-1 come twice: the first half of them right after their original, the rest anywhere.
  const duplicates = total - distinct;
  const raced = Math.floor(duplicates / 2);
  const deliveries = shuffle([...uploadIds.keys()]).flatMap((n) => (n < raced ? [n, n] : [n]));
  for (let n = raced; n < duplicates; n++) deliveries.splice(Math.floor(Math.random() * (deliveries.length + 1)), 0, n);
  const callbacks = {
    requests: total,
    sent: 0,
    distinct,
    raced,
    ok: 0,
    serverErrors: 0,
    otherErrors: 0,
    applied: 0,
    uploadsUploaded: 0,
    uploadedTransitions: 0,
    seconds: 0,
    latency: latencyOf([]),
  };
  const base = 5285890790000000000n;
  started = Date.now();
  const deliveryLimitMs = options.timeLimitMs ?? phaseTimeLimitMs(total);
  const delivered = await pool(deliveries.length, concurrency, started + deliveryLimitMs, async (i) => {
    const n = deliveries[i]!;
    const body = {
      EventType: 'NewFileUpload',
      FileUploadEvent: {
        FileId: String(base + BigInt(n)),
        MediaBasicInfo: {
          Name: 'clip',
          Type: 'mp4',
          SourceInfo: { SourceType: 'Upload', SourceContext: encodeUploadContext({ uploadId: uploadIds[n]! }) },
        },
      },
    };
    const response = await fetch(`${stack.apiUrl}/vod-events/${stack.secrets.callbackToken}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await response.arrayBuffer();
    if (response.status === 200) callbacks.ok++;
    else if (response.status >= 500) callbacks.serverErrors++;
    else callbacks.otherErrors++;
  });
  callbacks.seconds = (Date.now() - started) / 1000;
  callbacks.sent = delivered.sent;
  callbacks.latency = delivered.latency;
  callbacks.applied = await count(
    db,
    `SELECT count(*) AS n FROM vod_events WHERE event_type = 'NewFileUpload' AND outcome <> 'pending'`,
  );
  callbacks.uploadsUploaded = await count(
    db,
    `SELECT count(*) AS n FROM uploads WHERE user_id LIKE 'load-callbacks-%' AND status <> 'ISSUED'`,
  );
  callbacks.uploadedTransitions = await count(
    db,
    `SELECT count(*) AS n FROM upload_timeline t JOIN uploads u USING (upload_id)
     WHERE u.user_id LIKE 'load-callbacks-%' AND t.to_status = 'UPLOADED'`,
  );
  return { signatures, callbacks };
}

/** What the report shows wrong; empty when every limit was exact and every event took effect once. */
export function loadProblems({ signatures: s, callbacks: c }: LoadReport): string[] {
  const problems: string[] = [];
  if (s.sent < s.requests) problems.push(`signatures: only ${s.sent} of ${s.requests} sent within the time limit`);
  if (s.serverErrors > 0) problems.push(`signatures: ${s.serverErrors} answered 5xx`);
  if (s.rows !== s.ok) problems.push(`signatures: ${s.rows} upload rows for ${s.ok} successes`);
  if (s.usersOverLimit > 0) problems.push(`signatures: ${s.usersOverLimit} users got more than ${s.limit}`);
  if (c.sent < c.requests) problems.push(`callbacks: only ${c.sent} of ${c.requests} sent within the time limit`);
  if (c.serverErrors > 0) problems.push(`callbacks: ${c.serverErrors} answered 5xx`);
  if (c.applied !== c.distinct) problems.push(`callbacks: ${c.applied} events recorded for ${c.distinct} distinct ones`);
  if (c.uploadsUploaded !== c.distinct) problems.push(`callbacks: ${c.uploadsUploaded} of ${c.distinct} uploads moved`);
  if (c.uploadedTransitions !== c.distinct)
    problems.push(`callbacks: ${c.uploadedTransitions} moves to UPLOADED for ${c.distinct} uploads`);
  return problems;
}

/** Runs one statement on the server `url` names (its maintenance database). */
async function onServer(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A new, empty database on the server `serverUrl` names, so counts see this run's rows only. */
async function freshDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `vub_load_${randomBytes(6).toString('hex')}`;
  await onServer(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => onServer(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * The stack as the load test runs it: signatures verified, callbacks not confirmed with VOD (no processing).
 * On a PostgreSQL server (DATABASE_URL, else TEST_DATABASE_URL) the functions and `db` use a fresh database;
 * `stack.close()` closes `db` and drops it.
 */
export async function startLoadStack(dataDir: string): Promise<{ stack: Stack; db: Database }> {
  const serverUrl = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL;
  const fresh = serverUrl ? await freshDatabase(serverUrl) : undefined;
  const stack = await startStack({
    dataDir,
    port: 0,
    emulatorPort: 0,
    timers: false,
    log: () => undefined,
    env: {
      RATE_LIMIT_SIGNATURES: '15',
      // A day: the burst starts well inside one window unless it is almost midnight (UTC).
      RATE_LIMIT_WINDOW_SECONDS: '86400',
      CALLBACK_SIGN_KEYS: '',
      CALLBACK_VERIFY_WITH_VOD: 'false',
      // The emulator is not asked to process here: ProcessMedia is refused at once, uploads go FAILED.
      PIPELINE_TRANSCODE_DEFINITIONS: '100010',
      DATABASE_POOL_MAX: String(CONCURRENCY),
      ...(fresh ? { DATABASE_URL: fresh.url } : {}),
    },
  });
  const db = await openDatabase({ url: fresh?.url, dataDir, poolMax: 4 });
  if (!fresh) return { stack, db };
  // Either may be closed first, and twice (a caller that closes `db` itself, then the stack).
  const closeDb = db.close.bind(db);
  let dbClosed: Promise<void> | undefined;
  db.close = () => {
    dbClosed ??= closeDb();
    return dbClosed;
  };
  const closeStack = stack.close.bind(stack);
  stack.close = async () => {
    await db.close();
    await closeStack();
    await fresh.drop();
  };
  return { stack, db };
}

if (require.main === module) {
  (async () => {
    // The functions' log lines, counted by level and message (thousands of them would bury the report).
    const logged = new Map<string, number>();
    setLogSink((line) => {
      const { level, msg } = JSON.parse(line) as { level: string; msg: string };
      logged.set(`${level}: ${msg}`, (logged.get(`${level}: ${msg}`) ?? 0) + 1);
    });
    const dataDir = mkdtempSync(path.join(tmpdir(), 'vub-load-'));
    const { stack, db } = await startLoadStack(dataDir);
    try {
      const number = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
      const report = await runLoad({
        stack,
        db,
        scale: number('LOAD_SCALE'),
        concurrency: number('LOAD_CONCURRENCY'),
        uploadsPerOwner: number('LOAD_UPLOADS_PER_OWNER'),
      });
      console.log(JSON.stringify({ ...report, logLines: Object.fromEntries(logged) }, null, 2));
      const problems = loadProblems(report);
      for (const problem of problems) console.log(`load: ${problem}`);
      console.log(problems.length === 0 ? 'load: OK' : 'load: FAILED');
      process.exitCode = problems.length === 0 ? 0 : 1;
    } finally {
      await stack.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  })().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
