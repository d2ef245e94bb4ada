/**
 * The library endpoints (issue #16) in-process on a real database and the VOD emulator (the official SDK):
 * GET /uploads (list-uploads) and DELETE /uploads/{uploadId} (delete-upload), their bad input, access
 * control for user and service tokens, keyset pagination, and deletion with VOD up, down and too late.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { runCleanup } from '#lib/cleanup';
import { loadConfig } from '#lib/config';
import { createLogger } from '#lib/log';
import { encodeCursor } from '#lib/upload-library';
import { encodeUploadContext } from '#lib/upload-context';
import { getUpload, insertIssuedUpload, updateUpload } from '#lib/upload-store';
import { createVodClient } from '#lib/vod-api';
import { emulatorEnv, startTestEmulator, uploadViaApi, vodClient, type TestEmulator } from '../emulator/helpers';
import { openTestDatabase, truncateAll, type TestDatabase } from '../support/db';
import { TEST_JWT_SECRET } from '../support/env';
import { functionUrlEvent, loadFunction, type HttpMainHandler } from '../support/function';
import { userToken } from '../support/jwt';
import { expectAnswerMatchesOpenApi } from '../support/openapi';

let t: TestEmulator;
let testDb: TestDatabase;
let list: HttpMainHandler;
let remove: HttpMainHandler;
let status: HttpMainHandler;
let env: Record<string, string | undefined>;
const log = createLogger({}, 'error');
const SERVICE_SCOPE = 'openid vod-upload:admin';

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
  const client = vodClient(t.emulator);
  for (;;) {
    const { EventSet } = await client.PullEvents({});
    if (!EventSet?.length) break;
    await client.ConfirmEvents({ EventHandles: EventSet.map((e) => e.EventHandle!) });
  }
}, 60_000);

const serviceToken = (claims: Record<string, unknown> = { scope: SERVICE_SCOPE }) =>
  new SignJWT({ sub: 'app-backend', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('https://login.example.com')
    .setAudience('vod-upload')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));

type Caller = string | { token: string } | undefined;
async function call(handler: HttpMainHandler, method: string, path: string, caller: Caller) {
  const token = caller === undefined ? undefined : typeof caller === 'string' ? await userToken(caller) : caller.token;
  const event = functionUrlEvent(method, path, undefined, token ? { authorization: `Bearer ${token}` } : {});
  const [pathname, search] = path.split('?');
  event.path = pathname;
  event.queryString = Object.fromEntries(new URLSearchParams(search ?? ''));
  const result = await handler(event);
  expectAnswerMatchesOpenApi(event, result);
  return { status: result.statusCode, body: result.body ? JSON.parse(result.body) : undefined };
}
const get = (path: string, caller: Caller) => call(list, 'GET', path, caller);
const del = (uploadId: string, caller: Caller) => call(remove, 'DELETE', `/uploads/${uploadId}`, caller);
const service = async () => ({ token: await serviceToken() });

async function issued(userId: string, fileName = 'clip.mp4'): Promise<string> {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId, fileName, signatureExpiresAt: new Date(Date.now() + 3600_000) });
  return uploadId;
}

/** `count` uploads of `userId` in one statement: many share one created_at, as in a burst. */
async function bulk(userId: string, count: number, secondsAgo = 0): Promise<void> {
  await testDb.db.query(
    `INSERT INTO uploads (upload_id, user_id, status, signature_expires_at, created_at)
     SELECT gen_random_uuid(), $1, 'ISSUED', now() + interval '1 hour',
            now() - make_interval(secs => $3) - (i / 7) * interval '1 microsecond'
     FROM generate_series(1, $2) AS i`,
    [userId, count, secondsAgo],
  );
}

/** A READY upload of `userId` whose file is really in the emulator; returns its ids and the file's URL. */
async function readyWithMedia(userId: string) {
  const uploadId = await issued(userId);
  const client = vodClient(t.emulator);
  const fileId = await uploadViaApi(t, client, 'not-this-backend');
  const info = await client.DescribeMediaInfos({ FileIds: [fileId] });
  const mediaUrl = info.MediaInfoSet![0]!.BasicInfo!.MediaUrl!;
  await updateUpload(testDb.db, uploadId, {
    status: 'READY',
    fileId,
    media: { type: 'mp4', size: 1000, duration: 2, mediaUrl },
    result: {
      renditions: [{ definition: 100010, url: `${mediaUrl}?rendition` }],
      cover: { url: `${mediaUrl}?cover` },
      snapshots: [{ url: `${mediaUrl}?snapshot` }],
    },
  });
  return { uploadId, fileId, mediaUrl };
}

