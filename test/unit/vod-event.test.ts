import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { HttpError, InvalidInputError } from '#lib/errors';
import {
  IGNORED_EVENT_TYPES,
  MISSING_OUTPUT,
  UNFINISHED_SUBTASK,
  VodEventError,
  eventDedupeKey,
  parsePullEventsResponse,
  parseVodEvent,
  parseVodEventJson,
  summariseProcessing,
  type FileDeletedEvent,
  type NewFileUploadEvent,
  type ProcedureStateChangedEvent,
  type VodEvent,
} from '#lib/vod-event';

const FIXTURES = join(__dirname, '..', 'fixtures', 'events');
const fixtureText = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const fixture = (name: string) => JSON.parse(fixtureText(name)) as Record<string, unknown>;
const EVENT_FIXTURES = readdirSync(FIXTURES).filter((f) => f.endsWith('.json') && !f.startsWith('pull-events'));

function parseAs<K extends VodEvent['kind']>(kind: K, input: unknown): Extract<VodEvent, { kind: K }> {
  const event = parseVodEvent(input);
  expect(event.kind).toBe(kind);
  return event as Extract<VodEvent, { kind: K }>;
}
const upload = (name: string) => parseAs('NewFileUpload', fixture(name)) as NewFileUploadEvent;
const procedure = (name: string) => parseAs('ProcedureStateChanged', fixture(name)) as ProcedureStateChangedEvent;
const deletion = (name: string) => parseAs('FileDeleted', fixture(name)) as FileDeletedEvent;

/** The error parseVodEvent throws for `input`, asserted to be a VodEventError. */
function rejection(input: unknown): VodEventError {
  try {
    parseVodEvent(input);
  } catch (error) {
    expect(error).toBeInstanceOf(VodEventError);
    return error as VodEventError;
  }
  throw new Error('expected parseVodEvent to throw');
}

/** A deep copy without null members (what a PUSH body looks like for the same event). */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, withoutNulls(v)]),
    );
  }
  return value;
}

const UPLOAD_ID = 'upl_01JDQ7Z3W5K6M2N8P4R9T0V1X2';
const OUR_TASK = '1500012345-procedurev2-9a4c0e7f1b2d3e4f5a6b7c8d9e0f1a2bt0';
const OUR_FILE = '3270835010452376512';

describe('contract: every fixture parses', () => {
  test.each(EVENT_FIXTURES)('%s', (name) => {
    expect(() => parseVodEventJson(fixtureText(name))).not.toThrow();
  });
});

describe('NewFileUpload', () => {
  test('documented PUSH example (nulls omitted, "" for none)', () => {
    const event = upload('new-file-upload.push.json');
    expect(event).toMatchObject({
      fileId: '5285890784273533167',
      media: {
        name: 'Animal World',
        type: 'mp4',
        mediaUrl: 'http://125676836723.vod2.myqcloud.com/xxx/xxx/q1BORBPQH1IA.mp4',
        sourceType: 'Upload',
        storageRegion: 'ap-guangzhou-2',
        expireTime: '9999-12-31T23:59:59Z',
        classId: 0,
        tagSet: [],
      },
    });
    // "" means "none" for these.
    expect(event.eventHandle).toBeUndefined();
    expect(event.sourceContext).toBeUndefined();
    expect(event.procedureTaskId).toBeUndefined();
    expect(event.reviewAudioVideoTaskId).toBeUndefined();
    expect(event.media.coverUrl).toBeUndefined();
    expect(event.metaData).toBeUndefined();
  });

  test('documented PULL entry carries its EventHandle', () => {
    const event = upload('new-file-upload.pull.json');
    expect(event.eventHandle).toBe('EventHandle2');
    expect(event.fileId).toBe('5285890784273533167');
    expect(event.media.className).toBe('其他');
  });

  test('our upload: sourceContext links it, metadata is normalised', () => {
    const event = upload('new-file-upload.context.push.json');
    expect(event.sourceContext).toBe(UPLOAD_ID);
    expect(event.procedureTaskId).toBeUndefined();
    expect(event.media).toMatchObject({ category: 'Video', status: 'Normal', storageClass: 'STANDARD' });
    expect(event.metaData).toEqual({
      size: 9876543,
      container: 'mov,mp4,m4a,3gp,3g2,mj2',
      bitrate: 2531200,
      height: 1080,
      width: 1920,
      duration: 31.2,
      rotate: 0,
      videoDuration: 31.2,
      audioDuration: 31.17,
      md5: '5f1d7a8b9c0e1f2a3b4c5d6e7f8a9b0c',
      videoStreams: [{ bitrate: 2400000, height: 1080, width: 1920, codec: 'h264', fps: 30, codecTag: undefined }],
      audioStreams: [{ bitrate: 131200, samplingRate: 48000, codec: 'aac' }],
    });
  });

  test('a signed body: Sign and T are not part of the event, procedureTaskId is kept', () => {
    const signed = upload('new-file-upload.signed.push.json');
    expect(signed.procedureTaskId).toBe(OUR_TASK);
    expect(signed).not.toHaveProperty('sign');
    expect(eventDedupeKey(signed)).toBe(eventDedupeKey(upload('new-file-upload.context.push.json')));
  });
});

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

