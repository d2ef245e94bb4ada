import { randomUUID } from 'node:crypto';
import { jwtVerify } from 'jose';
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
  await insertIssuedUpload(testDb.db, {
    uploadId,
    userId: 'alice',
    fileName: 'holiday.mp4',
    signatureExpiresAt: new Date(Date.now() + 60_000),
  });
  const issued = await get(`/uploads/${uploadId}`, 'alice');
  expect(issued.status).toBe(200);
  expect(issued.body).toMatchObject({
    uploadId,
    status: 'ISSUED',
    fileId: null,
    fileName: 'holiday.mp4',
    renditions: [],
    cover: null,
    error: null,
  });
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
    functionEnv({
      ...(testDb.url ? { DATABASE_URL: testDb.url } : { DATA_DIR: testDb.dataDir }),
      HOTLINK_KEY: 'HotlinkKey2026',
      HOTLINK_URL_TTL_SECONDS: '600',
    }),
  );
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 60_000) });
  await updateUpload(testDb.db, uploadId, {
    status: 'READY',
    media: { duration: 120, mediaUrl: 'https://vod.example/dir/o.mp4' },
    result: {
      renditions: [{ definition: 100030, url: 'https://vod.example/dir/v.f100030.mp4' }],
      cover: { url: 'https://vod.example/dir/c.jpg' },
    },
  });
  const event = functionUrlEvent('GET', `/uploads/${uploadId}`, undefined, {
    authorization: `Bearer ${await userToken('alice')}`,
  });
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

