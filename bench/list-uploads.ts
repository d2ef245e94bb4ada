/**
 * Does GET /uploads cost the same on a big table? The first page (20 items) of one user's library and of
 * a service token's listing of everyone, and a page deep in through a cursor, timed (p50 of many calls,
 * through lib/upload-library.ts on the real database) on a table of SMALL uploads and again after
 * growing it to LARGE rows (generate_series). Keyset pages over the listing indexes keep the ratio near 1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '#lib/config';
import { openDatabase, type Database } from '#lib/db';
import { createLogger } from '#lib/log';
import { listingQuery, listLibrary } from '#lib/upload-library';

export interface ListCost {
  engine: string;
  smallRows: number;
  largeRows: number;
  /** p50 ms at SMALL and LARGE rows, per kind of page. */
  p50Ms: Record<'userFirstPage' | 'userDeepPage' | 'everyoneFirstPage', { small: number; large: number }>;
}

const SAMPLES = 200;
const BENCH_USER = 'bench-user';

/** Finished uploads of 1000 users, spread over a year; the bench user keeps its 500 rows among them. */
async function grow(db: Database, total: number): Promise<void> {
  const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM uploads');
  for (let have = Number(rows[0]!.n); have < total; have += 50_000) {
    await db.query(
      `INSERT INTO uploads (upload_id, user_id, status, file_id, signature_expires_at, created_at, updated_at, status_changed_at)
       SELECT gen_random_uuid(), 'user-' || (i % 1000), 'READY', 'f' || ($1::bigint + i),
              now(), now() - (i % 365) * interval '1 day' - i * interval '1 ms', now(), now()
       FROM generate_series(1, $2::int) AS i`,
      [have, Math.min(50_000, total - have)],
    );
  }
  await db.exec('ANALYZE uploads');
}

async function p50(work: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await work(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const started = process.hrtime.bigint();
    await work();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

async function measure(db: Database) {
  const config = loadConfig(
    { VOD_SECRET_ID: 'AKIDlistCost00000000000000000000000', VOD_SECRET_KEY: 'listCostSecretKey000000' },
    {},
  );
  const deps = { config, db, log: createLogger({}, 'error') };
  const user = { userId: BENCH_USER, admin: false };
  const firstPage = await listLibrary(deps, user, listingQuery({ limit: '100' }));
  let cursor = firstPage.nextCursor!;
  for (let i = 0; i < 3; i++) cursor = (await listLibrary(deps, user, listingQuery({ limit: '100', cursor }))).nextCursor!;
  return {
    userFirstPage: await p50(() => listLibrary(deps, user, listingQuery({}))),
    userDeepPage: await p50(() => listLibrary(deps, user, listingQuery({ cursor }))),
    everyoneFirstPage: await p50(() => listLibrary(deps, { userId: 'app-backend', admin: true }, listingQuery({}))),
  };
}

export async function measureListCost(options: { databaseUrl?: string; small?: number; large?: number } = {}): Promise<ListCost> {
  const small = options.small ?? 10_000;
  const large = options.large ?? 1_000_000;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vub-list-cost-'));
  const db = await openDatabase({ url: options.databaseUrl, dataDir, poolMax: 2 });
  try {
    await db.exec('TRUNCATE uploads, vod_events, rate_limits');
    await db.query(
      `INSERT INTO uploads (upload_id, user_id, status, signature_expires_at, created_at)
       SELECT gen_random_uuid(), $1, 'READY', now(), now() - i * interval '1 hour' FROM generate_series(1, 500) AS i`,
      [BENCH_USER],
    );
    await grow(db, small);
    const atSmall = await measure(db);
    await grow(db, large);
    const atLarge = await measure(db);
    const p50Ms = Object.fromEntries(
      (Object.keys(atSmall) as Array<keyof typeof atSmall>).map((kind) => [kind, { small: atSmall[kind], large: atLarge[kind] }]),
    ) as ListCost['p50Ms'];
    return { engine: db.engine, smallRows: small, largeRows: large, p50Ms };
  } finally {
    if (options.databaseUrl) await db.exec('TRUNCATE uploads, vod_events, rate_limits').catch(() => undefined);
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** bench/run.ts's table rows and report entry for this figure. */
export async function addListCost(
  report: Record<string, unknown>,
  rows: string[][],
  options: { databaseUrl?: string; large?: number },
): Promise<void> {
  const cost = await measureListCost(options);
  report.listUploads = cost;
  rows.push([]);
  rows.push([
    `GET /uploads first page (${cost.engine}), p50`,
    `ms @ ${cost.smallRows}`,
    `ms @ ${cost.largeRows}`,
    '',
    'large / small',
  ]);
  for (const [kind, { small, large }] of Object.entries(cost.p50Ms)) {
    rows.push([kind, small.toFixed(2), large.toFixed(2), '', (large / small).toFixed(2)]);
  }
}

if (require.main === module) {
  measureListCost({ databaseUrl: process.env.DATABASE_URL, large: Number(process.env.LIST_COST_ROWS ?? 1_000_000) }).then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
