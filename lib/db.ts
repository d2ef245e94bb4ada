/**
 * One query layer over two PostgreSQL engines: a real server through `pg` when DATABASE_URL is set
 * (TencentDB for PostgreSQL in production), else PGlite (Postgres in WASM) in a local folder. Same SQL,
 * same migrations. Migrations run on open, under an advisory lock, so instances starting together are safe.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { Pool, type PoolClient, type QueryResult as PgResult } from 'pg';
import { ServiceUnavailableError } from '#lib/errors';
import { migrate } from '#lib/migrations';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface QueryOptions {
  /**
   * A hot statement's fixed name: on PostgreSQL it is parsed and planned once per connection, then only
   * bound and run (a server-side prepared statement). One name, one SQL text; its result columns must not
   * depend on the schema (no `SELECT *`), or a migration would break the prepared plan. PGlite ignores it.
   */
  prepare?: string;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>>;
  /** Runs a script of several statements (no parameters). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly engine: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres:// URL; when absent, PGlite under `dataDir` (`memory://` keeps it in memory). */
  url?: string;
  dataDir: string;
  poolMax?: number;
}

/** Connection-level failures (server down, unreachable, restarting, out of slots): retry later. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08006',
  // A deadlock or a serialization failure between two instances: the transaction rolled back whole.
  '40P01',
  '40001',
]);

function isDatabaseUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  return (
    typeof message === 'string' &&
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)
  );
}

/** Turns a lost database into a 503 (the caller may retry), keeping the cause for the log. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isDatabaseUnavailable(error)) {
      throw Object.assign(new ServiceUnavailableError('The database is unavailable; try again shortly'), { cause: error });
    }
    throw error;
  }
}

/**
 * An optional observer of every statement sent (BEGIN and COMMIT included), for the bench's count of round
 * trips per request. Process-wide (a Symbol.for key), so it sees every bundle loaded in the process; unset,
 * each statement costs one property read.
 */
const statementObserverKey = Symbol.for('vod-upload-backend.db-statement-observer');
export type StatementObserver = (sql: string) => void;

export function observeStatements(observer: StatementObserver | undefined): void {
  (globalThis as Record<symbol, unknown>)[statementObserverKey] = observer;
}

function sent(sql: string): string {
  (globalThis as Record<symbol, StatementObserver | undefined>)[statementObserverKey]?.(sql);
  return sql;
}

/** One statement through pg: named (prepared once per connection) when the caller names it. */
function run(on: Pool | PoolClient, sql: string, params: readonly unknown[], options: QueryOptions): Promise<PgResult> {
  const text = sent(sql);
  // Plain text and values where there is no name: pg copies a config object on every query.
  if (options.prepare === undefined) return on.query(text, params as unknown[]);
  return on.query({ name: options.prepare, text, values: params as unknown[] });
}

class PostgresDatabase implements Database {
  readonly engine = 'postgres' as const;
  constructor(private readonly pool: Pool) {}

  query<R>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<QueryResult<R>> {
    return guarded(async () => {
      const result = await run(this.pool, sql, params, options);
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    });
  }

  exec(sql: string): Promise<void> {
    return guarded(async () => {
      await this.pool.query(sent(sql));
    });
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return guarded(() => this.runTransaction(fn));
  }

  private async runTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client: PoolClient = await this.pool.connect();
    // A connection lost while checked out emits 'error' on the client (not the pool); the pending
    // query rejects as well, which is where the failure is handled. Without a listener it would crash.
    const onError = () => undefined;
    client.on('error', onError);
    const tx: Queryable = {
      query: async <R>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}) => {
        const result = await run(client, sql, params, options);
        return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
      },
      exec: async (sql: string) => {
        await client.query(sent(sql));
      },
    };
    try {
      await client.query(sent('BEGIN'));
      const value = await fn(tx);
      await client.query(sent('COMMIT'));
      client.off('error', onError);
      client.release();
      return value;
    } catch (error) {
      // A connection whose ROLLBACK failed is broken: destroy it rather than return it to the pool.
      await client.query(sent('ROLLBACK')).then(
        () => {
          client.off('error', onError);
          client.release();
        },
        (rollbackError: Error) => client.release(rollbackError),
      );
      throw error;
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

class PgliteDatabase implements Database {
  readonly engine = 'pglite' as const;
  constructor(
    private readonly db: PGlite,
    private readonly onClose: () => void,
  ) {}

  async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    const result = await this.db.query<R>(sent(sql), params as unknown[]);
    return { rows: result.rows, rowCount: result.affectedRows || result.rows.length };
  }

  async exec(sql: string): Promise<void> {
    await this.db.exec(sent(sql));
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    // PGlite sends BEGIN and COMMIT (or ROLLBACK) itself: observed here, as the server's are.
    sent('BEGIN');
    try {
      const value = await this.db.transaction((tx) =>
        fn({
          query: async <R>(sql: string, params: readonly unknown[] = []) => {
            const result = await tx.query<R>(sent(sql), params as unknown[]);
            return { rows: result.rows, rowCount: result.affectedRows || result.rows.length };
          },
          exec: async (sql: string) => {
            await tx.exec(sent(sql));
          },
        }),
      );
      sent('COMMIT');
      return value;
    } catch (error) {
      sent('ROLLBACK');
      throw error;
    }
  }

  async close(): Promise<void> {
    this.onClose();
    await this.db.close();
  }
}

// Several function bundles may run in one process (the local gateway); they must share one PGlite per
// folder, since two instances on the same folder would corrupt it. Hence a process-wide registry.
const registryKey = Symbol.for('vod-upload-backend.pglite');
type Registry = Map<string, Promise<Database>>;
const registry: Registry = ((globalThis as Record<symbol, unknown>)[registryKey] as Registry | undefined) ?? new Map();
(globalThis as Record<symbol, unknown>)[registryKey] = registry;

async function openPglite(dataDir: string): Promise<Database> {
  // Loaded only when used, so deployed bundles (which use DATABASE_URL) do not carry PGlite.
  const { PGlite } = await import('@electric-sql/pglite');
  let location = dataDir;
  if (dataDir !== 'memory://') {
    location = path.resolve(dataDir, 'db');
    mkdirSync(location, { recursive: true });
  }
  const db = await PGlite.create(location);
  return new PgliteDatabase(db, () => registry.delete(dataDir));
}

/** Closes the embedded database(s) this process opened, all or one folder's (the local stack's shutdown). */
export async function closeEmbeddedDatabases(dataDir?: string): Promise<void> {
  const open = [...registry.entries()].filter(([dir]) => dataDir === undefined || dir === dataDir);
  for (const [dir] of open) registry.delete(dir);
  await Promise.all(open.map(([, opening]) => opening.then((db) => db.close()).catch(() => undefined)));
}

/** Opens (or reuses) the database and applies pending migrations. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) {
    const pool = new Pool({
      connectionString: options.url,
      max: options.poolMax ?? 2,
      // SCF freezes idle instances; don't keep connections the server will have dropped.
      idleTimeoutMillis: 10_000,
      connectionTimeoutMillis: 5_000,
    });
    // An idle client losing its connection emits 'error' on the pool; without a listener it would crash.
    pool.on('error', () => undefined);
    const db = new PostgresDatabase(pool);
    try {
      await migrate(db);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return db;
  }
  let opening = registry.get(options.dataDir);
  if (!opening) {
    opening = openPglite(options.dataDir).then(async (db) => {
      await migrate(db);
      return db;
    });
    opening.catch(() => registry.delete(options.dataDir));
    registry.set(options.dataDir, opening);
  }
  return opening;
}
