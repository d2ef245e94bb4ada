/**
 * Key hotlink protection of the emulator's media URLs (vod-protocol.md §8), with URLs signed by the
 * backend's own `signPlaybackUrl`: unsigned, expired, tampered and wrong-key URLs get 403; HLS segments
 * ride on the playlist's Dir signature; `exper` serves a preview; `rlimit` caps distinct client IPs.
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
  const { TaskId } = await client.ProcessMedia({ FileId: fileId, MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100010 }, { Definition: 100210 }] } });
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
  expect(await status(signed.replace(/t=([0-9a-f]+)/, (_, t: string) => `t=${(Number.parseInt(t, 16) + 1).toString(16)}`))).toBe(403);
  // A signature for another folder does not open this one.
  const elsewhere = signPlaybackUrl(mp4.replace(/\/[^/]+\/v\.f100010\.mp4$/, '/other/v.f100010.mp4'), { key: KEY, expiresAt: now() + 600 });
  expect(await status(`${mp4}?${elsewhere.split('?')[1]}`)).toBe(403);
  t.clock.advance(1000_000);
  try {
    expect(await status(signed)).toBe(403);
  } finally {
    t.clock.advance(-1000_000);
  }
});

test('HLS: segments are covered by the playlist signature; exper serves a preview', async () => {
  const playlist = await (await fetch(signPlaybackUrl(hls, { key: KEY, expiresAt: now() + 600 }))).text();
  const segments = playlist.split('\n').filter((l) => l && !l.startsWith('#'));
  expect(segments.length).toBeGreaterThan(1);
  for (const segment of segments) {
    expect(segment).toMatch(/\.ts\?t=[0-9a-f]+&sign=[0-9a-f]{32}$/);
    expect(await status(new URL(segment, hls).toString())).toBe(200);
    expect(await status(new URL(segment.split('?')[0]!, hls).toString())).toBe(403);
  }
  const preview = await (await fetch(signPlaybackUrl(hls, { key: KEY, expiresAt: now() + 600, exper: 5 }))).text();
  const previewSegments = preview.split('\n').filter((l) => l && !l.startsWith('#'));
  expect(previewSegments.length).toBeLessThan(segments.length);
  expect(preview.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
  // The preview's signature does not open the segments after it.
  const previewQuery = previewSegments[0]!.split('?')[1]!;
  expect(await status(new URL(`${previewSegments[0]!.split('?')[0]}?${previewQuery}`, hls).toString())).toBe(200);
  expect(await status(new URL(`${segments.at(-1)!.split('?')[0]}?${previewQuery}`, hls).toString())).toBe(403);

  const full = await ffprobe(await download(signPlaybackUrl(mp4, { key: KEY, expiresAt: now() + 600 }), work));
  const cut = await ffprobe(await download(signPlaybackUrl(mp4, { key: KEY, expiresAt: now() + 600, exper: 3 }), work));
  expect(Number(full.format.duration)).toBeGreaterThan(11);
  expect(Number(cut.format.duration)).toBeLessThan(5);
});

test('rlimit: a second client IP is refused, the first keeps playing', async () => {
  const url = signPlaybackUrl(mp4, { key: KEY, expiresAt: now() + 600, rlimit: 1, us: 'one-viewer' });
  const from = (localAddress: string) =>
    new Promise<number>((resolve, reject) => {
      http.get(url, { localAddress }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
  expect(await from('127.0.0.1')).toBe(200);
  expect(await from('127.0.0.2')).toBe(403);
  expect(await from('127.0.0.1')).toBe(200);
});