describe('FileDeleted', () => {
  test('documented example: every listed file deleted as a whole', () => {
    const event = deletion('file-deleted.push.json');
    expect(event.fileIds).toEqual(['24961954183381008', '24961954183381009', '24961954183381010']);
    expect(event.deletions.every((d) => d.entireMedia && d.parts.length === 0)).toBe(true);
  });

  test('documented partial deletion: only the transcodes went, the media remains', () => {
    const event = deletion('file-deleted.partial.push.json');
    expect(event.deletions).toEqual([
      { fileId: '24961954183381008', entireMedia: false, parts: [{ type: 'TranscodeFiles', definition: 0 }] },
    ]);
  });

  test('PULL entry with DeleteParts []', () => {
    const event = deletion('file-deleted.pull.json');
    expect(event.eventHandle).toBe('830895250939762240');
    expect(event.deletions).toEqual([{ fileId: OUR_FILE, entireMedia: true, parts: [] }]);
  });

  test('a deletion naming every part type took the whole media; OriginalFiles alone did not', () => {
    const read = (types: string[]) =>
      (
        parseVodEvent({
          EventType: 'FileDeleted',
          FileDeleteEvent: {
            FileIdSet: ['1'],
            FileDeleteResultInfo: [{ FileId: '1', DeleteParts: types.map((Type) => ({ Type, Definition: 0 })) }],
          },
        }) as FileDeletedEvent
      ).deletions[0]!.entireMedia;
    expect(read([])).toBe(true);
    expect(read(['OriginalFiles'])).toBe(false);
    expect(
      read([
        'OriginalFiles',
        'TranscodeFiles',
        'AdaptiveDynamicStreamingFiles',
        'WechatPublishFiles',
        'WechatMiniProgramPublishFiles',
      ]),
    ).toBe(true);
    expect(read(['TranscodeFiles', 'AdaptiveDynamicStreamingFiles'])).toBe(false);
  });

  test('whole and partial deletions have different de-dupe keys', () => {
    const whole = parseVodEvent({ EventType: 'FileDeleted', FileDeleteEvent: { FileIdSet: ['24961954183381008'] } });
    expect(eventDedupeKey(whole)).not.toBe(eventDedupeKey(deletion('file-deleted.partial.push.json')));
  });
});

describe('event types not acted on', () => {
  test('a documented ignored type', () => {
    const event = parseAs('Ignored', fixture('reduce-media-bitrate-complete.push.json'));
    expect(event).toMatchObject({
      eventType: 'ReduceMediaBitrateComplete',
      taskId: '1500013xxx-ReduceMediaBitrate-0c64611d529f2656c4133128ee053063txxx',
    });
  });

  test.each(IGNORED_EVENT_TYPES)('%s is recognised whatever its payload', (eventType) => {
    expect(parseVodEvent({ EventType: eventType })).toMatchObject({ kind: 'Ignored', eventType });
    expect(parseVodEvent({ EventType: eventType, Whatever: [1, { a: null }] })).toMatchObject({ kind: 'Ignored' });
  });

  test('an unknown EventType is acknowledged, not an error', () => {
    const event = parseAs('Unknown', fixture('unknown-event-type.push.json'));
    expect(event.eventType).toBe('MediaHologramComplete');
    expect(eventDedupeKey(event)).toMatch(/^MediaHologramComplete:[0-9a-f]{32}$/);
  });
});

