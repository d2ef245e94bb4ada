/**
 * Reading VOD v3 events (docs/vod-protocol/events.md) with lib/vod-event.ts: every fixture parses; NewFileUpload
 * and FileDeleted in their PUSH and PULL forms; event types not acted on; PullEvents answers. The other suites:
 * ProcedureStateChanged and its summary (test/unit/vod-event-procedure.test.ts), malformed events
 * (test/unit/vod-event-malformed.test.ts), properties over arbitrary input (test/unit/vod-event-properties.test.ts).
 */
import {
  IGNORED_EVENT_TYPES,
  VodEventError,
  eventDedupeKey,
  parsePullEventsResponse,
  parseVodEvent,
  parseVodEventJson,
  summariseProcessing,
  type FileDeletedEvent,
} from '#lib/vod-event';
import {
  EVENT_FIXTURES,
  OUR_FILE,
  OUR_TASK,
  UPLOAD_ID,
  deletion,
  fixture,
  fixtureText,
  parseAs,
  procedure,
  upload,
} from '../support/vod-event-fixtures';

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
