/**
 * Media processing in the emulator, driven through tencentcloud-sdk-nodejs-vod: ProcessMedia on short
 * generated clips (landscape with audio through every task type, rotated portrait without audio, a time
 * range and timed watermarks), outputs checked with ffprobe and by pixels; events parsed with the backend's
 * own parser; DescribeTaskDetail, DescribeTasks, SessionId de-dup. Failures, aborts, request errors and
 * priority order are in processing-failures-and-order.test.ts.
 */
import path from 'node:path';
import { parseVodEvent, summariseProcessing } from '#lib/vod-event';
import type { ProcedureStateChangedEvent } from '#lib/vod-event';
import { omitNulls } from '../../local/emulator/events.ts';
import { audioStream, download, ffprobe, makeClip, meanColour, meanDiff, rgb, streamsOf, videoStream } from './media';
import { uploadViaApi } from './helpers';
import { client, finished, procedureEvents, result, t, useProcessingEmulator, work } from './processing-fixture';

let landscape: string;
let portrait: string;

useProcessingEmulator(async () => {
  [landscape, portrait] = await Promise.all([
    makeClip(path.join(work, 'landscape.mp4'), { width: 960, height: 540, seconds: 3, audio: true }),
    // Stored 960x540, displayed 540x960.
    makeClip(path.join(work, 'portrait.mp4'), { width: 960, height: 540, seconds: 2, audio: false, rotate: 90 }),
  ]);
});