describe('playback: a Psign for Tencent players (PLAYBACK_KEY)', () => {
  const PLAY_KEY = 'PlayKey0123456789abc';
  const dbEnv = () => (testDb.url ? { DATABASE_URL: testDb.url } : { DATA_DIR: testDb.dataDir });
  const playbackHandler = (extra: Record<string, string> = {}) =>
    loadFunction('media-status', functionEnv({ ...dbEnv(), PLAYBACK_KEY: PLAY_KEY, VOD_APP_ID: '1500000001', ...extra }));
  const call = async (
    h: HttpMainHandler,
    path: string,
    user?: string,
    query: Record<string, string> = {},
    headers: Record<string, string> = {},
  ) => {
    const auth: Record<string, string> = user ? { authorization: `Bearer ${await userToken(user)}` } : {};
    const event = { ...functionUrlEvent('GET', path, undefined, { ...auth, ...headers }), queryString: query };
    const result = await h(event);
    return { status: result.statusCode, body: result.body ? JSON.parse(result.body) : undefined };
  };
  async function readyUpload(owner = 'alice') {
    const uploadId = randomUUID();
    await insertIssuedUpload(testDb.db, {
      uploadId,
      userId: owner,
      fileName: 'private-name.mp4',
      signatureExpiresAt: new Date(Date.now() + 60_000),
    });
    await updateUpload(testDb.db, uploadId, {
      status: 'READY',
      fileId: '5285890784200000002',
      media: { duration: 20, mediaUrl: 'https://1500000001.vod2.myqcloud.com/d/o.mp4' },
      result: {
        adaptiveStreams: [{ url: 'https://1500000001.vod2.myqcloud.com/d/adp.10.m3u8', definition: 10 }],
        renditions: [{ definition: 100030, url: 'https://1500000001.vod2.myqcloud.com/d/v.mp4' }],
        sprite: {
          imageUrls: ['https://1500000001.vod2.myqcloud.com/d/s.jpg'],
          webVttUrl: 'https://1500000001.vod2.myqcloud.com/d/s.vtt',
        },
      },
    });
    return uploadId;
  }
  const verify = async (psign: string) =>
    (await jwtVerify(psign, new TextEncoder().encode(PLAY_KEY), { algorithms: ['HS256'] })).payload;

  test('a READY upload carries { appId, fileId, psign, expiresAt }; the play key is never in the answer', async () => {
    const h = playbackHandler({ PLAYBACK_TTL_SECONDS: '900' });
    const uploadId = await readyUpload();
    const { status, body } = await call(h, `/uploads/${uploadId}`, 'alice');
    expect(status).toBe(200);
    expect(body.playback).toEqual({
      appId: 1500000001,
      fileId: '5285890784200000002',
      psign: expect.any(String),
      expiresAt: expect.any(String),
    });
    const claims = await verify(body.playback.psign);
    expect(claims).toMatchObject({
      appId: 1500000001,
      fileId: '5285890784200000002',
      contentInfo: { audioVideoType: 'RawAdaptive', rawAdaptiveDefinition: 10, imageSpriteDefinition: 10 },
    });
    expect((claims.expireTimeStamp as number) - (claims.currentTimeStamp as number)).toBe(900);
    expect(new Date(body.playback.expiresAt).getTime()).toBe((claims.expireTimeStamp as number) * 1000);
    expect(JSON.stringify(body)).not.toContain(PLAY_KEY);
    // Not READY: no playback part.
    const issued = randomUUID();
    await insertIssuedUpload(testDb.db, { uploadId: issued, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 60_000) });
    expect((await call(h, `/uploads/${issued}`, 'alice')).body).not.toHaveProperty('playback');
    // Without PLAYBACK_KEY: none either.
    expect((await call(handler, `/uploads/${uploadId}`, 'alice')).body).not.toHaveProperty('playback');
  });

  test('PLAYBACK_AUDIENCE: owner (default) hides it from others; any-user shows others the playback part alone; public needs no token', async () => {
    const uploadId = await readyUpload('alice');
    expect((await call(playbackHandler(), `/uploads/${uploadId}`, 'bob')).status).toBe(404);

    const anyUser = playbackHandler({ PLAYBACK_AUDIENCE: 'any-user' });
    const seen = await call(anyUser, `/uploads/${uploadId}`, 'bob');
    expect(seen.status).toBe(200);
    expect(Object.keys(seen.body).sort()).toEqual(['playback', 'status', 'uploadId']);
    expect(JSON.stringify(seen.body)).not.toContain('private-name');
    expect((await call(anyUser, `/uploads/${uploadId}`)).status).toBe(401);
    const notReady = randomUUID();
    await insertIssuedUpload(testDb.db, {
      uploadId: notReady,
      userId: 'alice',
      signatureExpiresAt: new Date(Date.now() + 60_000),
    });
    expect((await call(anyUser, `/uploads/${notReady}`, 'bob')).status).toBe(404);

    const pub = playbackHandler({ PLAYBACK_AUDIENCE: 'public' });
    const anonymous = await call(pub, `/uploads/${uploadId}`);
    expect(anonymous.status).toBe(200);
    expect(Object.keys(anonymous.body).sort()).toEqual(['playback', 'status', 'uploadId']);
    expect((await call(pub, `/uploads/${notReady}`)).status).toBe(404);
    // A token that is there is checked: a bad one is a 401, not an anonymous view.
    const bad = await call(pub, `/uploads/${uploadId}`, undefined, {}, { authorization: 'Bearer not.a.token' });
    expect(bad.status).toBe(401);
    // The owner still sees everything.
    expect((await call(pub, `/uploads/${uploadId}`, 'alice')).body.fileName).toBe('private-name.mp4');
  });

  test('?preview=1: the Psign and every URL carry exper = HOTLINK_PREVIEW_SECONDS; bad preview values are 400', async () => {
    const h = playbackHandler({ HOTLINK_KEY: 'HotlinkKey2026', HOTLINK_PREVIEW_SECONDS: '45', HOTLINK_RLIMIT: '2' });
    const uploadId = await readyUpload();
    const full = await call(h, `/uploads/${uploadId}`, 'alice');
    expect(new URL(full.body.renditions[0].url).searchParams.has('exper')).toBe(false);
    expect((await verify(full.body.playback.psign)).urlAccessInfo).not.toHaveProperty('exper');

    const preview = await call(h, `/uploads/${uploadId}`, 'alice', { preview: '1' });
    expect(preview.status).toBe(200);
    for (const url of [preview.body.renditions[0].url, preview.body.adaptiveStreams[0].url, preview.body.sprite.webVttUrl]) {
      expect(new URL(url).searchParams.get('exper')).toBe('45');
    }
    expect((await verify(preview.body.playback.psign)).urlAccessInfo).toMatchObject({
      exper: 45,
      rlimit: 2,
      domain: '1500000001.vod2.myqcloud.com',
      scheme: 'HTTPS',
      us: expect.any(String),
    });

    const bad = await call(h, `/uploads/${uploadId}`, 'alice', { preview: 'yes please' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ field: 'preview' });
    const unavailable = await call(playbackHandler(), `/uploads/${uploadId}`, 'alice', { preview: '1' });
    expect(unavailable.status).toBe(400);
    expect(unavailable.body.error.message).toMatch(/HOTLINK_PREVIEW_SECONDS/);
  });
});
