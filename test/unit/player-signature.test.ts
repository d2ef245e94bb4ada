import { decodeProtectedHeader, jwtVerify } from 'jose';
import { loadConfig } from '#lib/config';
import { contentInfoFor, psignClaims, signPsign, type PsignClaims } from '#lib/player-signature';
import type { Upload } from '#lib/upload-store';

/**
 * Tencent's worked example (doc 266/38099 intl, "Player Signature", calculation example). Its encoded
 * payload names the content `contentInfo1` (a typo in the doc, kept here so the known answer matches).
 */
const DOC_KEY = 'TxtyhLlgo7J3iOADIron';
const DOC_TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhcHBJZCI6MTI1NTU2NjY1NSwiZmlsZUlkIjoiNDU2NDk3MjgxODUxOTYwMjQ0NyIsImNvbnRlbnRJbmZvMSI6eyJhdWRpb1ZpZGVvVHlwZSI6IlJhd0FkYXB0aXZlIiwicmF3QWRhcHRpdmVEZWZpbml0aW9uIjoxMCwiaW1hZ2VTcHJpdGVEZWZpbml0aW9uIjoxMH0sImN1cnJlbnRUaW1lU3RhbXAiOjE2NjMwNjQyNzYsImV4cGlyZVRpbWVTdGFtcCI6MTY2MzI5NDIxMCwidXJsQWNjZXNzSW5mbyI6eyJ0IjoiNjMyM2U2YjAiLCJybGltaXQiOjMsInVzIjoiNzJkNGNkMTEwMSJ9fQ.QFcBX9830ysTzJIyZxoOlRmNb2Gqy2fns9yOfriaDI8';

test("signPsign reproduces the doc's token: header {alg: HS256, typ: JWT}, HMAC-SHA256 with the play key", async () => {
  const payload = JSON.parse(Buffer.from(DOC_TOKEN.split('.')[1]!, 'base64url').toString('utf8')) as PsignClaims;
  expect(await signPsign(payload, DOC_KEY)).toBe(DOC_TOKEN);
});

const env = {
  VOD_SECRET_ID: 'AKIDtest',
  VOD_SECRET_KEY: 'secret',
  AUTH_MODE: 'none',
  PLAYBACK_KEY: 'PlayKey0123456789abc',
  VOD_APP_ID: '1500000001',
};

function readyUpload(result: Upload['result'], duration = 30): Upload {
  const now = new Date();
  return {
    uploadId: '6f1c2a4e-0000-4000-8000-000000000001',
    userId: 'alice',
    status: 'READY',
    fileName: 'a.mp4',
    fileSize: 1,
    fileType: 'mp4',
    coverType: null,
    fileId: '5285890784200000001',
    taskId: null,
    procedure: null,
    media: { duration, mediaUrl: 'https://1500000001.vod2.myqcloud.com/dir/o.mp4' },
    result,
    error: null,
    review: null,
    processedAt: null,
    distributionForbidden: false,
    signatureExpiresAt: now,
    createdAt: now,
    updatedAt: now,
    statusChangedAt: now,
  };
}

const pipeline = { adaptiveDefinition: 10, spriteDefinition: 10 };
const sprite = { imageUrls: ['https://x/s.jpg'], webVttUrl: 'https://x/s.vtt' };

describe('contentInfoFor: the adaptive stream, else the transcodes, else the original', () => {
  test('an adaptive stream: RawAdaptive with its template (it is clear HLS, not ProtectedAdaptive)', () => {
    expect(
      contentInfoFor(
        {
          adaptiveStreams: [{ url: 'https://x/a.m3u8', definition: 10 }],
          renditions: [{ url: 'https://x/v.mp4', definition: 100030 }],
          sprite,
        },
        pipeline,
      ),
    ).toEqual({
      audioVideoType: 'RawAdaptive',
      rawAdaptiveDefinition: 10,
      imageSpriteDefinition: 10,
    });
  });
  test('transcodes only: Transcode with the largest rendition', () => {
    const renditions = [
      { url: 'https://x/1.mp4', definition: 100010, width: 640, height: 360 },
      { url: 'https://x/3.mp4', definition: 100030, width: 1280, height: 720 },
      { url: 'https://x/2.mp4', definition: 100020, width: 960, height: 540 },
    ];
    expect(contentInfoFor({ renditions }, pipeline)).toEqual({ audioVideoType: 'Transcode', transcodeDefinition: 100030 });
  });
  test('nothing processed: Original; the sprite only when there is one', () => {
    expect(contentInfoFor({}, pipeline)).toEqual({ audioVideoType: 'Original' });
    expect(contentInfoFor({ sprite }, pipeline)).toEqual({ audioVideoType: 'Original', imageSpriteDefinition: 10 });
  });
});

/** The doc's parameter tables: name → JavaScript type. */
const DOC_TYPES = {
  appId: 'integer',
  fileId: 'string',
  contentInfo: 'object',
  currentTimeStamp: 'integer',
  expireTimeStamp: 'integer',
  urlAccessInfo: 'object',
} as const;
const URL_ACCESS_TYPES = {
  t: 'string',
  exper: 'integer',
  rlimit: 'integer',
  us: 'string',
  domain: 'string',
  scheme: 'string',
} as const;