describe('a landscape clip with audio through every task type', () => {
  let fileId: string;
  let taskId: string;
  let task: any;

  beforeAll(async () => {
    fileId = await uploadViaApi(t, client, 'ctx', landscape);
    const reply = await client.ProcessMedia({
      FileId: fileId,
      MediaProcessTask: {
        TranscodeTaskSet: [
          { Definition: 100010, WatermarkSet: [{ Definition: 501 }] },
          { Definition: 100030 },
          { Definition: 100210 },
        ],
        SnapshotByTimeOffsetTaskSet: [
          { Definition: 10, ExtTimeOffsetSet: ['1s', '50%'], TimeOffsetSet: [500] },
          // Same definition again: a watermarked variant of 1 s, compared with the plain one below.
        ],
        SampleSnapshotTaskSet: [{ Definition: 10 }],
        ImageSpriteTaskSet: [{ Definition: 10 }],
        CoverBySnapshotTaskSet: [{ Definition: 10, PositionType: 'Percent', PositionValue: 50 }],
        AnimatedGraphicTaskSet: [{ Definition: 20000, StartTimeOffset: 0, EndTimeOffset: 2 }],
        AdaptiveDynamicStreamingTaskSet: [{ Definition: 10 }],
      },
      TasksPriority: 3,
      TasksNotifyMode: 'Change',
      SessionContext: 'upload-123',
      SessionId: 'landscape-v1',
    });
    taskId = reply.TaskId!;
    task = await finished(taskId);
  });

  test('the task id, and every subtask succeeded with times and progress', () => {
    expect(taskId).toMatch(/^1500000001-procedurev2-[0-9a-f]{32}t0$/);
    expect(task).toMatchObject({
      TaskId: taskId,
      Status: 'FINISH',
      FileId: fileId,
      SessionContext: 'upload-123',
      SessionId: 'landscape-v1',
      TasksPriority: 3,
      TasksNotifyMode: 'Change',
    });
    expect(task.MediaProcessResultSet).toHaveLength(9);
    for (const entry of task.MediaProcessResultSet) {
      const sub = Object.entries(entry).find(([k, v]) => k.endsWith('Task') && v)![1] as any;
      expect(sub).toMatchObject({ Status: 'SUCCESS', ErrCode: 0, ErrCodeExt: '', Progress: 100 });
      expect(Date.parse(sub.BeginProcessTime)).toBeLessThanOrEqual(Date.parse(sub.FinishTime));
    }
  });

  test('MP4 renditions: scaled to the preset height, never upscaled, h264 + aac, same duration', async () => {
    const low = await ffprobe(await download(result(task, 'Transcode', 100010).Output.Url, work));
    expect(videoStream(low)).toMatchObject({ codec_name: 'h264', width: 640, height: 360 });
    expect(audioStream(low)).toMatchObject({ codec_name: 'aac', sample_rate: '44100' });
    expect(Number(low.format.duration)).toBeCloseTo(3, 0);
    // 720p asked of a 540p source: stays 960x540.
    const out = result(task, 'Transcode', 100030).Output;
    expect(out).toMatchObject({ Definition: 100030, Width: 960, Height: 540 });
    expect(videoStream(await ffprobe(await download(out.Url, work)))).toMatchObject({ width: 960, height: 540 });
  });

  test('the image watermark (template 501, top right) is in the picture', async () => {
    const file = await download(result(task, 'Transcode', 100010).Output.Url, work);
    // 640x360 output: the watermark is 20 % wide (128 px) at 4 % from the top-right corner.
    const marked = meanColour(await rgb(file, { seconds: 1, crop: [500, 25, 100, 30] }));
    expect(marked[0]).toBeGreaterThan(190);
    expect(marked[1]).toBeLessThan(90);
    expect(marked[2]).toBeLessThan(90);
    // The same region of the source (scaled ×1.5) is not that red.
    const source = meanColour(await rgb(landscape, { seconds: 1, crop: [750, 37, 150, 45] }));
    expect(Math.abs(source[0] - marked[0]) + Math.abs(source[1] - marked[1]) + Math.abs(source[2] - marked[2])).toBeGreaterThan(
      80,
    );
  });

  test('HLS rendition: a VOD playlist whose segments are served', async () => {
    const out = result(task, 'Transcode', 100210).Output;
    expect(out).toMatchObject({ Container: 'hls', Width: 640, Height: 360 });
    const playlist = await (await fetch(out.Url)).text();
    expect(playlist).toContain('#EXT-X-ENDLIST');
    const segment = playlist.split('\n').find((l) => l.endsWith('.ts'))!;
    const segmentUrl = new URL(segment, out.Url).toString();
    const response = await fetch(segmentUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('video/mp2t');
    const streams = await streamsOf(await download(out.Url.replace(/[^/]+$/, segment), work));
    expect(streams.video).toMatchObject({ codec: 'h264', width: 640, height: 360 });
    expect(streams.audio).toMatchObject({ codec: 'aac' });
  });

  test('time-offset snapshots are at the requested times ("1s", "50%", 500 ms)', async () => {
    const out = result(task, 'SnapshotByTimeOffset').Output;
    expect(out.PicInfoSet.map((p: any) => p.TimeOffset)).toEqual([1000, 1500, 500]);
    const files = await Promise.all(out.PicInfoSet.map((p: any) => download(p.Url, work)));
    expect(videoStream(await ffprobe(files[0]))).toMatchObject({ codec_name: 'mjpeg', width: 960, height: 540 });
    const at1 = await rgb(files[0]);
    const sourceAt1 = await rgb(landscape, { seconds: 1 });
    const sourceAt2 = await rgb(landscape, { seconds: 2.5 });
    expect(meanDiff(at1, sourceAt1)).toBeLessThan(4);
    expect(meanDiff(at1, sourceAt2)).toBeGreaterThan(meanDiff(at1, sourceAt1) + 4);
    expect(meanDiff(await rgb(files[1]), await rgb(landscape, { seconds: 1.5 }))).toBeLessThan(4);
  });

  test('sample snapshots: ten images, every 10 %', async () => {
    const out = result(task, 'SampleSnapshot').Output;
    expect(out).toMatchObject({ Definition: 10, SampleType: 'Percent', Interval: 10 });
    expect(out.ImageUrlSet).toHaveLength(10);
    const images = await Promise.all(out.ImageUrlSet.map((u: string) => download(u, work)));
    // 0 % and 90 % are different moments of the clip.
    expect(meanDiff(await rgb(images[0]), await rgb(images[9]))).toBeGreaterThan(3);
  });

  test('image sprite: a 10x10 grid of 142x80 and a WebVTT that indexes it', async () => {
    const out = result(task, 'ImageSprites').Output;
    expect(out).toMatchObject({ Definition: 10, Width: 142, Height: 80, TotalCount: 1 });
    expect(out.ImageUrlSet).toHaveLength(1);
    const sprite = videoStream(await ffprobe(await download(out.ImageUrlSet[0], work)));
    expect(sprite).toMatchObject({ width: 1420, height: 800 });
    const vtt = await (await fetch(out.WebVttUrl)).text();
    const cues = [...vtt.matchAll(/^(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n(.+)#xywh=(\d+),(\d+),(\d+),(\d+)$/gm)];
    expect(vtt.startsWith('WEBVTT')).toBe(true);
    expect(cues).toHaveLength(out.TotalCount);
    const [, start, end, url, x, y, w, h] = cues[0]!;
    expect(start).toBe('00:00:00.000');
    expect(end).toMatch(/^00:00:0(2\.9|3\.0)/);
    expect(out.ImageUrlSet).toContain(url);
    expect([x, y, w, h].map(Number)).toEqual([0, 0, 142, 80]);
  });

  test('cover by snapshot becomes the media cover; GIF and adaptive HLS are there; DescribeMediaInfos lists all', async () => {
    const cover = result(task, 'CoverBySnapshot').Output.CoverUrl;
    const gif = result(task, 'AnimatedGraphics').Output;
    expect(gif).toMatchObject({
      Definition: 20000,
      Container: 'gif',
      Width: 960,
      Height: 540,
      StartTimeOffset: 0,
      EndTimeOffset: 2,
    });
    expect(videoStream(await ffprobe(await download(gif.Url, work)))).toMatchObject({ codec_name: 'gif', width: 960 });
    const adaptive = result(task, 'AdaptiveDynamicStreaming').Output;
    // Renditions that fit a 540p source: 360p and 540p, not 720p and up.
    expect(adaptive.SubStreamSet.map((s: any) => s.Height)).toEqual([360, 540]);
    const master = await (await fetch(adaptive.Url)).text();
    expect(master).toMatch(/RESOLUTION=640x360[\s\S]*RESOLUTION=960x540/);
    for (const line of master.split('\n').filter((l) => l.endsWith('.m3u8')))
      expect((await fetch(new URL(line, adaptive.Url))).status).toBe(200);

    const info = (await client.DescribeMediaInfos({ FileIds: [fileId] })).MediaInfoSet![0]!;
    expect(info.BasicInfo!.CoverUrl).toBe(cover);
    expect((await fetch(cover)).headers.get('content-type')).toBe('image/jpeg');
    expect(info.TranscodeInfo!.TranscodeSet.map((s) => s.Definition)).toEqual([100010, 100030, 100210]);
    expect(info.SnapshotByTimeOffsetInfo!.SnapshotByTimeOffsetSet[0]!.PicInfoSet).toHaveLength(3);
    expect(info.SampleSnapshotInfo!.SampleSnapshotSet[0]!.ImageUrlSet).toHaveLength(10);
    expect(info.ImageSpriteInfo!.ImageSpriteSet[0]!.WebVttUrl).toMatch(/\.vtt$/);
    expect(info.AnimatedGraphicsInfo!.AnimatedGraphicsSet[0]!.Url).toBe(gif.Url);
    expect(info.AdaptiveDynamicStreamingInfo!.AdaptiveDynamicStreamingSet[0]!.Url).toBe(adaptive.Url);
  });

  test('Change mode: a PROCESSING event per subtask change, then one FINISH; all parse with parseVodEvent', () => {
    const mine = procedureEvents(taskId);
    expect(mine).toHaveLength(2 * 9);
    expect(mine.slice(0, -1).every((e) => e.ProcedureStateChangeEvent.Status === 'PROCESSING')).toBe(true);
    for (const content of mine) {
      for (const form of [content, omitNulls(content)]) {
        const event = parseVodEvent(form);
        expect(event.kind).toBe('ProcedureStateChanged');
      }
    }
    const last = parseVodEvent(omitNulls(mine[mine.length - 1])) as ProcedureStateChangedEvent;
    expect(last).toMatchObject({ status: 'FINISH', taskId, fileId, sessionContext: 'upload-123', sessionId: 'landscape-v1' });
    const summary = summariseProcessing(last);
    expect(summary.outcome).toBe('SUCCESS');
    expect(summary.renditions.map((r) => r.definition)).toEqual([100010, 100030, 100210]);
    expect(summary.cover?.url).toBe(result(task, 'CoverBySnapshot').Output.CoverUrl);
    expect(summary.sprite?.webVttUrl).toMatch(/\.vtt$/);
  });

  test('DescribeTaskDetail returns the same ProcedureTask: it parses as the event does (the reconciler path)', async () => {
    const detail = await client.DescribeTaskDetail({ TaskId: taskId });
    const event = parseVodEvent({
      EventType: 'ProcedureStateChanged',
      ProcedureStateChangeEvent: detail.ProcedureTask,
    }) as ProcedureStateChangedEvent;
    expect(event).toMatchObject({ taskId, fileId, status: 'FINISH', sessionId: 'landscape-v1' });
    const fromEvent = parseVodEvent(omitNulls(procedureEvents(taskId).at(-1))) as ProcedureStateChangedEvent;
    expect(summariseProcessing(event)).toEqual(summariseProcessing(fromEvent));
    expect(detail.CreateTime! <= detail.BeginProcessTime! && detail.BeginProcessTime! <= detail.FinishTime!).toBe(true);
  });

  test('DescribeTasks finds the task by FileId, with its SessionId', async () => {
    const { TaskSet } = await client.DescribeTasks({ FileId: fileId });
    expect(TaskSet).toEqual([
      expect.objectContaining({
        TaskId: taskId,
        Status: 'FINISH',
        FileId: fileId,
        TaskType: 'Procedure',
        SessionId: 'landscape-v1',
        SessionContext: 'upload-123',
      }),
    ]);
    expect(TaskSet![0]!.CreateTime).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  test('a repeated SessionId is refused within 3 days, accepted after', async () => {
    const again = {
      FileId: fileId,
      MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ['1s'] }] },
      SessionId: 'landscape-v1',
      TasksNotifyMode: 'None',
    };
    await expect(client.ProcessMedia(again)).rejects.toMatchObject({ code: 'InvalidParameterValue.SessionId' });
    // Three days later for the SDK (which signs with Date.now) and the emulator (whose clock follows it).
    const later = 3 * 24 * 3600_000 + 1000;
    jest.useFakeTimers({
      doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'queueMicrotask'],
      now: Date.now() + later,
    });
    let TaskId: string | undefined;
    try {
      ({ TaskId } = await client.ProcessMedia(again));
    } finally {
      jest.useRealTimers();
    }
    expect(TaskId).toBeTruthy();
    await t.emulator.processing.idle();
    expect(procedureEvents(TaskId!)).toHaveLength(0); // None: never notified
  });
});

test('a rotated portrait clip without audio: display orientation kept, no audio stream; text watermark in the snapshot', async () => {
  const fileId = await uploadViaApi(t, client, 'p', portrait);
  const { TaskId } = await client.ProcessMedia({
    FileId: fileId,
    MediaProcessTask: {
      TranscodeTaskSet: [{ Definition: 100010 }],
      SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ['1s'] }],
      CoverBySnapshotTaskSet: [
        {
          Definition: 10,
          PositionType: 'Time',
          PositionValue: 1,
          WatermarkSet: [{ Definition: 502, TextContent: 'HELLO EMULATOR' }],
        },
      ],
    },
  });
  const task = await finished(TaskId!);
  const out = result(task, 'Transcode', 100010).Output;
  expect(out).toMatchObject({ Width: 360, Height: 640, AudioStreamSet: [] });
  const probed = await ffprobe(await download(out.Url, work));
  expect(videoStream(probed)).toMatchObject({ codec_name: 'h264', width: 360, height: 640 });
  expect(audioStream(probed)).toBeUndefined();
  expect(videoStream(probed).tags?.rotate ?? '0').toBe('0');
  expect(videoStream(probed).side_data_list?.find((d) => d.rotation)).toBeUndefined();

  // Same moment with and without the text watermark (502: bottom left): only that corner differs.
  const plain = await download(result(task, 'SnapshotByTimeOffset').Output.PicInfoSet[0].Url, work);
  const marked = await download(result(task, 'CoverBySnapshot').Output.CoverUrl, work);
  expect(videoStream(await ffprobe(plain))).toMatchObject({ width: 540, height: 960 });
  const corner: [number, number, number, number] = [20, 880, 300, 70];
  const elsewhere: [number, number, number, number] = [300, 40, 200, 200];
  expect(meanDiff(await rgb(plain, { crop: corner }), await rgb(marked, { crop: corner }))).toBeGreaterThan(8);
  expect(meanDiff(await rgb(plain, { crop: elsewhere }), await rgb(marked, { crop: elsewhere }))).toBeLessThan(2);
});

