/**
 * Issue 20, "hostile users cannot break it for others", through the vod-events function's real HTTP
 * path on a real database: what a client can put into VOD's events (a video name) and what a leaked
 * callback token can send (a deletion naming thousands of files).
 */
import { randomUUID } from 'node:crypto';
import { getUpload, insertIssuedUpload } from '#lib/upload-store';
import { openTestDatabase, truncateAll, type TestDatabase } from '../support/db';
import { functionEnv } from '../support/env';
import { newFileUploadBody, procedureBody } from '../support/events';
import { functionUrlEvent, loadFunction, type HttpMainHandler } from '../support/function';

const TOKEN = 'callback-token-0123456789abcdef';

let testDb: TestDatabase;
let handler: HttpMainHandler;

const envFor = (overrides: Record<string, string> = {}) =>
  functionEnv({
    ...(testDb.url ? { DATABASE_URL: testDb.url } : { DATA_DIR: testDb.dataDir }),
    CALLBACK_TOKENS: TOKEN,
    CALLBACK_VERIFY_WITH_VOD: 'false',
    // ProcessMedia goes nowhere fast: the upload stays UPLOADED.
    VOD_API_ENDPOINT: '127.0.0.1:9',
    VOD_API_PROTOCOL: 'http://',
    ...overrides,
  });

beforeAll(async () => {
  testDb = await openTestDatabase();
  handler = loadFunction('vod-events', envFor());
}, 60_000);
afterAll(() => testDb.close());
beforeEach(() => truncateAll(testDb.db));

async function post(fn: HttpMainHandler, body: unknown) {
  const event = functionUrlEvent('POST', '/vod-events', body);
  event.queryString = { token: TOKEN };
  const result = await fn(event);
  return { status: result.statusCode, body: result.body ? JSON.parse(result.body) : undefined };
}

async function issued(): Promise<string> {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 3600_000) });
  return uploadId;
}

describe('text from VOD that PostgreSQL cannot store (U+0000, an unpaired surrogate)', () => {
  // JSON.stringify writes the lone surrogate as the escape `\ud800`, as a JSON encoder on the wire would.
  const hostileName = 'clip\u0000name\ud800end';

  test('a video named with them is applied, its name stored with U+FFFD in their place', async () => {
    const uploadId = await issued();
    const body = newFileUploadBody({ fileId: '5285890784200000001', uploadId });
    body.FileUploadEvent.MediaBasicInfo.Name = hostileName;
    expect(JSON.stringify(body)).toContain('\\u0000');
    expect(JSON.stringify(body)).toContain('\\ud800');
    expect(await post(handler, body)).toEqual({ status: 200, body: {} });
    const upload = await getUpload(testDb.db, uploadId);
    expect(upload).toMatchObject({ status: 'UPLOADED', fileId: '5285890784200000001' });
    expect(upload!.media!.name).toBe('clip\uFFFDname\uFFFDend');
  }, 30_000);

  test('a failure message carrying them is stored with the FAILED upload', async () => {
    const uploadId = await issued();
    const fileId = '5285890784200000002';
    const body = procedureBody({ taskId: 'proc-hostile-1', fileId, uploadId, status: 'FINISH', transcode: 'FAIL' });
    const [transcode] = body.ProcedureStateChangeEvent.MediaProcessResultSet as Array<{ TranscodeTask: { Message: string } }>;
    transcode!.TranscodeTask.Message = `bad ${hostileName}`;
    body.ProcedureStateChangeEvent.FileName = hostileName;
    expect((await post(handler, body)).status).toBe(200);
    const upload = await getUpload(testDb.db, uploadId);
    expect(upload!.status).toBe('FAILED');
    expect(upload!.error!.message).toContain('bad clip\uFFFDname\uFFFDend');
  }, 30_000);

  test('an event type this backend only records, with such a task id, is acknowledged', async () => {
    expect((await post(handler, { EventType: 'EditMediaComplete', EditMediaCompleteEvent: { TaskId: `t\u0000${hostileName}` } })).status).toBe(200);
  });
});
