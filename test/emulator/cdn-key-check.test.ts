/**
 * Key hotlink protection of the emulator's media URLs (docs/vod-protocol/hotlink.md §8), with URLs signed by the
 * backend's own `signPlaybackUrl`: unsigned, expired, tampered and wrong-key URLs get 403; HLS playlists
 * are not rewritten, so only a player that carries the playlist's query to its segments plays them (the
 * Dir signature covers them); `exper` serves a preview; `rlimit` caps distinct client IPs.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { signPlaybackUrl } from '#lib/playback-url-signer';
import { download, ffprobe, makeClip } from './media';
import { startTestEmulator, tempDir, uploadViaApi, vodClient } from './helpers';
import type { TestEmulator, VodClient } from './helpers';

jest.setTimeout(60_000);

const KEY = 'emulatorKey2026';
const work = tempDir('vod-emulator-hotlink-');
let t: TestEmulator;
let client: VodClient;
let mp4: string;
let hls: string;
let original: string;

beforeAll(async () => {
  const clip = await makeClip(path.join(work, 'long.mp4'), { width: 160, height: 90, seconds: 12, audio: true });
  t = await startTestEmulator({ hotlinkKey: KEY });
  client = vodClient(t.emulator);
  const fileId = await uploadViaApi(t, client, 'h', clip);
  const { TaskId } = await client.ProcessMedia({
    FileId: fileId,
    MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100010 }, { Definition: 100210 }] },
  });
  await t.emulator.processing.idle();
  const task = (await client.DescribeTaskDetail({ TaskId: TaskId! })).ProcedureTask!;
  [mp4, hls] = task.MediaProcessResultSet!.map((r) => r.TranscodeTask!.Output!.Url!) as [string, string];
  original = (await client.DescribeMediaInfos({ FileIds: [fileId] })).MediaInfoSet![0]!.BasicInfo!.MediaUrl!;
});

afterAll(async () => {
  await t?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

const now = () => Math.floor(t.clock.now() / 1000);
const status = async (url: string) => (await fetch(url)).status;

test('unsigned, expired, tampered or wrongly keyed URLs get 403; signed ones play', async () => {
  for (const url of [original, mp4, hls]) {
    expect(await status(url)).toBe(403);
    expect(await status(signPlaybackUrl(url, { key: KEY, expiresAt: now() + 600, us: 'abc123' }))).toBe(200);
  }
  expect(await status(signPlaybackUrl(mp4, { key: KEY, expiresAt: now() - 100 }))).toBe(200); // 300 s of skew
  expect(await status(signPlaybackUrl(mp4, { key: KEY, expiresAt: now() - 400 }))).toBe(403);
  expect(await status(signPlaybackUrl(mp4, { key: 'someOtherKey1', expiresAt: now() + 600 }))).toBe(403);
  const signed = signPlaybackUrl(mp4, { key: KEY, expiresAt: now() + 600 });
  expect(await status(signed.replace(/t=([0-9a-f]+)/, (_, t: string) => `t=${(Number.parseInt(t, 16) + 1).toString(16)}`))).toBe(
    403,
  );
  // A signature for another folder does not open this one.
  const elsewhere = signPlaybackUrl(mp4.replace(/\/[^/]+\/v\.f100010\.mp4$/, '/other/v.f100010.mp4'), {
    key: KEY,
    expiresAt: now() + 600,
  });
  expect(await status(`${mp4}?${elsewhere.split('?')[1]}`)).toBe(403);
  t.clock.advance(1000_000);
  try {
    expect(await status(signed)).toBe(403);
  } finally {
    t.clock.advance(-1000_000);
  }
});

/** What a player that does no rewriting fetches: the playlist, then each URI resolved against its URL. */
async function plainPlayer(playlistUrl: string): Promise<{ uris: string[]; statuses: number[] }> {
  const uris = (await (await fetch(playlistUrl)).text()).split('\n').filter((l) => l && !l.startsWith('#'));
  return { uris, statuses: await Promise.all(uris.map((uri) => status(new URL(uri, playlistUrl).toString()))) };
}

/** A player that carries the playlist's query to every URI it resolves (hls.js with a loader hook, say). */
async function queryCarryingPlayer(playlistUrl: string): Promise<number[]> {
  const { uris } = await plainPlayer(playlistUrl);
  const query = new URL(playlistUrl).search;
  return Promise.all(uris.map((uri) => status(`${new URL(uri, playlistUrl).toString()}${query}`)));
}

test('HLS: the playlist is served as stored; a plain player gets 403 for segments, a query-carrying one plays', async () => {
  const signed = signPlaybackUrl(hls, { key: KEY, expiresAt: now() + 600, us: 'hls-viewer' });
  const plain = await plainPlayer(signed);
  expect(plain.uris.length).toBeGreaterThan(1);
  for (const uri of plain.uris) expect(uri).toMatch(/^[^?]+\.ts$/); // not rewritten: no query added
  expect(plain.statuses.every((s) => s === 403)).toBe(true);
  // The one Dir signature covers every segment beside the playlist.
  expect((await queryCarryingPlayer(signed)).every((s) => s === 200)).toBe(true);
});

test('HLS: exper serves a preview playlist, and its signature does not open the later segments', async () => {
  const segments = (await plainPlayer(signPlaybackUrl(hls, { key: KEY, expiresAt: now() + 600 }))).uris;
  const previewUrl = signPlaybackUrl(hls, { key: KEY, expiresAt: now() + 600, exper: 5 });
  const preview = await (await fetch(previewUrl)).text();
  const previewSegments = preview.split('\n').filter((l) => l && !l.startsWith('#'));
  expect(previewSegments.length).toBeLessThan(segments.length);
  expect(preview.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
  const query = new URL(previewUrl).search;
  expect(await status(`${new URL(previewSegments[0]!, hls).toString()}${query}`)).toBe(200);
  expect(await status(`${new URL(segments.at(-1)!, hls).toString()}${query}`)).toBe(403);
});

test('MP4: exper cuts the file to the preview', async () => {
  const full = await ffprobe(await download(signPlaybackUrl(mp4, { key: KEY, expiresAt: now() + 600 }), work));
  const cut = await ffprobe(await download(signPlaybackUrl(mp4, { key: KEY, expiresAt: now() + 600, exper: 3 }), work));
  expect(Number(full.format.duration)).toBeGreaterThan(11);
  expect(Number(cut.format.duration)).toBeLessThan(5);
});

test('rlimit: a second client IP is refused, the first keeps playing', async () => {
  const url = signPlaybackUrl(mp4, { key: KEY, expiresAt: now() + 600, rlimit: 1, us: 'one-viewer' });
  const from = (localAddress: string) =>
    new Promise<number>((resolve, reject) => {
      http
        .get(url, { localAddress }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
  expect(await from('127.0.0.1')).toBe(200);
  expect(await from('127.0.0.2')).toBe(403);
  expect(await from('127.0.0.1')).toBe(200);
});
