/**
 * Issue 20, "hostile users cannot break it for others", through the vod-events function's real HTTP
 * path on a real database: what a client can put into VOD's events (a video name) and what a leaked
 * callback token can send (a deletion naming thousands of files).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getUpload, insertIssuedUpload, updateUpload } from '#lib/upload-store';
import { MAX_FILES_PER_DELETION } from '#lib/vod-event';
import { openTestDatabase, truncateAll, type TestDatabase } from '../support/db';
import { functionEnv } from '../support/env';
import { fileDeletedBody, newFileUploadBody, procedureBody } from '../support/events';
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
    const [transcode] = body.ProcedureStateChangeEvent.MediaProcessResultSet as Array<{
      TranscodeTask: { Message: string; ErrCodeExt: string };
    }>;
    Object.assign(transcode!.TranscodeTask, { Message: `bad ${hostileName}`, ErrCodeExt: 'InternalError' });
    body.ProcedureStateChangeEvent.FileName = hostileName;
    expect((await post(handler, body)).status).toBe(200);
    const upload = await getUpload(testDb.db, uploadId);
    expect(upload!.status).toBe('FAILED');
    expect(upload!.error!.message).toContain('bad clip\uFFFDname\uFFFDend');
  }, 30_000);

  test('an event type this backend only records, with such a task id, is acknowledged', async () => {
    expect(
      (await post(handler, { EventType: 'EditMediaComplete', EditMediaCompleteEvent: { TaskId: `t\u0000${hostileName}` } }))
        .status,
    ).toBe(200);
  });
});

/**
 * A stand-in for VOD's API endpoint that the official SDK talks to: DescribeMediaInfos knows no file
 * (every one is deleted) and answers each call after `delayMs`.
 */
async function slowVod(delayMs: number) {
  const actions: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const action = String(request.headers['x-tc-action'] ?? '');
      actions.push(action);
      const params = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { FileIds?: string[] };
      const timer = setTimeout(() => {
        timers.delete(timer);
        response.setHeader('content-type', 'application/json');
        response.end(
          JSON.stringify({ Response: { MediaInfoSet: [], NotExistFileIdSet: params.FileIds ?? [], RequestId: randomUUID() } }),
        );
      }, delayMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    actions,
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readyUpload(fileId: string): Promise<string> {
  const uploadId = await issued();
  await updateUpload(testDb.db, uploadId, { status: 'READY', fileId });
  return uploadId;
}

const fileIds = (count: number, prefix = '52858907844') =>
  Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(8, '0')}`);

describe('a FileDeleted event cannot make one callback into thousands of VOD calls', () => {
  test(`an event naming more than ${MAX_FILES_PER_DELETION} files is a 400 naming the field, before VOD is asked anything`, async () => {
    const vod = await slowVod(0);
    try {
      // A body limit large enough for the 40 000 ids: the cap, not the limit, is what refuses them.
      const confirming = loadFunction(
        'vod-events',
        envFor({ CALLBACK_VERIFY_WITH_VOD: 'true', VOD_API_ENDPOINT: vod.endpoint, HTTP_MAX_BODY_BYTES: String(4 << 20) }),
      );
      const victim = await readyUpload('5285890784500000000');
      for (const count of [MAX_FILES_PER_DELETION + 1, 40_000]) {
        const ids = ['5285890784500000000', ...fileIds(count - 1)];
        for (const body of [fileDeletedBody(ids), fileDeletedBody(ids, [])]) {
          const answer = await post(confirming, body);
          expect(answer.status).toBe(400);
          expect(answer.body.error).toMatchObject({
            code: 'InvalidVodEvent',
            message: expect.stringContaining('FileDeleteEvent.FileIdSet'),
          });
          expect(answer.body.error.message).toContain(`at most ${MAX_FILES_PER_DELETION}`);
        }
      }
      expect(vod.actions).toEqual([]);
      expect((await getUpload(testDb.db, victim))!.status).toBe('READY');
    } finally {
      await vod.close();
    }
  }, 60_000);

  test('confirming with a slow VOD stops at the deadline: a 503, VOD asked no more, nothing applied', async () => {
    // Five DescribeMediaInfos calls (20 files each) of a second and a half cannot fit the 4 s budget.
    const vod = await slowVod(1500);
    try {
      const confirming = loadFunction('vod-events', envFor({ CALLBACK_VERIFY_WITH_VOD: 'true', VOD_API_ENDPOINT: vod.endpoint }));
      const ids = fileIds(MAX_FILES_PER_DELETION);
      const first = await readyUpload(ids[0]!);
      const last = await readyUpload(ids[ids.length - 1]!);
      const answer = await post(confirming, fileDeletedBody(ids));
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('ServiceUnavailable');
      const asked = vod.actions.length;
      expect(asked).toBeLessThan(MAX_FILES_PER_DELETION / 20);
      expect(vod.actions.every((action) => action === 'DescribeMediaInfos')).toBe(true);
      // Nothing of the event is applied, not even for the files VOD had confirmed before time ran out.
      expect((await getUpload(testDb.db, first))!.status).toBe('READY');
      expect((await getUpload(testDb.db, last))!.status).toBe('READY');
      const { rows } = await testDb.db.query(`SELECT count(*)::int AS n FROM vod_events WHERE event_type = 'FileDeleted'`);
      expect(rows).toEqual([{ n: 0 }]);
      // And no call is made after the answer.
      await new Promise((resolve) => setTimeout(resolve, 1600));
      expect(vod.actions.length).toBe(asked);
    } finally {
      await vod.close();
    }
  }, 60_000);
});