describe('PullEvents responses', () => {
  test('the documented TCCLI response: four events, one of them ignored', () => {
    const pulled = parsePullEventsResponse(fixture('pull-events.tccli.json'));
    expect(pulled.requestId).toBe('335bdaa3-db0e-46ce-9946-51941d9cb0f5');
    expect(pulled.events.map((e) => (e.ok ? [e.eventHandle, e.event.kind] : ['failed']))).toEqual([
      ['EventHandle1', 'ProcedureStateChanged'],
      ['EventHandle2', 'NewFileUpload'],
      ['EventHandle3', 'ProcedureStateChanged'],
      ['EventHandle4', 'Ignored'],
    ]);
    const third = pulled.events[2];
    expect(
      third?.ok &&
        third.event.kind === 'ProcedureStateChanged' &&
        summariseProcessing(third.event).sampleSnapshots[0]?.imageUrls.length,
    ).toBe(10);
  });

  test('one malformed entry among several does not stop the others', () => {
    const pulled = parsePullEventsResponse(fixture('pull-events.mixed.json'));
    expect(pulled.events.map((e) => (e.ok ? e.event.kind : 'failed'))).toEqual([
      'NewFileUpload',
      'ProcedureStateChanged',
      'FileDeleted',
      'failed',
      'Unknown',
    ]);
    const failed = pulled.events[3];
    expect(failed?.ok).toBe(false);
    if (failed && !failed.ok) {
      expect(failed.eventHandle).toBe('830895250939762244');
      expect(failed.error.field).toBe('Response.EventSet[3].ProcedureStateChangeEvent');
    }
  });

  test('the same event pulled and pushed has the same de-dupe key and content', () => {
    const pulled = parsePullEventsResponse(fixture('pull-events.mixed.json')).events[1];
    const pushed = procedure('procedure-state-changed.change-1.push.json');
    expect(pulled?.ok).toBe(true);
    if (pulled?.ok) {
      expect(eventDedupeKey(pulled.event)).toBe(eventDedupeKey(pushed));
      expect({ ...pulled.event, eventHandle: undefined }).toEqual(pushed);
    }
  });

  test('the SDK form, a null EventSet, and a broken EventSet', () => {
    expect(parsePullEventsResponse({ EventSet: null, RequestId: 'r' })).toEqual({ requestId: 'r', events: [] });
    expect(parsePullEventsResponse({ Response: { RequestId: 'r' } }).events).toEqual([]);
    expect(() => parsePullEventsResponse({ Response: { EventSet: 'x' } })).toThrow(VodEventError);
    expect(() => parsePullEventsResponse('nope')).toThrow(VodEventError);
  });
});

