/**
 * Does a cleanup run cost what it finds, not what the tables hold? The same run (nothing to repair,
 * 100 uploads to expire) timed on a table of SMALL finished uploads and again after growing it to LARGE
 * rows. With keyset-paged, indexed queries the ratio stays near 1.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCleanup } from '#lib/cleanup';
import { loadConfig } from '#lib/config';
import { openDatabase, type Database } from '#lib/db';
import { createLogger } from '#lib/log';
import { createVodClient } from '#lib/vod-api';

export interface CleanupScale {
  engine: string;
  smallRows: number;
  largeRows: number;
  smallMs: number;
  largeMs: number;
}

async function grow(db: Database, total: number): Promise<void> {
  // Finished uploads (READY, spread over a year), in batches the embedded database handles comfortably.
  const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM uploads');
  for (let have = Number(rows[0]!.n); have < total; have += 50_000) {
    await db.query(
      `INSERT INTO uploads (upload_id, user_id, status, file_id, signature_expires_at, created_at, updated_at, status_changed_at)
       SELECT gen_random_uuid(), 'user-' || (i % 1000), 'READY', 'f' || ($1::bigint + i),
              now() - (i % 365) * interval '1 day', now() - (i % 365) * interval '1 day',
              now() - (i % 365) * interval '1 day', now() - (i % 365) * interval '1 day'
       FROM generate_series(1, $2::int) AS i`,
      [have, Math.min(50_000, total - have)],
    );
  }
  await db.exec('ANALYZE uploads');
}

async function timedRun(db: Database, databaseUrl: string | undefined): Promise<number> {
  // Work for the run to find: 100 signatures that ran out.
  for (let i = 0; i < 100; i++) {
    await db.query(
      `INSERT INTO uploads (upload_id, user_id, status, signature_expires_at) VALUES ($1, 'scale', 'ISSUED', now() - interval '1 day')`,
      [randomUUID()],
    );
  }
  const config = loadConfig(
    {
      VOD_SECRET_ID: 'AKIDcleanupScale000000000000000000',
      VOD_SECRET_KEY: 'cleanupScaleSecretKey0000000000',
      // No VOD call happens in this run; an unreachable endpoint would show if one did.
      VOD_API_ENDPOINT: '127.0.0.1:9',
      VOD_API_PROTOCOL: 'http://',
      DATABASE_URL: databaseUrl,
      // The expired uploads are fresh rows: too young for the lost-upload search (which would call VOD).
      UPLOADED_RETRY_AFTER_SECONDS: '86400',
    },
    {},
  );
  const started = process.hrtime.bigint();
  const summary = await runCleanup({
    config,
    db,
    vod: createVodClient(config),
    log: createLogger({}, 'error'),
    deadline: Date.now() + 60_000,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (summary.expired !== 100) throw new Error(`expected 100 expired uploads, got ${summary.expired}`);
  return ms;
}

export async function measureCleanupScale(
  options: { databaseUrl?: string; small?: number; large?: number } = {},
): Promise<CleanupScale> {
  const small = options.small ?? 10_000;
  const large = options.large ?? 1_000_000;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vub-cleanup-scale-'));
  const db = await openDatabase({ url: options.databaseUrl, dataDir, poolMax: 2 });
  try {
    await db.exec('TRUNCATE uploads, vod_events, rate_limits');
    await grow(db, small);
    await timedRun(db, options.databaseUrl); // warm-up
    const smallMs = Math.min(await timedRun(db, options.databaseUrl), await timedRun(db, options.databaseUrl));
    await grow(db, large);
    await timedRun(db, options.databaseUrl);
    const largeMs = Math.min(await timedRun(db, options.databaseUrl), await timedRun(db, options.databaseUrl));
    return { engine: db.engine, smallRows: small, largeRows: large, smallMs, largeMs };
  } finally {
    if (options.databaseUrl) await db.exec('TRUNCATE uploads, vod_events, rate_limits').catch(() => undefined);
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  measureCleanupScale({ databaseUrl: process.env.DATABASE_URL, large: Number(process.env.CLEANUP_SCALE_ROWS ?? 1_000_000) }).then(
    (result) => console.log(JSON.stringify({ ...result, ratio: result.largeMs / result.smallMs }, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
