/**
 * ForbidMediaDistribution through tencentcloud-sdk-nodejs-vod (docs/vod-protocol/media-api.md §5.10): its
 * request checks, `NotExistFileIdSet`, the CDN's 403 for every file of a forbidden media (source, renditions,
 * HLS playlist and segments, snapshots, cover), with and without Key hotlink protection, `BasicInfo.Status`,
 * outputs added while forbidden, `recover`, and the flag surviving a restart. Another media of the same
 * application is never touched.
 */
import fs from 'node:fs';
import path from 'node:path';
import { signPlaybackUrl } from '#lib/playback-url-signer';
import { makeClip } from './media';
import { CLIP, startTestEmulator, tempDir, uploadViaApi, vodClient } from './helpers';
import type { TestEmulator, VodClient } from './helpers';

jest.setTimeout(90_000);

const KEY = 'forbidKey2026';
const SUB_APP = 1500000321;
const work = tempDir('vod-emulator-forbid-');
let t: TestEmulator;
let client: VodClient;
let processed: string;
let other: string;
/** Every URL of the processed media: source, MP4, HLS playlist, one HLS segment, snapshot, cover. */
let urls: { source: string; mp4: string; hls: string; segment: string; snapshot: string; cover: string };
let otherUrl: string;
/** A GIF made while the media was forbidden. */
let laterGif: string;

beforeAll(async () => {
  const clip = await makeClip(path.join(work, 'short.mp4'), { width: 160, height: 90, seconds: 2, audio: false });
  t = await startTestEmulator({ subAppIds: [SUB_APP] });
  client = vodClient(t.emulator);
  processed = await uploadViaApi(t, client, 'forbid', clip);
  other = await uploadViaApi(t, client, 'other', CLIP);
  await client.ProcessMedia({
    FileId: processed,
    MediaProcessTask: {
      TranscodeTaskSet: [{ Definition: 100010 }, { Definition: 100210 }],
      SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ['1s'] }],
      CoverBySnapshotTaskSet: [{ Definition: 10, PositionType: 'Time', PositionValue: 0 }],
    },
  });
  await t.emulator.processing.idle();
  const [info] = (await client.DescribeMediaInfos({ FileIds: [processed] })).MediaInfoSet!;
  const transcodes = info!.TranscodeInfo!.TranscodeSet!;
  const hls = transcodes.find((x) => x.Definition === 100210)!.Url!;
  const segment = (await (await fetch(hls)).text()).split('\n').find((line) => line && !line.startsWith('#'))!;
  urls = {
    source: info!.BasicInfo!.MediaUrl!,
    mp4: transcodes.find((x) => x.Definition === 100010)!.Url!,
    hls,
    segment: new URL(segment, hls).toString(),
    snapshot: info!.SnapshotByTimeOffsetInfo!.SnapshotByTimeOffsetSet![0]!.PicInfoSet![0]!.Url!,
    cover: info!.BasicInfo!.CoverUrl!,
  };
  otherUrl = (await client.DescribeMediaInfos({ FileIds: [other] })).MediaInfoSet![0]!.BasicInfo!.MediaUrl!;
});