describe('malformed events are rejected with the path of the bad field', () => {
  const transcodeEvent = (task: Record<string, unknown> | null, type = 'Transcode') => ({
    EventType: 'ProcedureStateChanged',
    ProcedureStateChangeEvent: {
      TaskId: 't-1',
      Status: 'FINISH',
      FileId: '123',
      MediaProcessResultSet: [{ Type: type, TranscodeTask: task }],
    },
  });
  const goodTask = { Status: 'SUCCESS', Input: { Definition: 100030 }, Output: { Url: 'https://example.com/v.mp4' } };

  test.each([null, [], 'text', 42, true])('not a JSON object: %p', (input) => {
    expect(rejection(input).message).toMatch(/must be a JSON object/);
  });

  test.each([
    ['missing EventType', {}, 'EventType'],
    ['EventType not a string', { EventType: 7 }, 'EventType'],
    ['EventType with odd characters', { EventType: 'New File' }, 'EventType'],
    ['NewFileUpload without its payload', { EventType: 'NewFileUpload', FileUploadEvent: null }, 'FileUploadEvent'],
    [
      'FileId as a number (digits already lost)',
      // biome-ignore lint/correctness/noPrecisionLoss: a FileId sent as a JSON number loses digits; that is the case under test
      { EventType: 'NewFileUpload', FileUploadEvent: { FileId: 5285890784273533167 } },
      'FileUploadEvent.FileId',
    ],
    ['FileId with a slash', { EventType: 'NewFileUpload', FileUploadEvent: { FileId: '../etc' } }, 'FileUploadEvent.FileId'],
    [
      'SourceContext not a string',
      { EventType: 'NewFileUpload', FileUploadEvent: { FileId: '1', MediaBasicInfo: { SourceInfo: { SourceContext: 5 } } } },
      'FileUploadEvent.MediaBasicInfo.SourceInfo.SourceContext',
    ],
    [
      'unknown procedure Status',
      { EventType: 'ProcedureStateChanged', ProcedureStateChangeEvent: { TaskId: 't', Status: 'DONE', FileId: '1' } },
      'ProcedureStateChangeEvent.Status',
    ],
    [
      'missing TaskId',
      { EventType: 'ProcedureStateChanged', ProcedureStateChangeEvent: { Status: 'FINISH', FileId: '1' } },
      'ProcedureStateChangeEvent.TaskId',
    ],
    [
      'result without Type',
      {
        EventType: 'ProcedureStateChanged',
        ProcedureStateChangeEvent: { TaskId: 't', Status: 'FINISH', FileId: '1', MediaProcessResultSet: [{}] },
      },
      'ProcedureStateChangeEvent.MediaProcessResultSet[0].Type',
    ],
    [
      'Type Transcode without TranscodeTask',
      transcodeEvent(null),
      'ProcedureStateChangeEvent.MediaProcessResultSet[0].TranscodeTask',
    ],
    [
      'unknown subtask Status',
      transcodeEvent({ ...goodTask, Status: 'OK' }),
      'ProcedureStateChangeEvent.MediaProcessResultSet[0].TranscodeTask.Status',
    ],
    [
      'a script URL',
      transcodeEvent({ ...goodTask, Output: { Url: 'javascript:alert(1)' } }),
      'ProcedureStateChangeEvent.MediaProcessResultSet[0].TranscodeTask.Output.Url',
    ],
    [
      'a size that is not a number',
      transcodeEvent({ ...goodTask, Output: { Url: 'https://e.com/v.mp4', Size: 'big' } }),
      'ProcedureStateChangeEvent.MediaProcessResultSet[0].TranscodeTask.Output.Size',
    ],
    [
      'a numeric string too long to be a finite number',
      transcodeEvent({ ...goodTask, Output: { Url: 'https://e.com/v.mp4', Size: '9'.repeat(400) } }),
      'ProcedureStateChangeEvent.MediaProcessResultSet[0].TranscodeTask.Output.Size',
    ],
    ['FileDeleted naming no file', { EventType: 'FileDeleted', FileDeleteEvent: { FileIdSet: [] } }, 'FileDeleteEvent.FileIdSet'],
    [
      'FileDeleted with a bad id',
      { EventType: 'FileDeleted', FileDeleteEvent: { FileIdSet: ['ok', 'not ok'] } },
      'FileDeleteEvent.FileIdSet[1]',
    ],
  ])('%s', (_, input, field) => {
    const error = rejection(input);
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
    expect(error.code).toBe('InvalidVodEvent');
    // A domain error: the HTTP adapter, not the event model, makes it a 400.
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).not.toBeInstanceOf(HttpError);
  });

  test('a body that is not JSON', () => {
    expect(() => parseVodEventJson('{"EventType": ')).toThrow(/not valid JSON/);
    expect(() => parseVodEventJson(new TextEncoder().encode('<xml/>'))).toThrow(VodEventError);
  });

  test('cyclic input is a VodEventError, not a stack overflow', () => {
    const cyclic: Record<string, unknown> = { EventType: 'SomethingNew' };
    cyclic.self = cyclic;
    expect(rejection(cyclic).message).toMatch(/nested too deeply/);
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

// ---------------------------------------------------------------------------------------------
// Properties

/** Every path to a value inside `value`. */
function pathsOf(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const here = [prefix];
  if (Array.isArray(value)) return here.concat(value.flatMap((v, i) => pathsOf(v, [...prefix, i])));
  if (value !== null && typeof value === 'object')
    return here.concat(Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...prefix, k])));
  return here;
}

function replaceAt(value: unknown, path: ReadonlyArray<string | number>, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((v, i) => (i === head ? replaceAt(v, rest, replacement) : v));
  const record = value as Record<string, unknown>;
  return { ...record, [String(head)]: replaceAt(record[String(head)], rest, replacement) };
}

/** A deep copy with every object's keys in an order drawn from `seed`. */
function shuffledKeys(value: unknown, seed: number): unknown {
  let state = seed >>> 0 || 1;
  const next = () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [entries[i], entries[j]] = [entries[j]!, entries[i]!];
      }
      return Object.fromEntries(entries.map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value);
}