async function vodHas(fileId: string): Promise<boolean> {
  const info = await vodClient(t.emulator).DescribeMediaInfos({ FileIds: [fileId] });
  return !(info.NotExistFileIdSet ?? []).includes(fileId);
}

describe('GET /uploads', () => {
  test("the caller's own uploads, newest first, in the owner's view (no userId on the items)", async () => {
    const first = await issued('alice', 'first.mp4');
    const second = await issued('alice', 'second.mp4');
    await issued('bob');
    const page = await get('/uploads', 'alice');
    expect(page.status).toBe(200);
    expect(page.body.uploads.map((u: { uploadId: string }) => u.uploadId)).toEqual([second, first]);
    expect(page.body.uploads[0]).toMatchObject({ status: 'ISSUED', fileName: 'second.mp4', renditions: [], cover: null });
    expect(page.body.uploads[0]).not.toHaveProperty('userId');
    expect(page.body.nextCursor).toBeNull();
    expect((await get('/uploads', 'carol')).body).toEqual({ uploads: [], nextCursor: null });
  });

  test('status filters; a user may name themself as userId', async () => {
    const ready = await issued('alice');
    await updateUpload(testDb.db, ready, { status: 'READY', fileId: 'f-1' });
    await issued('alice');
    const readyOnly = await get('/uploads?status=READY', 'alice');
    expect(readyOnly.body.uploads.map((u: { uploadId: string }) => u.uploadId)).toEqual([ready]);
    expect((await get('/uploads?status=FAILED', 'alice')).body.uploads).toEqual([]);
    expect((await get('/uploads?userId=alice&limit=1', 'alice')).body.uploads).toHaveLength(1);
    // Empty values are "not given" (a form's empty fields).
    expect((await get('/uploads?status=&cursor=&limit=', 'alice')).body.uploads).toHaveLength(2);
  });

  test('pages over more rows than the limit: every upload once, in order, while new ones arrive', async () => {
    await bulk('alice', 230, 60);
    await bulk('bob', 40, 60);
    const { rows } = await testDb.db.query<{ upload_id: string }>(
      `SELECT upload_id FROM uploads WHERE user_id = 'alice' ORDER BY created_at DESC, upload_id DESC`,
    );
    const expected = rows.map((r) => String(r.upload_id));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '/uploads?limit=17' : `/uploads?limit=17&cursor=${cursor}`;
      const page = await get(query, 'alice');
      expect(page.status).toBe(200);
      expect(page.body.uploads.length).toBeLessThanOrEqual(17);
      seen.push(...page.body.uploads.map((u: { uploadId: string }) => u.uploadId));
      cursor = page.body.nextCursor;
      // Uploads started meanwhile are newer than every page already handed out: they never shift a page.
      await issued('alice');
      pages++;
    } while (cursor !== null && pages < 100);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(230);
    expect(pages).toBe(Math.ceil(230 / 17));
  });

  test('the last full page says there is no next one', async () => {
    await bulk('alice', 40);
    const first = await get('/uploads?limit=20', 'alice');
    const second = await get(`/uploads?limit=20&cursor=${first.body.nextCursor}`, 'alice');
    expect(second.body.uploads).toHaveLength(20);
    expect(second.body.nextCursor).toBeNull();
  });

  test.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=1e2', 'limit'],
    ['status=ready', 'status'],
    ['status=NOPE', 'status'],
    ['cursor=not%20base64', 'cursor'],
    ['cursor=AAAA', 'cursor'],
    [`cursor=${Buffer.from('2026-01-01T00:00:00.000000Z/not-a-uuid').toString('base64url')}`, 'cursor'],
    [`cursor=${Buffer.from('2026-13-45T99:00:00.000000Z/3f1c2b7e-1d2a-4c3b-9a8f-0123456789ab').toString('base64url')}`, 'cursor'],
    [`cursor=${Buffer.from("'; DROP TABLE uploads; --").toString('base64url')}`, 'cursor'],
    ['userId=', 'userId'],
    [`userId=${'x'.repeat(129)}`, 'userId'],
    ['user=bob', 'user'],
    ['offset=20', 'offset'],
    ['%3Cscript%3E=1', 'query'],
  ])('?%s is a 400 naming %s', async (query, field) => {
    const answer = await get(`/uploads?${query}`, 'alice');
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'InvalidRequest', field });
  });

  test('a cursor with another spelling of the same bytes is refused (one cursor, one spelling)', async () => {
    const cursor = encodeCursor({ createdAt: '2026-01-01T00:00:00.000000Z', uploadId: randomUUID() });
    expect((await get(`/uploads?cursor=${cursor}`, 'alice')).status).toBe(200);
    expect((await get(`/uploads?cursor=${cursor}==`, 'alice')).status).toBe(400);
  });

  test('no token is a 401; another method a 405', async () => {
    expect((await get('/uploads', undefined)).status).toBe(401);
    const post = await call(list, 'POST', '/uploads', 'alice');
    expect(post.status).toBe(405);
    expect(post.body.error.code).toBe('MethodNotAllowed');
  });

  test("a user token naming another user gets a 403, whatever else it carries; a cursor never reaches another's rows", async () => {
    const bobsUpload = await issued('bob');
    const mallory = await get('/uploads?userId=bob', 'mallory');
    expect(mallory.status).toBe(403);
    expect(mallory.body.error.code).toBe('Forbidden');
    expect(JSON.stringify(mallory.body)).not.toContain(bobsUpload);
    // Look-alike service claims are a user token still.
    for (const scope of ['vod-upload:admins', 'VOD-UPLOAD:ADMIN', 'openid,vod-upload:admin']) {
      const token = await serviceToken({ sub: 'mallory', scope });
      expect((await get('/uploads?userId=bob', { token })).status).toBe(403);
      expect((await get('/uploads', { token })).body.uploads).toEqual([]);
    }
    const wrongClaim = await serviceToken({ sub: 'mallory', scp: 'vod-upload:admin', role: 'admin', admin: true });
    expect((await get('/uploads?userId=bob', { token: wrongClaim })).status).toBe(403);
    // Bob's cursor in Mallory's hands lists Mallory's uploads only.
    await bulk('bob', 30);
    const bobs = await get('/uploads?limit=5', 'bob');
    const replay = await get(`/uploads?cursor=${bobs.body.nextCursor}`, 'mallory');
    expect(replay.body.uploads).toEqual([]);
  });

  test("a service token lists everyone's uploads (each with its userId), or one user's, or by status", async () => {
    const a = await issued('alice');
    const b = await issued('bob');
    await updateUpload(testDb.db, b, { status: 'READY', fileId: 'f-b' });
    const everyone = await get('/uploads', await service());
    expect(everyone.status).toBe(200);
    expect(everyone.body.uploads.map((u: { uploadId: string; userId: string }) => [u.uploadId, u.userId])).toEqual([
      [b, 'bob'],
      [a, 'alice'],
    ]);
    const bobs = await get('/uploads?userId=bob', await service());
    expect(bobs.body.uploads.map((u: { uploadId: string }) => u.uploadId)).toEqual([b]);
    expect(bobs.body.uploads[0]).not.toHaveProperty('userId');
    const ready = await get('/uploads?status=READY', await service());
    expect(ready.body.uploads.map((u: { uploadId: string }) => u.uploadId)).toEqual([b]);
  });

  test("a service token pages over every user's uploads too", async () => {
    await bulk('alice', 25, 10);
    await bulk('bob', 25, 5);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { uploads: Array<{ uploadId: string }>; nextCursor: string | null } } = await get(
        `/uploads?limit=9${cursor ? `&cursor=${cursor}` : ''}`,
        await service(),
      );
      seen.push(...page.body.uploads.map((u) => u.uploadId));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(new Set(seen).size).toBe(50);
    expect(seen).toHaveLength(50);
  });
});