afterAll(async () => {
  await t?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

const statusOf = async (url: string, method = 'GET') => (await fetch(url, { method })).status;
const statuses = async (sign?: (url: string) => string) =>
  Object.fromEntries(
    await Promise.all(Object.entries(urls).map(async ([name, url]) => [name, await statusOf(sign ? sign(url) : url)])),
  );
const every = (status: number) => Object.fromEntries(Object.keys(urls).map((name) => [name, status]));
const basicStatus = async (fileId: string) =>
  (await client.DescribeMediaInfos({ FileIds: [fileId], Filters: ['basicInfo'] })).MediaInfoSet![0]!.BasicInfo!.Status;

test('the media is served and Normal before anything is forbidden', async () => {
  expect(await statuses()).toEqual(every(200));
  expect(urls.cover).toMatch(/cover\./);
  expect(await basicStatus(processed)).toBe('Normal');
});

test('bad requests are refused as VOD refuses them, and change nothing', async () => {
  const refused = (params: Record<string, unknown>) => client.ForbidMediaDistribution(params as never);
  await expect(refused({ Operation: 'forbid' })).rejects.toMatchObject({ code: 'MissingParameter' });
  await expect(refused({ FileIds: [], Operation: 'forbid' })).rejects.toMatchObject({ code: 'MissingParameter' });
  const many = Array.from({ length: 21 }, (_, i) => (i === 0 ? processed : `52858900000000000${String(i).padStart(2, '0')}`));
  await expect(refused({ FileIds: many, Operation: 'forbid' })).rejects.toMatchObject({
    code: 'InvalidParameterValue.FileIds',
    message: expect.stringMatching(/20/),
  });
  await expect(refused({ FileIds: [Number(processed.slice(0, 10))], Operation: 'forbid' })).rejects.toMatchObject({
    code: 'InvalidParameterValue.FileIds',
  });
  await expect(refused({ FileIds: [processed] })).rejects.toMatchObject({ code: 'MissingParameter', message: /Operation/ });
  for (const operation of ['ban', 'Forbid', 'FORBID', 'unblock'])
    await expect(refused({ FileIds: [processed], Operation: operation })).rejects.toMatchObject({
      code: 'InvalidParameterValue',
      message: expect.stringContaining('forbid, recover'),
    });
  await expect(refused({ FileIds: [processed], Operation: 'forbid', SubAppId: 42 })).rejects.toMatchObject({
    code: 'InvalidParameterValue.SubAppId',
  });
  expect(await basicStatus(processed)).toBe('Normal');
  expect(await statusOf(urls.source)).toBe(200);
});

test('unknown ids, and ids of another application, are listed in NotExistFileIdSet, not an error', async () => {
  const unknown = '5285890000000000001';
  expect(await client.ForbidMediaDistribution({ FileIds: [unknown], Operation: 'forbid' })).toMatchObject({
    NotExistFileIdSet: [unknown],
  });
  // The sub-application holds neither file: nothing is forbidden in the primary application.
  expect(
    await client.ForbidMediaDistribution({ FileIds: [processed, other], Operation: 'forbid', SubAppId: SUB_APP }),
  ).toMatchObject({ NotExistFileIdSet: [processed, other] });
  expect(await basicStatus(processed)).toBe('Normal');
  expect(await statusOf(urls.source)).toBe(200);
});

test('forbid: every URL of the media answers 403 at once, GET and HEAD; the other media still plays', async () => {
  const unknown = '5285890000000000002';
  const answer = await client.ForbidMediaDistribution({ FileIds: [processed, unknown], Operation: 'forbid' });
  expect(answer.NotExistFileIdSet).toEqual([unknown]);
  expect(answer.RequestId).toEqual(expect.any(String));
  expect(await statuses()).toEqual(every(403));
  expect(await statusOf(urls.mp4, 'HEAD')).toBe(403);
  const body = await (await fetch(urls.source)).text();
  expect(body).toContain('ForbidMediaDistribution');
  // A file of its folder that does not exist is refused too (403, not 404): the whole media is off.
  expect(await statusOf(urls.source.replace(/[^/]+$/, 'v.f100030.mp4'))).toBe(403);
  expect(await basicStatus(processed)).toBe('Forbidden');
  const searched = await client.SearchMedia({ FileIds: [processed, other], Filters: ['basicInfo'] });
  expect(Object.fromEntries(searched.MediaInfoSet!.map((m) => [m.FileId, m.BasicInfo!.Status]))).toEqual({
    [processed]: 'Forbidden',
    [other]: 'Normal',
  });
  expect(await statusOf(otherUrl)).toBe(200);
  // Forbidding twice is no error and changes nothing.
  expect(await client.ForbidMediaDistribution({ FileIds: [processed], Operation: 'forbid' })).toMatchObject({
    NotExistFileIdSet: [],
  });
  expect(await statusOf(urls.snapshot)).toBe(403);
  // Processing goes on, and what it adds to a forbidden media is forbidden too.
  const { TaskId } = await client.ProcessMedia({
    FileId: processed,
    MediaProcessTask: { AnimatedGraphicTaskSet: [{ Definition: 20000, StartTimeOffset: 0, EndTimeOffset: 1 }] },
  });
  await t.emulator.processing.idle();
  const task = (await client.DescribeTaskDetail({ TaskId: TaskId! })).ProcedureTask!;
  laterGif = task.MediaProcessResultSet![0]!.AnimatedGraphicTask!.Output!.Url!;
  expect(laterGif).toMatch(/\.gif$/);
  expect(await statusOf(laterGif)).toBe(403);
});

test('the flag survives a restart; with hotlink protection on, even a validly signed URL gets 403', async () => {
  t.options.hotlinkKey = KEY;
  await t.restart();
  client = vodClient(t.emulator);
  expect(await basicStatus(processed)).toBe('Forbidden');
  const signed = (url: string) =>
    signPlaybackUrl(url, { key: KEY, expiresAt: Math.floor(t.clock.now() / 1000) + 600, us: 'forbid' });
  expect(await statuses(signed)).toEqual(every(403));
  expect(await (await fetch(signed(urls.mp4))).text()).toContain('ForbidMediaDistribution');
  // Signed URLs of the other media play: the 403 is the forbidden media's, not the key check's.
  expect(await statusOf(signed(otherUrl))).toBe(200);
  expect(await statusOf(otherUrl)).toBe(403);
});

test('recover: signed URLs play again, unsigned ones meet the key check only; Status is Normal', async () => {
  expect(await client.ForbidMediaDistribution({ FileIds: [processed], Operation: 'recover' })).toMatchObject({
    NotExistFileIdSet: [],
  });
  expect(await basicStatus(processed)).toBe('Normal');
  const signed = (url: string) => signPlaybackUrl(url, { key: KEY, expiresAt: Math.floor(t.clock.now() / 1000) + 600 });
  expect(await statuses(signed)).toEqual(every(200));
  expect(await statusOf(signed(laterGif))).toBe(200);
  expect(await (await fetch(urls.source)).text()).toContain('hotlink protection');
  t.options.hotlinkKey = undefined;
  await t.restart();
  client = vodClient(t.emulator);
  expect(await statuses()).toEqual(every(200));
  expect(await basicStatus(processed)).toBe('Normal');
});

test('a forbidden media can be deleted', async () => {
  await client.ForbidMediaDistribution({ FileIds: [other], Operation: 'forbid' });
  expect(await statusOf(otherUrl)).toBe(403);
  await client.DeleteMedia({ FileId: other });
  expect((await client.DescribeMediaInfos({ FileIds: [other] })).NotExistFileIdSet).toEqual([other]);
  expect(await statusOf(otherUrl)).toBe(404);
});
