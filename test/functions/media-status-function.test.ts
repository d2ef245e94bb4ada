import { randomUUID } from 'node:crypto';
import { insertIssuedUpload, updateUpload } from '#lib/upload-store';
import { openTestDatabase, truncateAll, type TestDatabase } from '../support/db';
import { functionEnv } from '../support/env';
import { functionUrlEvent, loadFunction, type HttpMainHandler } from '../support/function';
import { userToken } from '../support/jwt';
import { expectAnswerMatchesOpenApi } from '../support/openapi';

let testDb: TestDatabase;
let handler: HttpMainHandler;

beforeAll(async () => {
  testDb = await openTestDatabase();
  handler = loadFunction('media-status', functionEnv(testDb.url ? { DATABASE_URL: testDb.url } : { DATA_DIR: testDb.dataDir }));
}, 60_000);
afterAll(() => testDb.close());
beforeEach(() => truncateAll(testDb.db));

async function get(path: string, user?: string) {
  const headers: Record<string, string> = user ? { authorization: `Bearer ${await userToken(user)}` } : {};
  const event = functionUrlEvent('GET', path, undefined, headers);
  const result = await handler(event);
  expectAnswerMatchesOpenApi(event, result);
  return { status: result.statusCode, body: result.body ? JSON.parse(result.body) : undefined };
}

test('the owner sees status, media and every produced file; anyone else gets 404', async () => {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId: 'alice', fileName: 'holiday.mp4', signatureExpiresAt: new Date(Date.now() + 60_000) });
  const issued = await get(`/uploads/${uploadId}`, 'alice');
  expect(issued.status).toBe(200);
  expect(issued.body).toMatchObject({ uploadId, status: 'ISSUED', fileId: null, fileName: 'holiday.mp4', renditions: [], cover: null, error: null });
  expect(issued.body.signatureExpiresAt).toEqual(expect.any(String));

  await updateUpload(testDb.db, uploadId, {
    status: 'READY',
    fileId: '5285890784200000001',
    media: { type: 'mp4', duration: 12.5, width: 1280, height: 720, size: 1000, mediaUrl: 'https://vod.example/o.mp4' },
    result: {
      renditions: [{ definition: 100030, url: 'https://vod.example/v.f100030.mp4', width: 1280, height: 720 }],
      cover: { url: 'https://vod.example/cover.jpg' },
      snapshots: [{ url: 'https://vod.example/s1.jpg', timeOffsetMs: 1000 }],
      sprite: { imageUrls: ['https://vod.example/sprite.jpg'], webVttUrl: 'https://vod.example/sprite.vtt' },
    },
  });
  const ready = await get(`/uploads/${uploadId.toUpperCase()}`, 'alice');
  expect(ready.body).toMatchObject({
    status: 'READY',
    fileId: '5285890784200000001',
    media: { duration: 12.5, width: 1280, height: 720, url: 'https://vod.example/o.mp4' },
    renditions: [{ definition: 100030, url: 'https://vod.example/v.f100030.mp4' }],
    cover: { url: 'https://vod.example/cover.jpg' },
    snapshots: [{ url: 'https://vod.example/s1.jpg' }],
    sprite: { imageUrls: ['https://vod.example/sprite.jpg'], webVttUrl: 'https://vod.example/sprite.vtt' },
  });
  expect(ready.body).not.toHaveProperty('signatureExpiresAt');

  expect((await get(`/uploads/${uploadId}`, 'mallory')).status).toBe(404);
  expect((await get(`/uploads/${randomUUID()}`, 'alice')).status).toBe(404);
});

test('bad ids, missing auth and wrong methods are 4xx with a JSON error', async () => {
  const bad = await get('/uploads/not-an-id', 'alice');
  expect(bad.status).toBe(400);
  expect(bad.body.error.field).toBe('uploadId');
  expect((await get(`/uploads/${randomUUID()}`)).status).toBe(401);
  const postEvent = functionUrlEvent('POST', `/uploads/${randomUUID()}`, {});
  const post = await handler(postEvent);
  expectAnswerMatchesOpenApi(postEvent, post);
  expect(post.statusCode).toBe(405);
});

test('with a hotlink key, every media URL is signed for its lifetime plus the video duration', async () => {
  const { verifyPlaybackUrl } = await import('#lib/playback-url-signer');
  const signedHandler = loadFunction(
    'media-status',
    functionEnv({ ...(testDb.url ? { DATABASE_URL: testDb.url } : { DATA_DIR: testDb.dataDir }), HOTLINK_KEY: 'HotlinkKey2026', HOTLINK_URL_TTL_SECONDS: '600' }),
  );
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 60_000) });
  await updateUpload(testDb.db, uploadId, {
    status: 'READY',
    media: { duration: 120, mediaUrl: 'https://vod.example/dir/o.mp4' },
    result: { renditions: [{ definition: 100030, url: 'https://vod.example/dir/v.f100030.mp4' }], cover: { url: 'https://vod.example/dir/c.jpg' } },
  });
  const event = functionUrlEvent('GET', `/uploads/${uploadId}`, undefined, { authorization: `Bearer ${await userToken('alice')}` });
  const result = await signedHandler(event);
  expectAnswerMatchesOpenApi(event, result);
  const body = JSON.parse(result.body);
  const now = Math.floor(Date.now() / 1000);
  for (const url of [body.media.url, body.renditions[0].url, body.cover.url] as string[]) {
    const query = new URL(url).searchParams;
    expect(parseInt(query.get('t')!, 16)).toBeGreaterThanOrEqual(now + 600 + 120 - 2);
    expect(query.get('us')).toBeTruthy();
    expect(verifyPlaybackUrl(url, 'HotlinkKey2026', now)).toBe('ok');
    expect(verifyPlaybackUrl(url.replace('/dir/', '/other/'), 'HotlinkKey2026', now)).toBe('mismatch');
    expect(verifyPlaybackUrl(url, 'HotlinkKey2026', now + 600 + 120 + 301)).toBe('expired');
  }
});