describe('GET /uploads/{uploadId} with a service token', () => {
  test("reads any user's upload as its owner does; a look-alike claim stays a user token", async () => {
    const uploadId = await issued('alice', 'alice.mp4');
    const asService = await call(status, 'GET', `/uploads/${uploadId}`, await service());
    expect(asService.status).toBe(200);
    expect(asService.body).toMatchObject({ uploadId, status: 'ISSUED', fileName: 'alice.mp4' });
    expect((await call(status, 'GET', `/uploads/${uploadId}`, 'alice')).body).toEqual(asService.body);
    const lookAlike = { token: await serviceToken({ sub: 'mallory', scope: 'vod-upload:admins' }) };
    for (const caller of ['mallory', lookAlike]) {
      const answer = await call(status, 'GET', `/uploads/${uploadId}`, caller);
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('NotFound');
    }
  });
});

describe('DELETE /uploads/{uploadId}', () => {
  test('an ISSUED upload is DELETED at once; deleting again answers the same', async () => {
    const uploadId = await issued('alice');
    const first = await del(uploadId, 'alice');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ uploadId, status: 'DELETED', fileId: null });
    expect(first.body).not.toHaveProperty('mediaDeletion');
    const again = await del(uploadId.toUpperCase(), 'alice');
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('DELETED');
    expect((await get('/uploads?status=DELETED', 'alice')).body.uploads).toHaveLength(1);
  });

  test('an upload with a file: the media is deleted in VOD, the view keeps no URL', async () => {
    const { uploadId, fileId, mediaUrl } = await readyWithMedia('alice');
    expect((await fetch(mediaUrl)).status).toBe(200);
    const answer = await del(uploadId, 'alice');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'DELETED', fileId, renditions: [], cover: null, snapshots: [] });
    expect(answer.body.media).toEqual({ type: 'mp4', size: 1000, duration: 2 });
    expect(JSON.stringify(answer.body)).not.toContain('http');
    expect(await vodHas(fileId)).toBe(false);
    expect((await fetch(mediaUrl)).status).toBe(404);
    const listed = await get('/uploads', 'alice');
    expect(JSON.stringify(listed.body)).not.toContain('http');
  });

  test('VOD unreachable: 202 with mediaDeletion pending; the next cleanup run deletes the media', async () => {
    const { uploadId, fileId } = await readyWithMedia('alice');
    t.emulator.setFaults({ api: { internalErrorRate: 1, actions: ['DeleteMedia'] } });
    const answer = await del(uploadId, 'alice');
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ uploadId, status: 'DELETED', mediaDeletion: 'pending' });
    expect(JSON.stringify(answer.body)).not.toContain('http');
    expect((await del(uploadId, 'alice')).status).toBe(202);
    expect((await get('/uploads', 'alice')).body.uploads[0].mediaDeletion).toBe('pending');
    expect(await vodHas(fileId)).toBe(true);

    const config = loadConfig(env);
    const cleanup = () => runCleanup({ config, db: testDb.db, vod: createVodClient(config), log, deadline: Date.now() + 20_000 });
    // Still down: the step fails as a whole, the mark stays.
    const down = await cleanup();
    expect(down.mediaDeleted).toBe(0);
    expect(await vodHas(fileId)).toBe(true);
    t.emulator.setFaults({});
    const up = await cleanup();
    expect(up.mediaDeleted).toBe(1);
    expect(await vodHas(fileId)).toBe(false);
    const done = await del(uploadId, 'alice');
    expect(done.status).toBe(200);
    expect(done.body).not.toHaveProperty('mediaDeletion');
    expect((await cleanup()).mediaDeleted).toBe(0);
  }, 60_000);

  test('the cleanup finishes more pending deletions than one batch holds', async () => {
    const uploads = [];
    for (let i = 0; i < 5; i++) uploads.push(await readyWithMedia('alice'));
    t.emulator.setFaults({ api: { internalErrorRate: 1, actions: ['DeleteMedia'] } });
    for (const { uploadId } of uploads) expect((await del(uploadId, 'alice')).status).toBe(202);
    t.emulator.setFaults({});
    const config = loadConfig({ ...env, CLEANUP_BATCH_SIZE: '2' });
    const summary = await runCleanup({ config, db: testDb.db, vod: createVodClient(config), log, deadline: Date.now() + 20_000 });
    expect(summary.mediaDeleted).toBe(5);
    for (const { fileId } of uploads) expect(await vodHas(fileId)).toBe(false);
    expect((await get('/uploads', 'alice')).body.uploads.filter((u: { mediaDeletion?: string }) => u.mediaDeletion)).toEqual([]);
  }, 90_000);

  test('a file that arrives for an upload deleted while ISSUED is deleted as an orphan', async () => {
    const uploadId = await issued('alice');
    expect((await del(uploadId, 'alice')).status).toBe(200);
    const fileId = await uploadViaApi(t, vodClient(t.emulator), encodeUploadContext({ uploadId, userId: 'alice' }));
    const config = loadConfig(env);
    const summary = await runCleanup({ config, db: testDb.db, vod: createVodClient(config), log, deadline: Date.now() + 20_000 });
    expect(summary.eventsApplied).toBeGreaterThanOrEqual(1);
    expect(await vodHas(fileId)).toBe(false);
    const upload = await getUpload(testDb.db, uploadId);
    expect(upload).toMatchObject({ status: 'DELETED', fileId: null });
  }, 60_000);

  test('deletions racing the files that arrive for them: after the next cleanup run no deleted upload has media in VOD', async () => {
    const uploads = await Promise.all(Array.from({ length: 6 }, () => issued('alice')));
    const client = vodClient(t.emulator);
    const fileIds: string[] = [];
    for (const uploadId of uploads) fileIds.push(await uploadViaApi(t, client, encodeUploadContext({ uploadId })));
    // A light pipeline: the race is about rows and files, not about ffmpeg.
    const config = loadConfig({
      ...env,
      PIPELINE_TRANSCODE_DEFINITIONS: '100010',
      PIPELINE_SPRITE_DEFINITION: '0',
      PIPELINE_ADAPTIVE_DEFINITION: '0',
      PIPELINE_SNAPSHOT_DEFINITION: '0',
      PIPELINE_COVER_DEFINITION: '0',
    });
    const cleanup = () => runCleanup({ config, db: testDb.db, vod: createVodClient(config), log, deadline: Date.now() + 20_000 });
    // The pump applies NewFileUpload while the owner deletes, staggered so that both orders happen:
    // whichever takes the row first, the file goes.
    const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const [, ...answers] = await Promise.all([
      cleanup(),
      ...uploads.map(async (uploadId, i) => {
        await later(i * 250);
        return del(uploadId, 'alice');
      }),
    ]);
    expect(answers.map((a) => a.status)).toEqual(uploads.map(() => 200));
    await cleanup();
    for (const [i, uploadId] of uploads.entries()) {
      expect((await getUpload(testDb.db, uploadId))!.status).toBe('DELETED');
      expect(await vodHas(fileIds[i]!)).toBe(false);
    }
    await t.emulator.processing.idle();
  }, 90_000);

  test("another user's upload is the same 404 as a missing one, and stays as it was; a service token may delete it", async () => {
    const { uploadId, fileId } = await readyWithMedia('bob');
    for (const caller of ['mallory', { token: await serviceToken({ sub: 'mallory', scope: 'vod-upload:admins' }) }]) {
      const answer = await del(uploadId, caller);
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('NotFound');
    }
    expect((await del(randomUUID(), 'mallory')).status).toBe(404);
    expect((await getUpload(testDb.db, uploadId))!.status).toBe('READY');
    expect(await vodHas(fileId)).toBe(true);
    const byService = await del(uploadId, await service());
    expect(byService.status).toBe(200);
    expect(byService.body.status).toBe('DELETED');
    expect(await vodHas(fileId)).toBe(false);
  }, 30_000);

  test('a bad id is a 400 naming uploadId; no token a 401; another method a 405', async () => {
    const bad = await del('not-an-id', 'alice');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('uploadId');
    expect((await del(randomUUID(), undefined)).status).toBe(401);
    const put = await call(remove, 'PUT', `/uploads/${randomUUID()}`, 'alice');
    expect(put.status).toBe(405);
  });
});
