/**
 * The library endpoint suites' shared set-up (test/functions/library*.test.ts): one VOD emulator (PULL
 * mode, the official SDK) and one database per test file, the list-uploads, delete-upload and media-status
 * functions loaded in-process on them, a clean slate before each test, and callers with user and service
 * tokens.
 */
import { randomUUID } from 'node:crypto';
import { createLogger } from '#lib/log';
import { insertIssuedUpload } from '#lib/upload-store';
import { drainPulledEvents, emulatorEnv, startTestEmulator, type TestEmulator } from '../emulator/helpers';
import { openTestDatabase, truncateAll, type TestDatabase } from './db';
import { functionUrlEvent, loadFunction, type HttpMainHandler } from './function';
import { userToken } from './jwt';
import { expectAnswerMatchesOpenApi } from './openapi';

export let t: TestEmulator;
export let testDb: TestDatabase;
export let list: HttpMainHandler;
export let remove: HttpMainHandler;
export let status: HttpMainHandler;
export let env: Record<string, string | undefined>;
export const log = createLogger({}, 'error');
const SERVICE_SCOPE = 'openid vod-upload:admin';

/** Registers the suite's hooks: the emulator, database and functions for the file, a clean slate before each test. */
export function useLibraryFunctions(): void {
  beforeAll(async () => {
    [t, testDb] = await Promise.all([
      startTestEmulator({ eventConfig: { Mode: 'PULL', UploadMediaCompleteEventSwitch: 'ON' } }),
      openTestDatabase(),
    ]);
    env = emulatorEnv(t, {
      ...(testDb.url ? { DATABASE_URL: testDb.url } : { DATA_DIR: testDb.dataDir }),
      VOD_EVENT_MODE: 'PULL',
      AUTH_ADMIN_CLAIM: 'scope=vod-upload:admin',
    });
    list = loadFunction('list-uploads', env);
    remove = loadFunction('delete-upload', env);
    status = loadFunction('media-status', env);
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await testDb.close();
  });
  beforeEach(async () => {
    await truncateAll(testDb.db);
    t.emulator.setFaults({});
    await drainPulledEvents(t.emulator);
  }, 60_000);
}

export const serviceToken = (claims: Record<string, unknown> = { scope: SERVICE_SCOPE }) =>
  userToken('app-backend', { claims, expiresIn: '5m' });

export type Caller = string | { token: string } | undefined;
export async function call(handler: HttpMainHandler, method: string, path: string, caller: Caller) {
  const token = caller === undefined ? undefined : typeof caller === 'string' ? await userToken(caller) : caller.token;
  const event = functionUrlEvent(method, path, undefined, token ? { authorization: `Bearer ${token}` } : {});
  const [pathname, search] = path.split('?');
  event.path = pathname;
  event.queryString = Object.fromEntries(new URLSearchParams(search ?? ''));
  const result = await handler(event);
  expectAnswerMatchesOpenApi(event, result);
  return { status: result.statusCode, body: result.body ? JSON.parse(result.body) : undefined };
}
export const get = (path: string, caller: Caller) => call(list, 'GET', path, caller);
export const del = (uploadId: string, caller: Caller) => call(remove, 'DELETE', `/uploads/${uploadId}`, caller);
export const service = async () => ({ token: await serviceToken() });

export async function issued(userId: string, fileName = 'clip.mp4'): Promise<string> {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId, fileName, signatureExpiresAt: new Date(Date.now() + 3600_000) });
  return uploadId;
}
