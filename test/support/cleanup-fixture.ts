/**
 * The cleanup suites' shared set-up (test/functions/cleanup*.test.ts): one VOD emulator (PULL mode, the
 * official SDK) and one database per test file, emptied and drained before each test, and the helpers that
 * build a run's dependencies and its uploads.
 */
import { randomUUID } from 'node:crypto';
import { runCleanup, type CleanupDeps } from '#lib/cleanup';
import { loadConfig, type Config } from '#lib/config';
import type { Database } from '#lib/db';
import { createLogger } from '#lib/log';
import { insertIssuedUpload, updateUpload } from '#lib/upload-store';
import { createVodClient, type VodCalls } from '#lib/vod-api';
import {
  drainPulledEvents,
  emulatorEnv,
  startTestEmulator,
  uploadViaApi,
  vodClient,
  type TestEmulator,
} from '../emulator/helpers';
import { openTestDatabase, truncateAll, type TestDatabase } from './db';

export let t: TestEmulator;
export let testDb: TestDatabase;
export let config: Config;
const log = createLogger({}, 'error');

export function configWith(overrides: Record<string, string> = {}): Config {
  return loadConfig(
    emulatorEnv(t, {
      VOD_EVENT_MODE: 'PULL',
      UPLOAD_EXPIRY_GRACE_SECONDS: '60',
      ...overrides,
    }),
  );
}

/** The official client, counting the calls a test wants to count. */
export function countingVod(cfg: Config, counts: Record<string, number> = {}): VodCalls {
  const client = createVodClient(cfg, { timeoutSeconds: 15 });
  return new Proxy(client, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        counts[String(name)] = (counts[String(name)] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  }) as VodCalls;
}

export const deps = (overrides: Partial<CleanupDeps> = {}): CleanupDeps => ({
  config,
  db: testDb.db,
  vod: countingVod(config),
  log,
  deadline: Date.now() + 30_000,
  ...overrides,
});

/**
 * The test database, with `fault` run first whenever an event is to be claimed: the statement that claims
 * it and writes its change, or the transaction that does (lib/handle-vod-event.ts has both paths).
 */
export function claimingWith(fault: () => void): Database {
  const db = testDb.db;
  return Object.create(db, {
    query: {
      value: (sql: string, params?: readonly unknown[], options?: Parameters<Database['query']>[2]) => {
        if (sql.includes('INSERT INTO vod_events')) fault();
        return db.query(sql, params, options);
      },
    },
    transaction: {
      value: (fn: Parameters<Database['transaction']>[0]) => {
        fault();
        return db.transaction(fn);
      },
    },
  });
}

export async function issued(overrides: { expiresAt?: Date } = {}): Promise<string> {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, {
    uploadId,
    userId: 'alice',
    signatureExpiresAt: overrides.expiresAt ?? new Date(Date.now() + 3600_000),
  });
  return uploadId;
}

/** Registers the suite's hooks: the emulator and database for the file, a clean slate before each test. */
export function useCleanupFixture(): void {
  beforeAll(async () => {
    [t, testDb] = await Promise.all([
      startTestEmulator({
        eventConfig: { Mode: 'PULL', UploadMediaCompleteEventSwitch: 'ON', DeleteMediaCompleteEventSwitch: 'ON' },
      }),
      openTestDatabase(),
    ]);
    config = configWith();
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await testDb.close();
  });
  beforeEach(async () => {
    await truncateAll(testDb.db);
    // Let an earlier test's processing finish, then drain whatever it left in VOD's queue.
    await t.emulator.processing.idle();
    await t.emulator.flush();
    await drainPulledEvents(t.emulator);
    // An earlier test's processing (real ffmpeg, adaptive HLS included) may still be running.
  }, 120_000);
}

export async function rejectedWithMedia(): Promise<{ uploadId: string; fileId: string }> {
  const uploadId = await issued();
  const fileId = await uploadViaApi(t, vodClient(t.emulator), 'not-ours');
  await updateUpload(testDb.db, uploadId, { status: 'REJECTED', fileId, error: { code: 'MediaRejected', message: 'too long' } });
  return { uploadId, fileId };
}

/**
 * A run of the PUSH-mode cleanup (no pump) with its clock `ahead` ms past VOD's (the emulator's clock,
 * which an earlier test may have moved past the database's).
 */
export const pushRun = (ahead: number, overrides: Partial<CleanupDeps> = {}) =>
  runCleanup(deps({ config: configWith({ VOD_EVENT_MODE: 'PUSH' }), clock: () => t.clock.now() + ahead, ...overrides }));
