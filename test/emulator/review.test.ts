/**
 * Issue #17, the emulator side: ReviewAudioVideo through the official tencentcloud-sdk-nodejs-vod client, its
 * request checks and SessionId rules, DescribeTaskDetail and DescribeTasks of a review task, and the rules that
 * decide the verdict (by name, by the colour a clip is filled with, per content, failures), set by the admin
 * endpoint. The event's delivery forms and EMULATOR_REVIEW_RULES are in review-events.test.ts.
 */
import { parseVodEvent, reviewCompleteFromTaskDetail, reviewVerdict, type ReviewAudioVideoCompleteEvent } from '#lib/vod-event';
import { CLIP, startTestEmulator, uploadViaApi, vodClient } from './helpers';
import type { TestEmulator, VodClient } from './helpers';
import {
  admin,
  apiError,
  filled,
  named,
  recordEvents,
  removeWork,
  reviewEventOf,
  until,
  uploadWithCover,
} from './review-fixture';

afterAll(removeWork);

describe('ReviewAudioVideo', () => {
  let t: TestEmulator;
  let client: VodClient;
  let seen: Array<Record<string, any>>;
  let fileId: string;
  beforeAll(async () => {
    // VOD's 3-day SessionId window and task retention, shortened: TC3 allows the clock only 5 minutes of skew.
    t = await startTestEmulator({
      subAppIds: [1500000099],
      processing: { sessionIdWindowMs: 120_000, taskRetentionMs: 120_000 },
    });
    client = vodClient(t.emulator);
    seen = recordEvents(t);
    fileId = await uploadViaApi(t, client, 'upload-1');
  });
  afterAll(() => t.close());
  afterEach(async () => {
    expect((await admin(t, 'POST', {})).status).toBe(200);
  });

  test('request checks as the SDK model has them, each with its error code', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{}, 'MissingParameter'],
      [{ FileId: '5285890000000000000' }, 'ResourceNotFound.FileNotExist'],
      [{ FileId: fileId, SubAppId: 1500000099 }, 'ResourceNotFound.FileNotExist'],
      [{ FileId: fileId, SubAppId: 1234 }, 'InvalidParameterValue.SubAppId'],
      [{ FileId: fileId, ReviewContents: ['Audio'] }, 'InvalidParameterValue'],
      [{ FileId: fileId, ReviewContents: 'Media' }, 'InvalidParameterValue'],
      [{ FileId: fileId, Definition: '10' }, 'InvalidParameterValue'],
      [{ FileId: fileId, TasksPriority: 11 }, 'InvalidParameterValue'],
      [{ FileId: fileId, SessionContext: 'x'.repeat(1001) }, 'InvalidParameterValue.SessionContextTooLong'],
      [{ FileId: fileId, SessionId: 's'.repeat(51) }, 'InvalidParameterValue.SessionIdTooLong'],
      [{ FileId: fileId, ExtInfo: 7 }, 'InvalidParameterValue'],
    ];
    for (const [request, code] of cases) {
      const error = await apiError(client.ReviewAudioVideo(request as never));
      expect({ request, code: error.code }).toEqual({ request, code });
    }
    // None of them started a task.
    expect((await client.DescribeTasks({ FileId: fileId })).TaskSet).toEqual([]);
  });

  test("a SessionId starts one task within the window (ProcessMedia's record too); after that it is free again", async () => {
    const first = await client.ReviewAudioVideo({ FileId: fileId, SessionId: 'review-upload-1' });
    expect(first.TaskId).toMatch(/^1500000001-ReviewAudioVideo-[0-9a-f]{32}t$/);
    const again = await apiError(client.ReviewAudioVideo({ FileId: fileId, SessionId: 'review-upload-1' }));
    expect(again.code).toBe('InvalidParameterValue.SessionId');
    expect(again.message).toContain(first.TaskId);
    // One record of SessionIds: a ProcessMedia SessionId cannot start a review.
    await client.ProcessMedia({
      FileId: fileId,
      SessionId: 'process-upload-1',
      MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ['0s'] }] },
    });
    expect((await apiError(client.ReviewAudioVideo({ FileId: fileId, SessionId: 'process-upload-1' }))).code).toBe(
      'InvalidParameterValue.SessionId',
    );
    // Without a SessionId nothing is de-duplicated.
    const a = await client.ReviewAudioVideo({ FileId: fileId });
    const b = await client.ReviewAudioVideo({ FileId: fileId, SessionId: '' });
    expect(a.TaskId).not.toBe(b.TaskId);
    await reviewEventOf(seen, b.TaskId!);
    t.clock.advance(121_000);
    const later = await client.ReviewAudioVideo({ FileId: fileId, SessionId: 'review-upload-1' });
    expect(later.TaskId).not.toBe(first.TaskId);
    // The task from before the window is no longer described; the new one is.
    expect((await apiError(client.DescribeTaskDetail({ TaskId: first.TaskId! }))).code).toBe('InvalidParameterValue.TaskId');
    await reviewEventOf(seen, later.TaskId!);
    expect((await client.DescribeTaskDetail({ TaskId: later.TaskId! })).TaskType).toBe('ReviewAudioVideo');
  });

  test('DescribeTaskDetail: TaskType ReviewAudioVideo, PROCESSING while the verdict is held back, then FINISH with the output', async () => {
    await admin(t, 'POST', { delayMs: 700 });
    const { TaskId } = await client.ReviewAudioVideo({
      FileId: fileId,
      SessionContext: 'upload-1',
      SessionId: 'detail-1',
      TasksPriority: 5,
      ExtInfo: 'reserved',
    });
    await until(() => (t.emulator.context.store.doc as any).reviewTasks[TaskId!].status === 'PROCESSING' || undefined);
    const running = await client.DescribeTaskDetail({ TaskId: TaskId! });
    expect(running).toMatchObject({ TaskType: 'ReviewAudioVideo', Status: 'PROCESSING', FinishTime: '' });
    expect(running.ReviewAudioVideoTask).toMatchObject({ TaskId, Status: 'PROCESSING', Output: null });
    expect(reviewVerdict(reviewCompleteFromTaskDetail(running)!)).toEqual({ outcome: 'pending' });

    await reviewEventOf(seen, TaskId!);
    const done = await client.DescribeTaskDetail({ TaskId: TaskId! });
    expect(done).toMatchObject({
      TaskType: 'ReviewAudioVideo',
      Status: 'FINISH',
      CreateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      BeginProcessTime: expect.stringMatching(/Z$/),
      FinishTime: expect.stringMatching(/Z$/),
    });
    expect(done).not.toHaveProperty('ProcedureTask');
    expect(done.ReviewAudioVideoTask).toEqual({
      TaskId,
      Status: 'FINISH',
      ErrCodeExt: '',
      Message: 'SUCCESS',
      Input: { FileId: fileId, Definition: 10, ReviewContents: ['Media'] },
      Output: {
        Suggestion: 'pass',
        Label: '',
        Form: '',
        SegmentSet: [],
        SegmentSetFileUrl: '',
        SegmentSetFileUrlExpireTime: '',
        CoverReviewResult: null,
      },
      SessionId: 'detail-1',
      SessionContext: 'upload-1',
    });
    const event = reviewCompleteFromTaskDetail(done)!;
    expect(event).toMatchObject({ kind: 'ReviewAudioVideoComplete', taskId: TaskId, fileId, sessionContext: 'upload-1' });
    expect(reviewVerdict(event)).toEqual({ outcome: 'pass', label: undefined, form: undefined });
    // Processing tasks are still described as before.
    const processing = await client.ProcessMedia({
      FileId: fileId,
      MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ['0s'] }] },
    });
    expect((await client.DescribeTaskDetail({ TaskId: processing.TaskId! })).TaskType).toBe('Procedure');
  });

  test('DescribeTasks lists review and processing tasks in one order, paged with one ScrollToken', async () => {
    const own = await uploadViaApi(t, client, 'u-list');
    const processing = await client.ProcessMedia({
      FileId: own,
      MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ['0s'] }] },
    });
    const first = await client.ReviewAudioVideo({ FileId: own, SessionId: 'list-1', SessionContext: 'u-list' });
    const second = await client.ReviewAudioVideo({ FileId: own });
    await reviewEventOf(seen, first.TaskId!);
    await reviewEventOf(seen, second.TaskId!);
    const page1 = await client.DescribeTasks({ FileId: own, Limit: 2 });
    expect(page1.TaskSet!.map((s) => [s.TaskId, s.TaskType])).toEqual([
      [second.TaskId, 'ReviewAudioVideo'],
      [first.TaskId, 'ReviewAudioVideo'],
    ]);
    expect(page1.TaskSet![1]).toMatchObject({ Status: 'FINISH', FileId: own, SessionId: 'list-1', SessionContext: 'u-list' });
    const page2 = await client.DescribeTasks({ FileId: own, Limit: 2, ScrollToken: page1.ScrollToken });
    expect(page2.TaskSet!.map((s) => [s.TaskId, s.TaskType])).toEqual([[processing.TaskId, 'Procedure']]);
    expect(page2.ScrollToken).toBe('');
    const oldestFirst = await client.DescribeTasks({ FileId: own, Sort: { Field: 'CreateTime', Order: 'Asc' } });
    expect(oldestFirst.TaskSet!.map((s) => s.TaskId)).toEqual([processing.TaskId, first.TaskId, second.TaskId]);
    expect((await apiError(client.DescribeTasks({ FileId: own, Limit: 0 }))).code).toBe('InvalidParameterValue.Limit');
  });

  test('name rules: the first matching rule gives Suggestion, Label, Form and one segment over the clip', async () => {
    const set = await admin(t, 'POST', {
      rules: [
        { name: '^nsfw', suggestion: 'block', label: 'Porn', form: 'Image', subLabel: 'SexyBehavior' },
        { name: 'party', suggestion: 'review', label: 'Abuse', form: 'ASR', confidence: 70 },
      ],
    });
    expect(set.status).toBe(200);
    expect((await admin(t, 'GET')).json.rules).toHaveLength(2);
    const blocked = await uploadViaApi(t, client, 'u-b', named('NSFW-party'));
    const held = await uploadViaApi(t, client, 'u-r', named('garden-party'));
    const plain = await uploadViaApi(t, client, 'u-p', named('garden'));
    const verdicts: Record<string, unknown> = {};
    for (const id of [blocked, held, plain]) {
      const { TaskId } = await client.ReviewAudioVideo({ FileId: id });
      const body = await reviewEventOf(seen, TaskId!);
      verdicts[id] = body.ReviewAudioVideoCompleteEvent.Output;
    }
    expect(verdicts[blocked]).toMatchObject({
      Suggestion: 'block',
      Label: 'Porn',
      Form: 'Image',
      SegmentSet: [
        {
          StartTimeOffset: 0,
          EndTimeOffset: expect.any(Number),
          Confidence: 99,
          Suggestion: 'block',
          Label: 'Porn',
          SubLabel: 'SexyBehavior',
          Form: 'Image',
        },
      ],
    });
    expect((verdicts[blocked] as any).SegmentSet[0].EndTimeOffset).toBeGreaterThan(0);
    expect(verdicts[held]).toMatchObject({ Suggestion: 'review', Label: 'Abuse', Form: 'ASR', SegmentSet: [{ Confidence: 70 }] });
    expect(verdicts[plain]).toMatchObject({ Suggestion: 'pass', SegmentSet: [] });
  });

  test('colour rules: the mean colour of the middle frame, within the tolerance; the default applies otherwise', async () => {
    await admin(t, 'POST', {
      rules: [{ colour: '#ff0000', tolerance: 40, suggestion: 'block', label: 'Terror', form: 'Image' }],
      default: 'review',
    });
    const red = await uploadViaApi(t, client, 'u-red', await filled('#ff0000'));
    const blue = await uploadViaApi(t, client, 'u-blue', await filled('#0000ff'));
    const redTask = (await client.ReviewAudioVideo({ FileId: red })).TaskId!;
    const blueTask = (await client.ReviewAudioVideo({ FileId: blue })).TaskId!;
    expect((await reviewEventOf(seen, redTask)).ReviewAudioVideoCompleteEvent.Output).toMatchObject({
      Suggestion: 'block',
      Label: 'Terror',
    });
    expect((await reviewEventOf(seen, blueTask)).ReviewAudioVideoCompleteEvent.Output).toMatchObject({
      Suggestion: 'review',
      Label: '',
    });
  });

  test('Cover: judged by Cover rules, reported in CoverReviewResult; the overall Suggestion is the strictest', async () => {
    await admin(t, 'POST', { rules: [{ content: 'Cover', colour: '#000000', suggestion: 'block', label: 'Ad', form: 'OCR' }] });
    const withCover = await uploadWithCover(t, client, await filled('black', 'png'));
    const both = (await client.ReviewAudioVideo({ FileId: withCover, ReviewContents: ['Cover', 'Media', 'Media'] })).TaskId!;
    const body = (await reviewEventOf(seen, both)).ReviewAudioVideoCompleteEvent;
    expect(body.Input.ReviewContents).toEqual(['Media', 'Cover']);
    expect(body.Output).toMatchObject({
      Suggestion: 'block',
      Label: 'Ad',
      Form: 'OCR',
      SegmentSet: [],
      CoverReviewResult: { Suggestion: 'block', Label: 'Ad', Form: 'OCR', SegmentSet: [{ Suggestion: 'block', Label: 'Ad' }] },
    });
    expect(body.Output.CoverReviewResult.SegmentSet[0]).not.toHaveProperty('StartTimeOffset');
    const parsed = parseVodEvent({ EventType: 'ReviewAudioVideoComplete', ReviewAudioVideoCompleteEvent: body });
    expect(reviewVerdict(parsed as ReviewAudioVideoCompleteEvent)).toEqual({
      outcome: 'block',
      label: 'Ad',
      form: 'OCR',
    });
    // Media alone is not judged by Cover rules.
    const mediaOnly = (await client.ReviewAudioVideo({ FileId: withCover, ReviewContents: [] })).TaskId!;
    expect((await reviewEventOf(seen, mediaOnly)).ReviewAudioVideoCompleteEvent.Output).toMatchObject({
      Suggestion: 'pass',
      CoverReviewResult: null,
    });
    // A cover review of a media without a cover fails the task.
    const noCover = (await client.ReviewAudioVideo({ FileId: fileId, ReviewContents: ['Cover'] })).TaskId!;
    expect((await reviewEventOf(seen, noCover)).ReviewAudioVideoCompleteEvent).toMatchObject({
      ErrCodeExt: 'SourceFileError',
      Output: null,
    });
  });

  test('failure rules and unknown templates fail the task: ErrCodeExt and Message, no Output', async () => {
    await admin(t, 'POST', { rules: [{ name: 'broken', errCodeExt: 'InternalError', message: 'the reviewer fell over' }] });
    const broken = await uploadViaApi(t, client, 'u-x', named('broken'));
    const failed = (await client.ReviewAudioVideo({ FileId: broken })).TaskId!;
    const body = (await reviewEventOf(seen, failed)).ReviewAudioVideoCompleteEvent;
    expect(body).toMatchObject({
      Status: 'FINISH',
      ErrCodeExt: 'InternalError',
      Message: 'the reviewer fell over',
      Output: null,
    });
    const template = (await client.ReviewAudioVideo({ FileId: fileId, Definition: 4242 })).TaskId!;
    expect((await reviewEventOf(seen, template)).ReviewAudioVideoCompleteEvent).toMatchObject({
      ErrCodeExt: 'InvalidInput.DefinitionNotExist',
      Input: { Definition: 4242 },
    });
    const parsed = parseVodEvent({ EventType: 'ReviewAudioVideoComplete', ReviewAudioVideoCompleteEvent: body });
    expect(reviewVerdict(parsed as ReviewAudioVideoCompleteEvent)).toMatchObject({
      outcome: 'failed',
      errCodeExt: 'InternalError',
    });
  });

  test('a sub-application reviews its own media; its event goes by its own event configuration', async () => {
    const sub = 1500000099;
    await client.ModifyEventConfig({ Mode: 'PULL', SubAppId: sub });
    const own = await uploadViaApi(t, client, 'u-sub', CLIP, sub);
    expect((await apiError(client.ReviewAudioVideo({ FileId: own }))).code).toBe('ResourceNotFound.FileNotExist');
    const { TaskId } = await client.ReviewAudioVideo({ FileId: own, SubAppId: sub });
    expect(TaskId).toMatch(/^1500000099-ReviewAudioVideo-/);
    await reviewEventOf(seen, TaskId!);
    const pulled = await client.PullEvents({ SubAppId: sub });
    expect(pulled.EventSet!.map((e) => e.ReviewAudioVideoCompleteEvent?.TaskId)).toContain(TaskId);
    expect((await apiError(client.DescribeTaskDetail({ TaskId: TaskId! }))).code).toBe('InvalidParameterValue.TaskId');
    expect((await client.DescribeTaskDetail({ TaskId: TaskId!, SubAppId: sub })).TaskType).toBe('ReviewAudioVideo');
  });

  test('a media whose original was deleted cannot have its Media reviewed: the task fails', async () => {
    const own = await uploadViaApi(t, client, 'u-gone');
    await client.DeleteMedia({ FileId: own, DeleteParts: [{ Type: 'OriginalFiles' }] });
    const { TaskId } = await client.ReviewAudioVideo({ FileId: own });
    expect((await reviewEventOf(seen, TaskId!)).ReviewAudioVideoCompleteEvent).toMatchObject({
      ErrCodeExt: 'SourceFileError',
      Output: null,
    });
  });

  test('bad rules are refused with 400 naming the field and change nothing', async () => {
    await admin(t, 'POST', { rules: [{ name: 'x', suggestion: 'block' }] });
    for (const bad of [
      { rules: [{ name: 'x', suggestion: 'maybe' }] },
      { rules: [{ colour: 'red', suggestion: 'block' }] },
      { rules: [{ name: '(', suggestion: 'block' }] },
      { rules: [{ nmae: 'x', suggestion: 'block' }] },
      { rules: [{ name: 'x' }] },
      { default: 'allow' },
      { delayMs: -1 },
    ]) {
      const answer = await admin(t, 'POST', bad);
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe('InvalidReviewRules');
    }
    // The admin gate: no web page can change the rules.
    const rule = { rules: [{ name: '.', suggestion: 'pass' }] };
    expect((await admin(t, 'POST', rule, { 'content-type': 'text/plain' })).status).toBe(415);
    const fromPage = await admin(t, 'POST', rule, { 'content-type': 'application/json', origin: 'https://evil.example' });
    expect(fromPage.status).toBe(403);
    expect((await admin(t, 'GET')).json.rules).toEqual([expect.objectContaining({ name: 'x', suggestion: 'block' })]);
  });
});
