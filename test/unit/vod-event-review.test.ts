/**
 * The ReviewAudioVideoComplete event (docs/vod-protocol/review.md): PUSH and PULL forms, what is strict (ids,
 * statuses, suggestions) and what is lenient (case, echoes, segments), the verdict it gives, the same event
 * read from DescribeTaskDetail. The review's VOD calls, and the handler with REVIEW_MODE off:
 * test/unit/review-vod-calls.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  VodEventError,
  eventDedupeKey,
  parsePullEventsResponse,
  parseVodEvent,
  reviewCompleteFromTaskDetail,
  reviewVerdict,
  type ReviewAudioVideoCompleteEvent,
} from '#lib/vod-event';
import { rejection, withoutNulls } from '../support/vod-event-fixtures';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'events', name), 'utf8')) as Record<string, any>;

function review(input: unknown): ReviewAudioVideoCompleteEvent {
  const event = parseVodEvent(input);
  expect(event.kind).toBe('ReviewAudioVideoComplete');
  return event as ReviewAudioVideoCompleteEvent;
}

/** The PUSH fixture with its payload changed by `change`. */
function pushWith(change: (payload: Record<string, any>) => void): Record<string, any> {
  const body = fixture('review-audio-video-complete.push.json');
  change(body.ReviewAudioVideoCompleteEvent);
  return body;
}

describe('PUSH and PULL forms', () => {
  test('the documented PUSH example: ids, echoes, the output and its segments', () => {
    const event = review(fixture('review-audio-video-complete.push.json'));
    expect(event).toEqual({
      kind: 'ReviewAudioVideoComplete',
      eventHandle: undefined,
      taskId: '1256768367-ReviewAudioVideo-07edbc78ba20563cdf2362cffbf4aa0ct',
      status: 'FINISH',
      fileId: '5285890784246869930',
      definition: undefined,
      reviewContents: [],
      errCodeExt: '',
      errCode: 0,
      message: 'SUCCESS',
      sessionId: 'review-6f1c0d8e',
      sessionContext: '6f1c0d8e-3b7a-4a55-9a43-0d2b8f1e2c11',
      output: {
        suggestion: 'block',
        label: 'porn',
        form: 'Image',
        segments: [
          {
            startTimeOffset: 0,
            endTimeOffset: 1,
            confidence: 99,
            suggestion: 'block',
            label: 'Porn',
            subLabel: 'SexyBehavior',
            form: 'Image',
            areaCoords: [],
            text: undefined,
            keywords: [],
            url: 'https://1a168d62vodcq1256768367.vod2.myqcloud.com/result/vod/screenshot_0_1638163480.jpg',
            picUrlExpireTime: '2026-12-16T03:06:16.039Z',
          },
          expect.objectContaining({ startTimeOffset: 1, suggestion: 'review', confidence: 87, areaCoords: [10, 20, 110, 220] }),
        ],
        segmentSetFileUrl: 'https://1a168d62vodcq1256768367.vod2.myqcloud.com/result/vod/segments.json',
        segmentSetFileUrlExpireTime: '2026-12-16T03:06:16Z',
        cover: undefined,
      },
    });
    expect(reviewVerdict(event)).toEqual({ outcome: 'block', label: 'porn', form: 'Image' });
    expect(eventDedupeKey(event)).toBe(
      'ReviewAudioVideoComplete:1256768367-ReviewAudioVideo-07edbc78ba20563cdf2362cffbf4aa0ct:FINISH:block',
    );
  });

  test('the PULL form: nulls everywhere, an EventHandle; the same dedupe key as its PUSH form', () => {
    const pulled = fixture('review-audio-video-complete.pull.json');
    const event = review(pulled);
    expect(event).toMatchObject({
      eventHandle: 'EventHandle9',
      fileId: '5285890784246869931',
      definition: 10,
      reviewContents: ['Media'],
      sessionId: undefined,
      sessionContext: undefined,
      output: {
        suggestion: 'pass',
        label: undefined,
        form: undefined,
        segments: [],
        segmentSetFileUrl: undefined,
        cover: undefined,
      },
    });
    expect(reviewVerdict(event)).toEqual({ outcome: 'pass', label: undefined, form: undefined });
    const pushed = withoutNulls({ ...pulled, EventHandle: undefined });
    expect(eventDedupeKey(review(pushed))).toBe(eventDedupeKey(event));

    const response = parsePullEventsResponse({ Response: { EventSet: [pulled, pushWith(() => {})], RequestId: 'r-1' } });
    expect(response.events.map((e) => e.ok && e.event.kind)).toEqual(['ReviewAudioVideoComplete', 'ReviewAudioVideoComplete']);
    expect(response.events[0]).toMatchObject({ ok: true, eventHandle: 'EventHandle9' });
  });

  test('a broken entry in a PullEvents response fails alone, keeping its handle', () => {
    const broken = fixture('review-audio-video-complete.pull.json');
    broken.ReviewAudioVideoCompleteEvent.Output.Suggestion = 'maybe';
    const response = parsePullEventsResponse({ EventSet: [broken, fixture('review-audio-video-complete.pull.json')] });
    expect(response.events[0]).toMatchObject({ ok: false, eventHandle: 'EventHandle9' });
    expect(response.events[1]).toMatchObject({ ok: true });
  });
});

