/**
 * Issue #17, the emulator side: the ReviewAudioVideoComplete event in both delivery forms (read back by the
 * backend's own parser), the review rules set by EMULATOR_REVIEW_RULES, and a held-back task across a restart.
 */
import { parsePullEventsResponse, parseVodEvent, reviewVerdict, type ReviewAudioVideoCompleteEvent } from '#lib/vod-event';
import { startReviews } from '../../local/emulator/review/tasks.ts';
import { startReceiver, startTestEmulator, uploadViaApi, vodClient } from './helpers';
import type { Receiver, TestEmulator, VodClient } from './helpers';
import { admin, named, recordEvents, removeWork, reviewEventOf, until } from './review-fixture';

afterAll(removeWork);

describe('the ReviewAudioVideoComplete event in both delivery forms', () => {
  let t: TestEmulator;
  let client: VodClient;
  let receiver: Receiver;
  beforeAll(async () => {
    t = await startTestEmulator({ events: { pullWaitMs: 300 } });
    client = vodClient(t.emulator);
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  test('PUSH: a body without nulls or EventHandle, signed, that the backend parses', async () => {
    await client.ModifyEventConfig({ Mode: 'PUSH', NotificationUrl: receiver.url, SignKey: 'reviewKey1' });
    await admin(t, 'POST', { rules: [{ name: 'spam', suggestion: 'review', label: 'Ad', form: 'OCR' }] });
    const fileId = await uploadViaApi(t, client, 'u-push', named('spam-clip'));
    const { TaskId } = await client.ReviewAudioVideo({ FileId: fileId, SessionContext: 'u-push', SessionId: 'push-1' });
    const body = await until(() => receiver.bodies.find((b) => b.EventType === 'ReviewAudioVideoComplete'));
    expect(body).not.toHaveProperty('EventHandle');
    expect(JSON.stringify(body)).not.toContain('null');
    expect(body).toMatchObject({ Sign: expect.any(String), T: expect.any(Number) });
    expect(Object.keys(body).sort()).toEqual(['EventType', 'ReviewAudioVideoCompleteEvent', 'Sign', 'T']);
    const event = parseVodEvent(body) as ReviewAudioVideoCompleteEvent;
    expect(event).toMatchObject({
      kind: 'ReviewAudioVideoComplete',
      taskId: TaskId,
      status: 'FINISH',
      fileId,
      definition: 10,
      reviewContents: ['Media'],
      errCodeExt: '',
      message: 'SUCCESS',
      sessionContext: 'u-push',
      sessionId: 'push-1',
      output: { suggestion: 'review', label: 'Ad', form: 'OCR', segments: [{ suggestion: 'review', startTimeOffset: 0 }] },
    });
    expect(event.output!.cover).toBeUndefined();
    expect(reviewVerdict(event)).toEqual({ outcome: 'review', label: 'Ad', form: 'OCR' });
  });

  test('PULL: an EventSet entry with EventHandle and every other payload null; confirmed once', async () => {
    await client.ModifyEventConfig({ Mode: 'PULL' });
    await admin(t, 'POST', {});
    const fileId = await uploadViaApi(t, client, 'u-pull');
    const { TaskId } = await client.ReviewAudioVideo({ FileId: fileId });
    let pulled: Awaited<ReturnType<VodClient['PullEvents']>> | undefined;
    for (let i = 0; i < 20 && !pulled?.EventSet?.length; i++) pulled = await client.PullEvents({});
    const entry = pulled!.EventSet![0]!;
    expect(entry).toMatchObject({
      EventType: 'ReviewAudioVideoComplete',
      EventHandle: expect.any(String),
      FileUploadEvent: null,
    });
    expect(entry.ReviewAudioVideoCompleteEvent).toMatchObject({ TaskId, Status: 'FINISH', Output: { Suggestion: 'pass' } });
    const parsed = parsePullEventsResponse(pulled);
    expect(parsed.events).toHaveLength(1);
    const first = parsed.events[0]!;
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(first.eventHandle).toBe(entry.EventHandle);
    expect(first.event).toMatchObject({ kind: 'ReviewAudioVideoComplete', taskId: TaskId, eventHandle: entry.EventHandle });
    expect(reviewVerdict(first.event as ReviewAudioVideoCompleteEvent).outcome).toBe('pass');
    await client.ConfirmEvents({ EventHandles: [entry.EventHandle!] });
    t.clock.advance(31_000);
    expect((await client.PullEvents({})).EventSet).toBeNull();
  });
});

describe('rules from EMULATOR_REVIEW_RULES, and a restart', () => {
  test('the variable sets the rules at start; a bad one stops the emulator from starting', async () => {
    process.env.EMULATOR_REVIEW_RULES = JSON.stringify({ rules: [{ name: 'clip', suggestion: 'block', label: 'Illegal' }] });
    let t: TestEmulator | undefined;
    try {
      t = await startTestEmulator();
      const client = vodClient(t.emulator);
      const seen = recordEvents(t);
      expect((await admin(t, 'GET')).json.rules).toEqual([expect.objectContaining({ name: 'clip', suggestion: 'block' })]);
      const fileId = await uploadViaApi(t, client);
      const { TaskId } = await client.ReviewAudioVideo({ FileId: fileId });
      expect((await reviewEventOf(seen, TaskId!)).ReviewAudioVideoCompleteEvent.Output.Suggestion).toBe('block');
    } finally {
      delete process.env.EMULATOR_REVIEW_RULES;
      await t?.close();
    }
    expect(() => startReviews({} as never, '{"rules":[{"suggestion":"no"}]}')).toThrow(
      /EMULATOR_REVIEW_RULES: rules\[0\]\.suggestion/,
    );
    expect(() => startReviews({} as never, 'not json')).toThrow(/EMULATOR_REVIEW_RULES/);
  });

  test('a task held back when the emulator stops finishes after the restart, once, with the rules kept in state.json', async () => {
    const t = await startTestEmulator();
    try {
      const client = vodClient(t.emulator);
      await admin(t, 'POST', { rules: [{ name: 'clip', suggestion: 'block', delayMs: 400 }] });
      const fileId = await uploadViaApi(t, client);
      const { TaskId } = await client.ReviewAudioVideo({ FileId: fileId });
      await t.restart();
      const seen = recordEvents(t);
      const body = await reviewEventOf(seen, TaskId!);
      expect(body.ReviewAudioVideoCompleteEvent.Output.Suggestion).toBe('block');
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(seen.filter((e) => e.ReviewAudioVideoCompleteEvent?.TaskId === TaskId)).toHaveLength(1);
      const detail = await vodClient(t.emulator).DescribeTaskDetail({ TaskId: TaskId! });
      expect(detail).toMatchObject({ Status: 'FINISH', ReviewAudioVideoTask: { Output: { Suggestion: 'block' } } });
    } finally {
      await t.close();
    }
  });
});
