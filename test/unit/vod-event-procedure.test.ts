/**
 * The ProcedureStateChanged event (docs/vod-protocol/events.md) and summariseProcessing: the documented examples
 * and our own pipeline, failed subtasks, Change-mode partials, nulls and unknown task types; where the reader is
 * lenient because Tencent is inconsistent; and the results the summary must not read as READY.
 */
import {
  MISSING_OUTPUT,
  UNFINISHED_SUBTASK,
  eventDedupeKey,
  parseVodEvent,
  summariseProcessing,
  type ProcedureStateChangedEvent,
} from '#lib/vod-event';
import { OUR_FILE, OUR_TASK, UPLOAD_ID, fixture, parseAs, procedure, withoutNulls } from '../support/vod-event-fixtures';

describe('ProcedureStateChanged', () => {
  test('documented PUSH example: Transcode + CoverBySnapshot', () => {
    const event = procedure('procedure-state-changed.push.json');
    expect(event).toMatchObject({
      taskId: '1256768367-Procedure-475b72xxxcb177t1',
      status: 'FINISH',
      fileId: '5285890784246869930',
      errCode: 0,
    });
    const [transcode, cover] = event.results;
    expect(transcode).toEqual({
      type: 'Transcode',
      status: 'SUCCESS',
      errCode: 0,
      errCodeExt: '',
      message: 'SUCCESS',
      progress: 100,
      beginProcessTime: undefined,
      finishTime: undefined,
      input: { definition: 20, watermarkDefinitions: [] },
      output: {
        url: 'https://1256768367.vod2.myqcloud.com/xxx/xxx/v.f20.mp4',
        definition: 0,
        width: 640,
        height: 480,
        bitrate: 552218,
        size: 4189073,
        duration: 60.04700088501,
        container: 'mov,mp4,m4a,3gp,3g2,mj2',
        md5: 'eff7031ad7877865f9a3240e9ab165ad',
        videoStreams: [{ bitrate: 503727, height: 480, width: 640, codec: 'h264', fps: 24, codecTag: undefined }],
        audioStreams: [{ bitrate: 48491, samplingRate: 44100, codec: 'aac' }],
        digitalWatermarkType: undefined,
        fileId: undefined,
      },
    });
    expect(cover).toMatchObject({
      type: 'CoverBySnapshot',
      status: 'SUCCESS',
      input: { definition: 10 },
      output: { coverUrl: 'http://1256768367.vod2.myqcloud.com/xxx/xxx/xxx.100_0.jpg' },
    });

    const summary = summariseProcessing(event);
    expect(summary.outcome).toBe('SUCCESS');
    // The doc reports Definition 0 for the template-20 output: the requested template wins.
    expect(summary.renditions.map((r) => [r.definition, r.url])).toEqual([
      [20, 'https://1256768367.vod2.myqcloud.com/xxx/xxx/v.f20.mp4'],
    ]);
    expect(summary.cover).toEqual({ url: 'http://1256768367.vod2.myqcloud.com/xxx/xxx/xxx.100_0.jpg', definition: 10 });
  });

  test('documented PULL entry (nulls everywhere) reads like its PUSH form', () => {
    const event = procedure('procedure-state-changed.pull.json');
    expect(event.eventHandle).toBe('EventHandle1');
    expect(event.results.map((r) => r.type)).toEqual(['Transcode', 'CoverBySnapshot']);
    expect(event.results[0]).toMatchObject({ input: { definition: 20, watermarkDefinitions: [] } });
    const pushForm = parseVodEvent({
      ...(withoutNulls(fixture('procedure-state-changed.pull.json')) as object),
      EventHandle: undefined,
    });
    expect(pushForm).toEqual({ ...event, eventHandle: undefined });
  });

  test('documented screenshot example: time-offset, sample (as PicInfoSet), sprite, cover; malformed Input tolerated', () => {
    const event = procedure('procedure-state-changed.snapshots.push.json');
    expect(event.tasksNotifyMode).toBeUndefined(); // the doc sends ""
    expect(event.errCode).toBe(0);
    const [byOffset, sample, sprite] = event.results;
    // The doc's Input repeats "Definition", the last one being [3, 6, 9].
    expect(byOffset).toMatchObject({ type: 'SnapshotByTimeOffset', input: { definition: undefined } });

    const summary = summariseProcessing(event);
    expect(summary.outcome).toBe('SUCCESS');
    expect(summary.snapshots).toEqual([
      { definition: 10, timeOffsetMs: 3, url: 'http://1256768367.vod2.myqcloud.com/xxx/xxx/xxx1.jpg' },
      { definition: 10, timeOffsetMs: 6, url: 'http://1256768367.vod2.myqcloud.com/xxx/xxx/xxx2.jpg' },
      { definition: 10, timeOffsetMs: 9, url: 'http://1256768367.vod2.myqcloud.com/xxx/xxx/xxx3.jpg' },
    ]);
    expect(sample).toMatchObject({ type: 'SampleSnapshot' });
    expect(summary.sampleSnapshots[0]?.imageUrls).toHaveLength(10);
    expect(sprite).toMatchObject({ type: 'ImageSprites' });
    expect(summary.sprite).toEqual({
      definition: 10,
      width: 142,
      height: 80,
      totalCount: 1,
      imageUrls: ['http://1256768367.vod2.myqcloud.com/xxx/xxx/xxx1.jpg'],
      webVttUrl: 'http://1256768367.vod2.myqcloud.com/xxx/xxx/xxx.vtt',
    });
    expect(summary.cover?.url).toBe('http://1256768367.vod2.myqcloud.com/xxx/xxx/xxx.jpg');
  });

  test('documented adaptive streaming example: package upper-cased, "" DRM is none', () => {
    const summary = summariseProcessing(procedure('procedure-state-changed.adaptive-streaming.push.json'));
    expect(summary.adaptiveStreams.map((s) => [s.definition, s.package, s.drmType, s.url])).toEqual([
      [10, 'HLS', undefined, 'http://1256768367.vod2.myqcloud.com/xxx/xxx/adp.10.m3u8'],
      [20, 'DASH', undefined, 'http://1256768367.vod2.myqcloud.com/xxx/xxx/adp.20.mpd'],
    ]);
  });

  test('documented animated graphics example', () => {
    const summary = summariseProcessing(procedure('procedure-state-changed.animated-graphics.push.json'));
    expect(summary.animatedGraphics).toEqual([
      {
        url: 'http://1256768367.vod2.myqcloud.com/xxx/xxx/v.f20001.webp',
        definition: 20001,
        container: 'webp',
        width: 640,
        height: 480,
        bitrate: 324271,
        size: 121601,
        md5: '084d403c73930ca2f835679af1f37bd3',
        startTimeOffset: 3,
        endTimeOffset: 5,
      },
    ]);
  });

  test('our full pipeline: all seven task types summarised', () => {
    const event = procedure('procedure-state-changed.pipeline.push.json');
    expect(event).toMatchObject({
      fileId: OUR_FILE,
      sessionContext: UPLOAD_ID,
      sessionId: `${OUR_FILE}-p1`,
      tasksNotifyMode: 'Finish',
      tasksPriority: 0,
    });
    expect(event.results.map((r) => r.type)).toEqual([
      'Transcode',
      'Transcode',
      'SnapshotByTimeOffset',
      'SampleSnapshot',
      'ImageSprites',
      'CoverBySnapshot',
      'AnimatedGraphics',
      'AdaptiveDynamicStreaming',
    ]);
    expect(event.results[0]).toMatchObject({
      input: { definition: 100030, watermarkDefinitions: [501234] },
      beginProcessTime: '2026-11-25T04:10:20Z',
    });

    const summary = summariseProcessing(event);
    expect(summary.outcome).toBe('SUCCESS');
    expect(summary.failures).toEqual([]);
    expect(summary.progress).toBe(100);
    expect(summary.renditions.map((r) => [r.definition, r.width, r.height, r.bitrate, r.size, r.duration])).toEqual([
      [100030, 1280, 720, 1928000, 7521344, 31.23],
      [100020, 960, 540, 1064000, 4150211, 31.23],
    ]);
    expect(summary.renditions[0]?.url).toMatch(/\/v\.f100030\.mp4$/);
    expect(summary.snapshots.map((s) => s.timeOffsetMs)).toEqual([1000, 15600]);
    expect(summary.sampleSnapshots).toHaveLength(1);
    expect(summary.sampleSnapshots[0]?.imageUrls).toHaveLength(2);
    expect(summary.sprite?.webVttUrl).toMatch(/imageSprite_10\.vtt$/);
    expect(summary.cover?.url).toMatch(/coverBySnapshot_10_0\.jpg$/);
    expect(summary.animatedGraphics.map((g) => [g.definition, g.container])).toEqual([[20000, 'gif']]);
    expect(summary.adaptiveStreams[0]).toMatchObject({
      definition: 10,
      package: 'HLS',
      url: expect.stringMatching(/adp\.10\.m3u8$/),
    });
    expect(summary.adaptiveStreams[0]?.subStreams.map((s) => `${s.width}x${s.height}`)).toEqual([
      '640x360',
      '1280x720',
      '1920x1080',
    ]);
  });

  test('a failed subtask makes the outcome FAIL and names the error', () => {
    const event = procedure('procedure-state-changed.failed-subtask.push.json');
    const failed = event.results[1];
    expect(failed).toMatchObject({ type: 'Transcode', status: 'FAIL', errCodeExt: 'SourceFileError', progress: 100 });
    expect(failed?.type === 'Transcode' && failed.output).toBeUndefined();

    const summary = summariseProcessing(event);
    expect(summary.outcome).toBe('FAIL');
    expect(summary.failures).toEqual([
      {
        type: 'Transcode',
        definition: 100020,
        errCode: 30010,
        errCodeExt: 'SourceFileError',
        message: 'Source file error: the video data is corrupted',
      },
    ]);
    expect(summary.renditions.map((r) => r.definition)).toEqual([100030]); // what did succeed is still reported
  });

  test('Change-mode partials: PROCESSING with progress, distinct de-dupe keys, then FINISH', () => {
    const first = procedure('procedure-state-changed.change-1.push.json');
    const second = procedure('procedure-state-changed.change-2.push.json');
    const last = procedure('procedure-state-changed.change-finish.push.json');
    expect(first.tasksNotifyMode).toBe('Change');
    expect(first.results.map((r) => [r.type, r.status, r.progress])).toEqual([
      ['Transcode', 'PROCESSING', 35],
      ['SnapshotByTimeOffset', 'PROCESSING', 0],
      ['CoverBySnapshot', 'SUCCESS', 100],
    ]);
    expect(summariseProcessing(first)).toMatchObject({
      outcome: 'PROCESSING',
      progress: 45,
      renditions: [],
      cover: { definition: 10 },
    });
    expect(summariseProcessing(second)).toMatchObject({ outcome: 'PROCESSING', progress: 93 });
    expect(summariseProcessing(last)).toMatchObject({ outcome: 'SUCCESS', progress: 100 });

    const keys = [first, second, last].map(eventDedupeKey);
    expect(new Set(keys).size).toBe(3);
    expect(keys[0]).toMatch(new RegExp(`^ProcedureStateChanged:${OUR_TASK}:PROCESSING:[0-9a-f]{32}$`));
    expect(keys[2]).toBe(`ProcedureStateChanged:${OUR_TASK}:FINISH`);
  });

  test('a PUSH body with nulls, "0000-00-00" times and Progress 0 on finished subtasks', () => {
    const event = procedure('procedure-state-changed.nulls.push.json');
    expect(event.sessionContext).toBeUndefined();
    expect(event.sessionId).toBeUndefined();
    for (const result of event.results) {
      expect(result).toMatchObject({ status: 'SUCCESS', progress: 100 });
      expect(result.type !== 'Unknown' && result.beginProcessTime).toBeUndefined();
    }
    const summary = summariseProcessing(event);
    expect(summary).toMatchObject({ outcome: 'SUCCESS', sprite: { totalCount: 4 }, cover: { definition: 10 } });
    expect(summary.adaptiveStreams).toHaveLength(1);
  });

  test('an unknown task Type is kept, not a crash, and does not block success', () => {
    const event = procedure('procedure-state-changed.unknown-task-type.push.json');
    expect(event.results[1]).toEqual({
      type: 'Unknown',
      rawType: 'SuperResolution',
      status: 'SUCCESS',
      errCode: 0,
      errCodeExt: '',
      message: 'SUCCESS',
      progress: 100,
    });
    expect(summariseProcessing(event)).toMatchObject({ outcome: 'SUCCESS', failures: [] });
  });
});