describe('strict where a wrong value would decide wrongly', () => {
  test.each([
    [
      'no payload',
      (b: any) => delete b.ReviewAudioVideoCompleteEvent,
      'ReviewAudioVideoCompleteEvent',
      'is required when EventType is ReviewAudioVideoComplete',
    ],
    ['no TaskId', (b: any) => delete b.ReviewAudioVideoCompleteEvent.TaskId, 'ReviewAudioVideoCompleteEvent.TaskId', 'required'],
    [
      'a TaskId with a slash',
      (b: any) => (b.ReviewAudioVideoCompleteEvent.TaskId = 'a/b'),
      'ReviewAudioVideoCompleteEvent.TaskId',
      'letters',
    ],
    [
      'an unknown Status',
      (b: any) => (b.ReviewAudioVideoCompleteEvent.Status = 'DONE'),
      'ReviewAudioVideoCompleteEvent.Status',
      'PROCESSING',
    ],
    ['no Input', (b: any) => delete b.ReviewAudioVideoCompleteEvent.Input, 'ReviewAudioVideoCompleteEvent.Input', 'required'],
    [
      'a numeric FileId',
      (b: any) => (b.ReviewAudioVideoCompleteEvent.Input.FileId = 5285890784),
      'ReviewAudioVideoCompleteEvent.Input.FileId',
      'string',
    ],
    [
      'an unknown Suggestion',
      (b: any) => (b.ReviewAudioVideoCompleteEvent.Output.Suggestion = 'allow'),
      'ReviewAudioVideoCompleteEvent.Output.Suggestion',
      'pass, review, block',
    ],
    [
      'a numeric Suggestion',
      (b: any) => (b.ReviewAudioVideoCompleteEvent.Output.Suggestion = 1),
      'ReviewAudioVideoCompleteEvent.Output.Suggestion',
      'pass, review, block',
    ],
    [
      'an unknown cover Suggestion',
      (b: any) => (b.ReviewAudioVideoCompleteEvent.Output.CoverReviewResult = { Suggestion: 'ok' }),
      'ReviewAudioVideoCompleteEvent.Output.CoverReviewResult.Suggestion',
      'pass',
    ],
    [
      'an Output that is a string',
      (b: any) => (b.ReviewAudioVideoCompleteEvent.Output = 'block'),
      'ReviewAudioVideoCompleteEvent.Output',
      '',
    ],
    [
      'a text ErrCode',
      (b: any) => (b.ReviewAudioVideoCompleteEvent.ErrCode = 'oops'),
      'ReviewAudioVideoCompleteEvent.ErrCode',
      'number',
    ],
  ])('%s is an InvalidVodEvent naming the field', (_name, change, field, words) => {
    const body = fixture('review-audio-video-complete.push.json');
    change(body);
    const error = rejection(body);
    expect(error.code).toBe('InvalidVodEvent');
    if (field.includes('.')) expect(error.field).toBe(field);
    expect(error.message).toContain(field);
    expect(error.message).toContain(words);
  });
});

