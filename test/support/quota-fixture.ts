/**
 * The quota suites' shared set-up (test/functions/quotas*.test.ts): one database per test file (PGlite
 * here; CI reruns test/functions on PostgreSQL), emptied before each test, the function environment on it,
 * callers of the functions, files arriving for uploads, and the check that the counters equal a recount.
 */
import type { Config } from '#lib/config';
import { handleVodEvent } from '#lib/handle-vod-event';
import { createLogger } from '#lib/log';
import { dayEnd } from '#lib/quota';
import { quotaCounters, recountQuotas } from '#lib/quota-store';
import type { VodCalls } from '#lib/vod-api';
import { parseVodEvent } from '#lib/vod-event';
import { openTestDatabase, truncateAll, type TestDatabase } from './db';
import { functionEnv } from './env';
import { newFileUploadBody } from './events';
import { functionUrlEvent, type HttpMainHandler } from './function';
import { userToken } from './jwt';
import { expectAnswerMatchesOpenApi } from './openapi';

export let testDb: TestDatabase;
export const log = createLogger({}, 'error');

export const envFor = (overrides: Record<string, string> = {}) =>
  functionEnv({
    ...(testDb.url ? { DATABASE_URL: testDb.url, DATABASE_POOL_MAX: '10' } : { DATA_DIR: testDb.dataDir }),
    RATE_LIMIT_SIGNATURES: '1000',
    UPLOAD_MAX_FILE_SIZE: '100000000',
    ...overrides,
  });

/** Registers the suite's hooks: the database for the file, emptied before each test. */
export function useQuotaDatabase(): void {
  beforeAll(async () => {
    testDb = await openTestDatabase();
  }, 60_000);
  afterAll(() => testDb.close());
  beforeEach(() => truncateAll(testDb.db));
}

export async function call(
  fn: HttpMainHandler,
  user: string,
  method: string,
  path: string,
  body?: unknown,
  query?: Record<string, string>,
) {
  const event = functionUrlEvent(method, path, body, { authorization: `Bearer ${await userToken(user)}` });
  if (query) event.queryString = query;
  const result = await fn(event);
  expectAnswerMatchesOpenApi(event, result);
  return { status: result.statusCode, headers: result.headers, body: result.body === '' ? undefined : JSON.parse(result.body) };
}

export const sign = (fn: HttpMainHandler, user: string, body: Record<string, unknown> = {}) =>
  call(fn, user, 'POST', '/upload-signature', body);

export async function expectCountersMatchRecount(): Promise<void> {
  expect(await quotaCounters(testDb.db)).toEqual(await recountQuotas(testDb.db));
}

/** A file arriving for an upload (VOD's NewFileUpload), with its real size and duration. */
export async function arrive(config: Config, uploadId: string, size: number, duration: number, fileId = randomFileId()) {
  const body = newFileUploadBody({ fileId, uploadId, duration, procedureTaskId: 'task' });
  body.FileUploadEvent.MetaData.Size = size;
  return handle(config, body);
}

export const randomFileId = () => `5285890${Math.floor(Math.random() * 1e9)}`;
// With a procedure's task id (or a processing event) nothing is asked of VOD.
export const handle = (config: Config, body: unknown) =>
  handleVodEvent({ config, db: testDb.db, vod: {} as VodCalls, log }, parseVodEvent(body), { confirmWithVod: false });

export const tomorrow = () => dayEnd(new Date().toISOString().slice(0, 10)).toISOString();