describe('leniency where Tencent is inconsistent', () => {
  const psc = (results: unknown[], extra: Record<string, unknown> = {}) =>
    parseAs('ProcedureStateChanged', {
      EventType: 'ProcedureStateChanged',
      ProcedureStateChangeEvent: { TaskId: 't-1', Status: 'FINISH', FileId: '123', MediaProcessResultSet: results, ...extra },
    }) as ProcedureStateChangedEvent;

  test('numbers sent as strings are read as numbers', () => {
    const event = psc([
      {
        Type: 'Transcode',
        TranscodeTask: {
          Status: 'SUCCESS',
          Progress: '100',
          Input: { Definition: '100030' },
          Output: { Url: 'https://e.com/v.mp4', Size: '4189073', Duration: ' 60.5 ' },
        },
      },
    ]);
    expect(event.results[0]).toMatchObject({ input: { definition: 100030 }, output: { size: 4189073, duration: 60.5 } });
  });

  test('unknown fields, a missing MediaProcessResultSet and an odd TasksNotifyMode', () => {
    const event = parseAs('ProcedureStateChanged', {
      EventType: 'ProcedureStateChanged',
      SomeFutureField: { a: 1 },
      ProcedureStateChangeEvent: { TaskId: 't', Status: 'PROCESSING', FileId: '1', TasksNotifyMode: 'Sometimes', NewThing: true },
    }) as ProcedureStateChangedEvent;
    expect(event.results).toEqual([]);
    expect(event.tasksNotifyMode).toBeUndefined();
  });

  test('"ImageSprite" (the API model comment spelling) is read as ImageSprites', () => {
    const event = psc([
      { Type: 'ImageSprite', ImageSpriteTask: { Status: 'SUCCESS', Output: { ImageUrlSet: ['https://e.com/s.jpg'] } } },
    ]);
    expect(event.results[0]?.type).toBe('ImageSprites');
  });

  test('progress is clamped while running', () => {
    const running = (progress: unknown) => ({ Type: 'Transcode', TranscodeTask: { Status: 'PROCESSING', Progress: progress } });
    const event = psc([running(150), running(-5), running(null)], { Status: 'PROCESSING' });
    expect(event.results.map((r) => r.progress)).toEqual([100, 0, 0]);
  });
});