describe('lenient where the docs are silent or disagree', () => {
  test('a Suggestion in any case, a Label in any case, an ErrCode beside ErrCodeExt, a numeric-string Definition', () => {
    const event = review(
      pushWith((p) => {
        p.Output.Suggestion = ' Review ';
        p.ErrCode = 0;
        p.Input.Definition = '10';
        p.Input.ReviewContents = ['Cover', 'Audio', 'Media'];
      }),
    );
    expect(event.output!.suggestion).toBe('review');
    expect(event.output!.label).toBe('porn');
    expect(event.definition).toBe(10);
    expect(event.reviewContents).toEqual(['Media', 'Cover']);
  });

  test('segments are informational: unreadable fields are dropped, not errors; at most 100 are read', () => {
    const event = review(
      pushWith((p) => {
        p.Output.SegmentSet[0].Url = 'javascript:alert(1)';
        p.Output.SegmentSet[0].AreaCoordSet = 'nope';
        p.Output.SegmentSet[0].Suggestion = 'weird';
        p.Output.SegmentSet[0].Confidence = 'high';
        p.Output.SegmentSet[1].Label = 'Porn\u0000';
        p.Output.SegmentSetFileUrl = 'ftp://example.com/x.json';
        p.Output.SegmentSet.push(...Array.from({ length: 500 }, (_, i) => ({ StartTimeOffset: i })));
      }),
    );
    const [first, second] = event.output!.segments;
    expect(first).toMatchObject({
      url: undefined,
      areaCoords: [],
      suggestion: undefined,
      confidence: undefined,
      startTimeOffset: 0,
    });
    expect(second!.label).toBe('Porn\uFFFD');
    expect(event.output!.segmentSetFileUrl).toBeUndefined();
    expect(event.output!.segments).toHaveLength(100);
    expect(reviewVerdict(event).outcome).toBe('block');
  });

  test('a SegmentSet that is not a list is read as none', () => {
    expect(review(pushWith((p) => (p.Output.SegmentSet = { a: 1 }))).output!.segments).toEqual([]);
  });

  test('arbitrary JSON as the payload, or in place of any of its values, throws nothing but VodEventError', () => {
    const ok = (input: unknown) => {
      try {
        parseVodEvent(input);
        return true;
      } catch (error) {
        return error instanceof VodEventError;
      }
    };
    fc.assert(
      fc.property(fc.jsonValue(), (payload) =>
        ok({ EventType: 'ReviewAudioVideoComplete', ReviewAudioVideoCompleteEvent: payload }),
      ),
      { numRuns: 300 },
    );
    const fields = ['TaskId', 'Status', 'ErrCodeExt', 'ErrCode', 'Message', 'Input', 'Output', 'SessionId', 'SessionContext'];
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.jsonValue(), (field, value) => ok(pushWith((p) => (p[field] = value)))),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.constantFrom('Suggestion', 'Label', 'Form', 'SegmentSet', 'CoverReviewResult'),
        fc.jsonValue(),
        (field, value) => ok(pushWith((p) => (p.Output[field] = value))),
      ),
      { numRuns: 300 },
    );
  });
});

