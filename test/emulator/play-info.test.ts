/**
 * The play-info API (docs/vod-protocol/player-signature.md §11.2) on a really processed file: a good
 * Psign gets the media its contentInfo allows, with URLs carrying the Key hotlink query of its
 * urlAccessInfo (the emulator's CDN then serves them); an expired, tampered, wrongly keyed, wrong-file
 * or wrongly typed Psign is refused with a 4xx JSON answer naming the problem. tcplayer.js is not
 * installed here: the endpoint is checked against Tencent's doc and what the Player SDK reads.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { signPsign, type PsignClaims } from '#lib/player-signature';
import { PLAY_INFO_CODES } from '../../local/emulator/play-info.ts';
import { makeClip } from './media';
import { startTestEmulator, tempDir, uploadViaApi, vodClient } from './helpers';
import type { TestEmulator } from './helpers';

jest.setTimeout(120_000);

const PLAY_KEY = 'EmulatorPlayKey0123';
const HOTLINK_KEY = 'emulatorKey2026';
const work = tempDir('vod-emulator-playinfo-');
let t: TestEmulator;
let fileId: string;
let appId: number;

beforeAll(async () => {
  const clip = await makeClip(path.join(work, 'clip.mp4'), { width: 320, height: 180, seconds: 6, audio: true });
  t = await startTestEmulator({ hotlinkKey: HOTLINK_KEY, playKey: PLAY_KEY });
  appId = t.emulator.appId;
  const client = vodClient(t.emulator);
  fileId = await uploadViaApi(t, client, 'p', clip);
  await client.ProcessMedia({
    FileId: fileId,
    MediaProcessTask: {
      TranscodeTaskSet: [{ Definition: 100010 }],
      AdaptiveDynamicStreamingTaskSet: [{ Definition: 10 }],
      ImageSpriteTaskSet: [{ Definition: 10 }],
      CoverBySnapshotTaskSet: [{ Definition: 10, PositionType: 'Percent', PositionValue: 10 }],
    },
  });
  await t.emulator.processing.idle();
});

afterAll(async () => {
  await t?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

const now = () => Math.floor(t.clock.now() / 1000);
const claims = (overrides: Partial<PsignClaims> = {}): PsignClaims => ({
  appId,
  fileId,
  contentInfo: { audioVideoType: 'RawAdaptive', rawAdaptiveDefinition: 10, imageSpriteDefinition: 10 },
  currentTimeStamp: now(),
  expireTimeStamp: now() + 600,
  urlAccessInfo: { t: (now() + 900).toString(16), rlimit: 3, us: 'a1b2c3d4e5' },
  ...overrides,
});

async function playInfo(psign: string | undefined, app: number | string = appId, file = fileId) {
  const query = psign === undefined ? '' : `?psign=${encodeURIComponent(psign)}`;
  const res = await fetch(`${t.emulator.url}/getplayinfo/v4/${app}/${file}${query}`);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

test('a good Psign for the adaptive stream: its master playlist, sub-streams, sprite and cover, all signed and served', async () => {
  const { status, body } = await playInfo(await signPsign(claims(), PLAY_KEY));
  expect(status).toBe(200);
  expect(body).toMatchObject({ code: 0, version: 4, media: { audioVideoType: 'AdaptiveDynamicStream' } });
  const media = body.media;
  const master: string = media.streamingInfo.plainOutput.url;
  expect(master).toMatch(/\.m3u8\?t=[0-9a-f]+&rlimit=3&us=a1b2c3d4e5&sign=[0-9a-f]{32}$/);
  expect(media.streamingInfo.plainOutput.subStreams).toEqual(
    expect.arrayContaining([expect.objectContaining({ type: 'video', width: 320, height: 180, resolutionName: '240P' })]),
  );
  expect(media.imageSpriteInfo.imageUrls.length).toBeGreaterThan(0);
  expect(media.basicInfo.coverUrl).toContain('sign=');
  for (const url of [master, media.imageSpriteInfo.webVttUrl, media.imageSpriteInfo.imageUrls[0], media.basicInfo.coverUrl]) {
    expect([url, (await fetch(url)).status]).toEqual([url, 200]);
  }
  // The segments open with the playlist's query (one Dir signature), as a query-carrying player asks.
  const playlist = await (await fetch(master)).text();
  const sub = playlist.split('\n').find((line) => line.endsWith('.m3u8'))!;
  const query = new URL(master).search;
  expect((await fetch(new URL(sub, master).href.split('?')[0] + query)).status).toBe(200);
  // Without the sprite in contentInfo, no imageSpriteInfo.
  const bare = await playInfo(
    await signPsign(claims({ contentInfo: { audioVideoType: 'RawAdaptive', rawAdaptiveDefinition: 10 } }), PLAY_KEY),
  );
  expect(bare.body.media).not.toHaveProperty('imageSpriteInfo');
});

test('Transcode and Original give that output alone; exper carries into the URLs; no urlAccessInfo means unsigned URLs (403 at this CDN)', async () => {
  const transcode = await playInfo(
    await signPsign(
      claims({
        contentInfo: { audioVideoType: 'Transcode', transcodeDefinition: 100010 },
        urlAccessInfo: { t: (now() + 900).toString(16), exper: 30 },
      }),
      PLAY_KEY,
    ),
  );
  expect(transcode.body.media.audioVideoType).toBe('Transcode');
  expect(transcode.body.media).not.toHaveProperty('streamingInfo');
  expect(transcode.body.media.transcodeInfo.url).toMatch(/\.mp4\?t=[0-9a-f]+&exper=30&sign=/);
  expect((await fetch(transcode.body.media.transcodeInfo.url)).status).toBe(200);

  const original = await playInfo(
    await signPsign(claims({ contentInfo: { audioVideoType: 'Original' }, urlAccessInfo: undefined }), PLAY_KEY),
  );
  expect(original.body.media.audioVideoType).toBe('Original');
  expect(original.body.media.originalInfo.url).not.toContain('sign=');
  expect((await fetch(original.body.media.originalInfo.url)).status).toBe(403);
});

test('refused: missing, expired, tampered, wrongly keyed, wrong-file, wrong-app, wrongly typed and non-HS256 Psigns; unknown files and content', async () => {
  const refused = async (
    psign: string | undefined,
    code: number,
    status: number,
    message: RegExp,
    app: number | string = appId,
    file = fileId,
  ) => {
    const answer = await playInfo(psign, app, file);
    expect([answer.status, answer.body.code]).toEqual([status, code]);
    expect(answer.body.message).toMatch(message);
    expect(answer.body).not.toHaveProperty('media');
  };
  await refused(undefined, PLAY_INFO_CODES.PsignMissing, 403, /psign is required/);
  await refused(await signPsign(claims({ expireTimeStamp: now() - 1 }), PLAY_KEY), PLAY_INFO_CODES.PsignExpired, 403, /expired/);
  const good = await signPsign(claims(), PLAY_KEY);
  const [h, p, s] = good.split('.') as [string, string, string];
  const forged = Buffer.from(
    JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), expireTimeStamp: now() + 10 ** 6 }),
  ).toString('base64url');
  await refused(`${h}.${forged}.${s}`, PLAY_INFO_CODES.PsignInvalid, 403, /signature does not match/);
  await refused(await signPsign(claims(), 'AnotherPlayKey0123'), PLAY_INFO_CODES.PsignInvalid, 403, /signature does not match/);
  await refused(
    await signPsign(claims({ fileId: '5285890784200000999' }), PLAY_KEY),
    PLAY_INFO_CODES.PsignMismatch,
    403,
    /not for app/,
  );
  await refused(good, PLAY_INFO_CODES.PsignMismatch, 403, /not for app/, appId, '5285890784200000999');
  await refused(good, PLAY_INFO_CODES.AppNotFound, 404, /no application/, 1234567);
  await refused(
    await signPsign({ ...claims(), appId: String(appId) } as unknown as PsignClaims, PLAY_KEY),
    PLAY_INFO_CODES.PsignInvalid,
    403,
    /appId must be an integer/,
  );
  await refused(
    await signPsign(claims({ contentInfo: { audioVideoType: 'Transocde' as 'Transcode' } }), PLAY_KEY),
    PLAY_INFO_CODES.PsignInvalid,
    403,
    /audioVideoType/,
  );
  await refused(
    await signPsign(
      claims({ contentInfo: { audioVideoType: 'Transcode', transcodeDefinition: '100010' as unknown as number } }),
      PLAY_KEY,
    ),
    PLAY_INFO_CODES.PsignInvalid,
    403,
    /transcodeDefinition must be an integer/,
  );
  await refused(
    await signPsign(claims({ urlAccessInfo: { t: (now() + 900).toString(16), exper: 10 } }), PLAY_KEY),
    PLAY_INFO_CODES.PsignInvalid,
    403,
    /exper/,
  );
  const hs512 = await new SignJWT({ ...claims() })
    .setProtectedHeader({ alg: 'HS512', typ: 'JWT' })
    .sign(new TextEncoder().encode(PLAY_KEY));
  await refused(hs512, PLAY_INFO_CODES.PsignInvalid, 403, /HS256/);
  const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
  await refused(unsigned, PLAY_INFO_CODES.PsignInvalid, 403, /HS256|not a JWT/);
  await refused('not-a-jwt', PLAY_INFO_CODES.PsignInvalid, 403, /not a JWT/);
  await refused(
    await signPsign(claims({ contentInfo: { audioVideoType: 'Transcode', transcodeDefinition: 100030 } }), PLAY_KEY),
    PLAY_INFO_CODES.ContentNotFound,
    404,
    /no transcode of template 100030/,
  );
  await refused(good, PLAY_INFO_CODES.InvalidParameter, 400, /decimal/, 'abc');
  const unknownFile = await signPsign(claims({ fileId: '5285890784200000998' }), PLAY_KEY);
  await refused(unknownFile, PLAY_INFO_CODES.FileNotFound, 404, /no file/, appId, '5285890784200000998');
});

test('the backend signs, the emulator accepts: a Psign from GET /uploads is the credential this API takes', async () => {
  // The same protocol code on both sides (lib/player-signature.ts), checked end to end in test/system.
  const psign = await signPsign(claims({ urlAccessInfo: undefined }), PLAY_KEY);
  expect((await playInfo(psign)).status).toBe(200);
  const noKey = await startTestEmulator({});
  try {
    const answer = await fetch(`${noKey.emulator.url}/getplayinfo/v4/${noKey.emulator.appId}/${fileId}?psign=${psign}`);
    expect(answer.status).toBe(403);
    expect(((await answer.json()) as { code: number }).code).toBe(PLAY_INFO_CODES.PlayKeyNotSet);
  } finally {
    await noKey.close();
  }
});