describe('summariseProcessing guards against results that would wrongly read as READY', () => {
  const psc = (results: unknown[], extra: Record<string, unknown> = {}) =>
    parseAs('ProcedureStateChanged', {
      EventType: 'ProcedureStateChanged',
      ProcedureStateChangeEvent: { TaskId: 't-1', Status: 'FINISH', FileId: '123', MediaProcessResultSet: results, ...extra },
    }) as ProcedureStateChangedEvent;

  test('SUCCESS without an output URL', () => {
    const summary = summariseProcessing(
      psc([{ Type: 'Transcode', TranscodeTask: { Status: 'SUCCESS', Input: { Definition: 100030 }, Output: { Url: '' } } }]),
    );
    expect(summary.outcome).toBe('FAIL');
    expect(summary.failures).toEqual([
      expect.objectContaining({ type: 'Transcode', definition: 100030, errCodeExt: MISSING_OUTPUT }),
    ]);
  });

  test('a subtask still PROCESSING in a FINISH event', () => {
    const summary = summariseProcessing(psc([{ Type: 'CoverBySnapshot', CoverBySnapshotTask: { Status: 'PROCESSING' } }]));
    expect(summary.failures).toEqual([expect.objectContaining({ type: 'CoverBySnapshot', errCodeExt: UNFINISHED_SUBTASK })]);
  });

  test('a failed subtask of an unknown type', () => {
    const summary = summariseProcessing(
      psc([{ Type: 'SuperResolution', SuperResolutionTask: { Status: 'FAIL', ErrCodeExt: 'InternalError', Message: 'boom' } }]),
    );
    expect(summary).toMatchObject({
      outcome: 'FAIL',
      failures: [{ type: 'SuperResolution', errCodeExt: 'InternalError', message: 'boom' }],
    });
  });

  test('a procedure that failed before any subtask ran', () => {
    const summary = summariseProcessing(psc([], { ErrCode: 70000, Message: 'file not found' }));
    expect(summary).toMatchObject({
      outcome: 'FAIL',
      failures: [{ type: 'Procedure', errCode: 70000, message: 'file not found' }],
    });
  });
});