function typeOf(value: unknown): string {
  return Number.isInteger(value) ? 'integer' : typeof value;
}

test("a signed Psign decodes (jose, play key) to the doc's field names and types, expiring after PLAYBACK_TTL_SECONDS", async () => {
  const config = loadConfig(
    { ...env, PLAYBACK_TTL_SECONDS: '600', HOTLINK_KEY: 'HotlinkKey2026', HOTLINK_RLIMIT: '3', HOTLINK_PREVIEW_SECONDS: '45' },
    {},
  );
  const upload = readyUpload({
    adaptiveStreams: [{ url: 'https://1500000001.vod2.myqcloud.com/dir/adp.10.m3u8', definition: 10 }],
    sprite,
  });
  const nowMs = 1_800_000_000_000;
  const claims = psignClaims(upload, { ...config, playback: config.playback! }, { nowMs, preview: true });
  const token = await signPsign(claims, 'PlayKey0123456789abc');
  expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
  const { payload } = await jwtVerify(token, new TextEncoder().encode('PlayKey0123456789abc'), { algorithms: ['HS256'] });
  expect(Object.keys(payload).sort()).toEqual(Object.keys(DOC_TYPES).sort());
  for (const [name, type] of Object.entries(DOC_TYPES)) expect([name, typeOf(payload[name])]).toEqual([name, type]);
  const access = payload.urlAccessInfo as Record<string, unknown>;
  for (const [name, type] of Object.entries(URL_ACCESS_TYPES)) expect([name, typeOf(access[name])]).toEqual([name, type]);
  expect(payload).toMatchObject({
    appId: 1500000001,
    fileId: '5285890784200000001',
    currentTimeStamp: 1_800_000_000,
    expireTimeStamp: 1_800_000_600,
  });
  // t: lower-case hex of the URL expiry (HOTLINK_URL_TTL_SECONDS + duration), as the answer's URLs.
  expect(access).toMatchObject({
    t: (1_800_000_000 + 3600 + 30).toString(16),
    exper: 45,
    rlimit: 3,
    domain: '1500000001.vod2.myqcloud.com',
    scheme: 'HTTPS',
  });
  expect(access.us).toMatch(/^[0-9a-f]{10}$/);
  await expect(jwtVerify(token, new TextEncoder().encode('AnotherKey0123456789'))).rejects.toThrow();
});

test('no hotlink key: no urlAccessInfo; no preview: no exper; a fresh us per signature', () => {
  const plain = loadConfig(env, {});
  const upload = readyUpload({ renditions: [{ url: 'https://x/v.mp4', definition: 100030 }] });
  expect(psignClaims(upload, { ...plain, playback: plain.playback! })).not.toHaveProperty('urlAccessInfo');
  const hotlinked = loadConfig({ ...env, HOTLINK_KEY: 'HotlinkKey2026', HOTLINK_PREVIEW_SECONDS: '45' }, {});
  const a = psignClaims(upload, { ...hotlinked, playback: hotlinked.playback! });
  const b = psignClaims(upload, { ...hotlinked, playback: hotlinked.playback! });
  expect(a.urlAccessInfo).not.toHaveProperty('exper');
  expect(a.urlAccessInfo?.us).not.toBe(b.urlAccessInfo?.us);
});

test('configuration: PLAYBACK_KEY needs an app id (VOD_APP_ID, else the sub-app), a preview of 30 s or more; bad values are named', () => {
  expect(() => loadConfig({ ...env, VOD_APP_ID: undefined }, {})).toThrow(/VOD_APP_ID/);
  expect(loadConfig({ ...env, VOD_APP_ID: undefined, VOD_SUB_APP_ID: '1500000002' }, {}).playback?.appId).toBe(1500000002);
  expect(() => loadConfig({ ...env, HOTLINK_KEY: 'HotlinkKey2026', HOTLINK_PREVIEW_SECONDS: '10' }, {})).toThrow(
    /HOTLINK_PREVIEW_SECONDS/,
  );
  expect(() => loadConfig({ ...env, PLAYBACK_AUDIENCE: 'everyone' }, {})).toThrow(/PLAYBACK_AUDIENCE/);
  expect(() => loadConfig({ ...env, PLAYBACK_KEY: 'short' }, {})).toThrow(/PLAYBACK_KEY/);
  expect(() => loadConfig({ ...env, PLAYBACK_TTL_SECONDS: '5' }, {})).toThrow(/PLAYBACK_TTL_SECONDS/);
  expect(loadConfig({ ...env }, {}).playback).toEqual({
    key: 'PlayKey0123456789abc',
    appId: 1500000001,
    ttlSeconds: 3600,
    audience: 'owner',
  });
  expect(loadConfig({ ...env, PLAYBACK_KEY: undefined }, {}).playback).toBeUndefined();
});
