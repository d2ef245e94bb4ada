/**
 * The database for integration tests. With TEST_DATABASE_URL (CI starts a real PostgreSQL server) each
 * caller gets a fresh database on that server; otherwise one in-memory PGlite shared by the test file.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { openDatabase, type Database } from '#lib/db';

export interface TestDatabase {
  db: Database;
  /** DATABASE_URL for code that opens its own connection (unset for PGlite). */
  url?: string;
  /** DATA_DIR to pass with it. */
  dataDir: string;
  close(): Promise<void>;
}

export const usingPostgres = Boolean(process.env.TEST_DATABASE_URL);

export async function createTestDatabaseUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = process.env.TEST_DATABASE_URL!;
  const name = `vub_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export async function openTestDatabase(): Promise<TestDatabase> {
  if (usingPostgres) {
    const { url, drop } = await createTestDatabaseUrl();
    const db = await openDatabase({ url, dataDir: 'unused', poolMax: 10 });
    return {
      db,
      url,
      dataDir: 'unused',
      async close() {
        await db.close();
        await drop();
      },
    };
  }
  const db = await openDatabase({ dataDir: 'memory://' });
  return { db, dataDir: 'memory://', close: () => db.close() };
}

/** Empties the tables between tests that share a database. */
export async function truncateAll(db: Database): Promise<void> {
  await db.exec('TRUNCATE uploads, rate_limits, vod_events, search_cursors, search_retries');
}