/** Drops the null members chosen by `drop` (called once per null member, in document order). */
function dropSomeNulls(value: unknown, drop: () => boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => dropSomeNulls(v, drop));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => !(v === null && drop()))
        .map(([k, v]) => [k, dropSomeNulls(v, drop)]),
    );
  }
  return value;
}

function throwsOnlyVodEventErrors(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch (error) {
    return error instanceof VodEventError;
  }
}

const ALL_FIXTURES = [...EVENT_FIXTURES, 'pull-events.tccli.json', 'pull-events.mixed.json'].map((name) => ({
  name,
  body: fixture(name),
}));
const EVENTS = EVENT_FIXTURES.map((name) => fixture(name));

describe('properties', () => {
  test('parseVodEvent on arbitrary JSON throws nothing but VodEventError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => throwsOnlyVodEventErrors(() => parseVodEvent(value))),
      { numRuns: 500 },
    );
  });

  test('…including arbitrary payloads under every known EventType', () => {
    const eventType = fc.constantFrom(
      'NewFileUpload',
      'ProcedureStateChanged',
      'FileDeleted',
      ...IGNORED_EVENT_TYPES,
      'Brand_New',
    );
    const payloadField = fc.constantFrom('FileUploadEvent', 'ProcedureStateChangeEvent', 'FileDeleteEvent', 'Other');
    fc.assert(
      fc.property(eventType, payloadField, fc.jsonValue(), (EventType, field, payload) =>
        throwsOnlyVodEventErrors(() => parseVodEvent({ EventType, [field]: payload })),
      ),
      { numRuns: 500 },
    );
  });

  test('…and fixtures with any one value replaced by arbitrary JSON', () => {
    const mutated = fc
      .constantFrom(...ALL_FIXTURES)
      .chain(({ name, body }) =>
        fc.tuple(fc.constant(name), fc.constant(body), fc.constantFrom(...pathsOf(body)), fc.jsonValue()),
      );
    fc.assert(
      fc.property(mutated, ([name, body, path, replacement]) => {
        const input = replaceAt(body, path, replacement);
        if (name.startsWith('pull-events')) {
          return throwsOnlyVodEventErrors(() => {
            for (const entry of parsePullEventsResponse(input).events) if (entry.ok) eventDedupeKey(entry.event);
          });
        }
        return throwsOnlyVodEventErrors(() => {
          const event = parseVodEvent(input);
          eventDedupeKey(event);
          if (event.kind === 'ProcedureStateChanged') summariseProcessing(event);
        });
      }),
      { numRuns: 1000 },
    );
  });

  test('the de-dupe key and the event do not depend on key order or null-vs-missing', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EVENTS), fc.integer(), fc.array(fc.boolean(), { minLength: 1 }), (body, seed, choices) => {
        let i = 0;
        const drop = () => choices[i++ % choices.length]!;
        const original = parseVodEvent(body);
        const variant = parseVodEvent(dropSomeNulls(shuffledKeys(body, seed), drop));
        expect(eventDedupeKey(variant)).toBe(eventDedupeKey(original));
        expect(variant).toEqual(original);
      }),
      { numRuns: 300 },
    );
  });

  test('the de-dupe key ignores delivery fields: EventHandle, Sign and T', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EVENTS), fc.string(), fc.string(), fc.nat(), (body, handle, sign, t) => {
        const redelivered = { ...body, EventHandle: `h${handle}`, Sign: sign, T: t };
        expect(eventDedupeKey(parseVodEvent(redelivered))).toBe(eventDedupeKey(parseVodEvent(body)));
      }),
      { numRuns: 200 },
    );
  });

  test('two different partial updates of a task never share a key', () => {
    const base = fixture('procedure-state-changed.change-1.push.json');
    const withProgress = (progress: number) =>
      replaceAt(base, ['ProcedureStateChangeEvent', 'MediaProcessResultSet', 0, 'TranscodeTask', 'Progress'], progress);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), (a, b) => {
        fc.pre(a !== b);
        expect(eventDedupeKey(parseVodEvent(withProgress(a)))).not.toBe(eventDedupeKey(parseVodEvent(withProgress(b))));
      }),
    );
  });
});