test('a transcode time range, and watermarks limited to a time window', async () => {
  const fileId = await uploadViaApi(t, client, 'range', landscape);
  const window = (start: number, end: number) => [{ Definition: 501, StartTimeOffset: start, EndTimeOffset: end }];
  const { TaskId } = await client.ProcessMedia({
    FileId: fileId,
    MediaProcessTask: {
      TranscodeTaskSet: [{ Definition: 100010, StartTimeOffset: 1, EndTimeOffset: 2.5, WatermarkSet: window(2, 3) }],
      SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ['1s'], WatermarkSet: window(0, 0.5) }],
      CoverBySnapshotTaskSet: [{ Definition: 10, PositionType: 'Time', PositionValue: 1, WatermarkSet: window(0.8, 1.5) }],
    },
  });
  const task = await finished(TaskId!);
  const red = (c: [number, number, number]) => c[0] > 190 && c[1] < 90 && c[2] < 90;
  // Output seconds 0–1.5 are source seconds 1–2.5; the watermark shows from source second 2.
  const clip = await download(result(task, 'Transcode').Output.Url, work);
  expect(Number((await ffprobe(clip)).format.duration)).toBeCloseTo(1.5, 0);
  expect(red(meanColour(await rgb(clip, { seconds: 0.3, crop: [500, 25, 100, 30] })))).toBe(false);
  expect(red(meanColour(await rgb(clip, { seconds: 1.3, crop: [500, 25, 100, 30] })))).toBe(true);
  // 960x540 snapshots: the watermark is 192 px wide, 38 px from the right, 22 px from the top.
  const region: [number, number, number, number] = [760, 40, 120, 40];
  const snapshot = await download(result(task, 'SnapshotByTimeOffset').Output.PicInfoSet[0].Url, work);
  expect(meanDiff(await rgb(snapshot, { crop: region }), await rgb(landscape, { seconds: 1, crop: region }))).toBeLessThan(6);
  const cover = await download(result(task, 'CoverBySnapshot').Output.CoverUrl, work);
  expect(red(meanColour(await rgb(cover, { crop: region })))).toBe(true);
});
