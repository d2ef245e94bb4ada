/**
 * Load tests against the local stack (loopback only, bounded in count and time):
 *  - signatures: many concurrent POST /upload-signature across many users: zero 5xx, one upload row per
 *    success, and each user's rate limit exact (successes = min(requests, limit));
 *  - callbacks: a burst of VOD NewFileUpload callbacks, a share of them duplicates, over many concurrent
 *    connections: every distinct event applied exactly once.
 * `npm run load` runs the full sizes (2 000 signatures / 100 users, 5 000 callbacks); the test suite runs
 * them smaller (LOAD_SCALE). Set DATABASE_URL to run against a PostgreSQL server instead of PGlite.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from '#lib/db';
import { encodeUploadContext } from '#lib/upload-context';
import { startStack, type Stack } from '../local/stack';

export interface LoadReport {
  signatures: {
    requests: number;
    users: number;
    limit: number;
    ok: number;
    limited: number;
    serverErrors: number;
    otherErrors: number;
    rows: number;
    usersOverLimit: number;
    seconds: number;
  };
  callbacks: {
    requests: number;
    distinct: number;
    ok: number;
    serverErrors: number;
    otherErrors: number;
    applied: number;
    uploadsUploaded: number;
    seconds: number;
  };
}

/** Runs `count` jobs with at most `concurrency` in flight, stopping new ones after `deadline`. */
async function pool(count: number, concurrency: number, deadline: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count && Date.now() < deadline) await job(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export async function runLoad(options: {
  stack: Stack;
  db: Database;
  scale?: number;
  concurrency?: number;
  timeLimitMs?: number;
}): Promise<LoadReport> {
  const scale = options.scale ?? 1;
  const concurrency = options.concurrency ?? 64;
  const deadline = Date.now() + (options.timeLimitMs ?? 120_000);
  const { stack, db } = options;

  // Signatures: requests spread over users; each user asks more often than the limit allows.
  const users = Math.max(10, Math.round(100 * scale));
  const requests = Math.max(100, Math.round(2000 * scale));
  const limit = Number(stack.env.RATE_LIMIT_SIGNATURES);
  const tokens = await Promise.all(Array.from({ length: users }, (_, i) => stack.demoToken(`load-user-${i}`)));
  // Windows are aligned to the clock: start the burst well inside one, so each user has exactly one.
  const windowMs = Number(stack.env.RATE_LIMIT_WINDOW_SECONDS) * 1000;
  const intoWindow = Date.now() % windowMs;
  if (windowMs - intoWindow < 120_000) await new Promise((resolve) => setTimeout(resolve, windowMs - intoWindow + 1000));
  const signatures = {
    requests,
    users,
    limit,
    ok: 0,
    limited: 0,
    serverErrors: 0,
    otherErrors: 0,
    rows: 0,
    usersOverLimit: 0,
    seconds: 0,
  };
  const okPerUser = new Map<number, number>();
  let started = Date.now();
  await pool(requests, concurrency, deadline, async (i) => {
    const user = i % users;
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
  signatures.rows = Number(
    (await db.query<{ n: string }>(`SELECT count(*) AS n FROM uploads WHERE user_id LIKE 'load-user-%'`)).rows[0]!.n,
  );
  signatures.usersOverLimit = [...okPerUser.values()].filter((n) => n > limit).length;

  // Callbacks: one ISSUED upload per distinct event, then the burst with duplicates mixed in.
  const total = Math.max(200, Math.round(5000 * scale));
  const distinct = Math.round(total * 0.7);
  const uploadIds = Array.from({ length: distinct }, () => randomUUID());
  await db.query(
    `INSERT INTO uploads (upload_id, user_id, status, signature_expires_at)
     SELECT id::uuid, 'load-callbacks', 'ISSUED', now() + interval '1 hour' FROM unnest($1::text[]) AS id`,
    [uploadIds],
  );
  const deliveries = [...uploadIds.keys(), ...Array.from({ length: total - distinct }, (_, i) => i % distinct)];
  deliveries.sort(() => Math.random() - 0.5);
  const callbacks = {
    requests: total,
    distinct,
    ok: 0,
    serverErrors: 0,
    otherErrors: 0,
    applied: 0,
    uploadsUploaded: 0,
    seconds: 0,
  };
  const base = 5285890790000000000n;
  started = Date.now();
  await pool(deliveries.length, concurrency, deadline, async (i) => {
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
  callbacks.applied = Number(
    (
      await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM vod_events WHERE event_type = 'NewFileUpload' AND outcome <> 'pending'`,
      )
    ).rows[0]!.n,
  );
  callbacks.uploadsUploaded = Number(
    (await db.query<{ n: string }>(`SELECT count(*) AS n FROM uploads WHERE user_id = 'load-callbacks' AND status <> 'ISSUED'`))
      .rows[0]!.n,
  );
  return { signatures, callbacks };
}

/** The stack as the load test runs it: signatures verified, callbacks not confirmed with VOD (no processing). */
export async function startLoadStack(dataDir: string): Promise<{ stack: Stack; db: Database }> {
  const stack = await startStack({
    dataDir,
    port: 0,
    emulatorPort: 0,
    timers: false,
    log: () => undefined,
    env: {
      RATE_LIMIT_SIGNATURES: '15',
      RATE_LIMIT_WINDOW_SECONDS: '3600',
      CALLBACK_SIGN_KEYS: '',
      CALLBACK_VERIFY_WITH_VOD: 'false',
      // The emulator is not asked to process here: ProcessMedia fails fast, uploads stay UPLOADED.
      PIPELINE_TRANSCODE_DEFINITIONS: '100010',
      DATABASE_POOL_MAX: '16',
      ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    },
  });
  const db = await openDatabase({ url: process.env.DATABASE_URL, dataDir, poolMax: 4 });
  return { stack, db };
}

if (require.main === module) {
  (async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'vub-load-'));
    const { stack, db } = await startLoadStack(dataDir);
    try {
      const report = await runLoad({ stack, db, scale: Number(process.env.LOAD_SCALE ?? 1) });
      console.log(JSON.stringify(report, null, 2));
      const { signatures: s, callbacks: c } = report;
      const ok =
        s.serverErrors === 0 &&
        s.rows === s.ok &&
        s.usersOverLimit === 0 &&
        c.serverErrors === 0 &&
        c.applied === c.distinct &&
        c.uploadsUploaded === c.distinct;
      console.log(ok ? 'load: OK' : 'load: FAILED');
      process.exitCode = ok ? 0 : 1;
    } finally {
      if (process.env.DATABASE_URL) await db.close();
      await stack.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  })().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