describe('reviewVerdict', () => {
  test('a failed task has no verdict: ErrCodeExt, or an ErrCode, or no suggestion at all', () => {
    expect(reviewVerdict(review(fixture('review-audio-video-complete.failed.push.json')))).toEqual({
      outcome: 'failed',
      errCodeExt: 'SourceFileError',
      errCode: 0,
      message: 'source file error',
    });
    expect(reviewVerdict(review(pushWith((p) => (p.ErrCode = 70000))))).toMatchObject({ outcome: 'failed', errCode: 70000 });
    expect(reviewVerdict(review(pushWith((p) => (p.Output.Suggestion = ''))))).toMatchObject({
      outcome: 'failed',
      errCodeExt: 'MissingOutput',
    });
    expect(reviewVerdict(review(pushWith((p) => delete p.Output)))).toMatchObject({
      outcome: 'failed',
      errCodeExt: 'MissingOutput',
    });
  });

  test('PROCESSING is pending; ABORTED failed', () => {
    expect(reviewVerdict(review(pushWith((p) => (p.Status = 'PROCESSING'))))).toEqual({ outcome: 'pending' });
    expect(reviewVerdict(review(pushWith((p) => (p.Status = 'ABORTED'))))).toMatchObject({
      outcome: 'failed',
      errCodeExt: 'TaskAborted',
    });
  });

  test('the cover: a stricter cover suggestion wins; a cover-only review may go without the media suggestion; a media review may not', () => {
    const cover = review(fixture('review-audio-video-complete.cover.push.json'));
    expect(cover.output!.cover).toEqual({
      suggestion: 'review',
      label: 'Ad',
      form: 'OCR',
      segments: [expect.objectContaining({ text: 'buy now', keywords: ['buy'], startTimeOffset: undefined })],
      segmentSetFileUrl: undefined,
      segmentSetFileUrlExpireTime: undefined,
    });
    expect(reviewVerdict(cover)).toEqual({ outcome: 'review', label: 'Ad', form: 'OCR' });

    const lenient = fixture('review-audio-video-complete.cover.push.json');
    lenient.ReviewAudioVideoCompleteEvent.Output.Suggestion = 'block';
    lenient.ReviewAudioVideoCompleteEvent.Output.Label = 'Terror';
    expect(reviewVerdict(review(lenient))).toMatchObject({ outcome: 'block', label: 'Terror' });

    const coverOnly = fixture('review-audio-video-complete.cover.push.json');
    coverOnly.ReviewAudioVideoCompleteEvent.Input.ReviewContents = ['Cover'];
    delete coverOnly.ReviewAudioVideoCompleteEvent.Output.Suggestion;
    expect(reviewVerdict(review(coverOnly))).toEqual({ outcome: 'review', label: 'Ad', form: 'OCR' });

    const mediaMissing = fixture('review-audio-video-complete.cover.push.json');
    delete mediaMissing.ReviewAudioVideoCompleteEvent.Output.Suggestion;
    mediaMissing.ReviewAudioVideoCompleteEvent.Output.CoverReviewResult.Suggestion = 'pass';
    expect(reviewVerdict(review(mediaMissing))).toMatchObject({ outcome: 'failed', errCodeExt: 'MissingOutput' });
  });
});

describe('reviewCompleteFromTaskDetail', () => {
  const task = () => fixture('review-audio-video-complete.push.json').ReviewAudioVideoCompleteEvent;

  test('a review task detail is the event; the status read from either of its two statuses', () => {
    const finished = reviewCompleteFromTaskDetail({
      TaskType: 'ReviewAudioVideo',
      Status: 'FINISH',
      ReviewAudioVideoTask: task(),
    });
    expect(finished).toMatchObject({ kind: 'ReviewAudioVideoComplete', eventHandle: undefined, status: 'FINISH' });
    expect(eventDedupeKey(finished!)).toBe(eventDedupeKey(review(fixture('review-audio-video-complete.push.json'))));
    const waiting = reviewCompleteFromTaskDetail({
      TaskType: 'ReviewAudioVideo',
      Status: 'WAITING',
      ReviewAudioVideoTask: { ...task(), Status: 'PROCESSING', Output: null },
    });
    expect(waiting!.status).toBe('PROCESSING');
    expect(reviewVerdict(waiting!)).toEqual({ outcome: 'pending' });
    const aborted = reviewCompleteFromTaskDetail({
      TaskType: 'ReviewAudioVideo',
      Status: 'ABORTED',
      ReviewAudioVideoTask: task(),
    });
    expect(aborted!.status).toBe('ABORTED');
  });

  test('any other task, or none, is undefined; a malformed one a VodEventError', () => {
    expect(reviewCompleteFromTaskDetail({ TaskType: 'Procedure', Status: 'FINISH', ProcedureTask: {} as never })).toBeUndefined();
    expect(reviewCompleteFromTaskDetail({ TaskType: 'ReviewAudioVideo', Status: 'FINISH' })).toBeUndefined();
    expect(() =>
      reviewCompleteFromTaskDetail({ TaskType: 'ReviewAudioVideo', Status: 'FINISH', ReviewAudioVideoTask: { TaskId: 'x' } }),
    ).toThrow(VodEventError);
  });
});
