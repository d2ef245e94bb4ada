/**
 * The content review's calls into VOD (lib/vod-api.ts: ReviewAudioVideo, and DescribeTasks passing over
 * review tasks), and, with REVIEW_MODE off, that the event handler records a review event once and asks
 * VOD for nothing. The event's parsing: test/unit/vod-event-review.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '#lib/config';
import { handleVodEvent } from '#lib/handle-vod-event';
import { createLogger } from '#lib/log';
import { type VodCalls, vodApi } from '#lib/vod-api';
import { parseVodEvent, type ReviewAudioVideoCompleteEvent } from '#lib/vod-event';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { functionEnv } from '../support/env';

const pushedReview = () =>
  parseVodEvent(
    JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'events', 'review-audio-video-complete.push.json'), 'utf8')),
  ) as ReviewAudioVideoCompleteEvent;

describe('vodApi', () => {
  const client = (answers: Record<string, (request: any) => Promise<unknown>>) =>
    new Proxy(
      {},
      { get: (_t, name) => answers[String(name)] ?? (() => Promise.reject(new Error(`${String(name)} not expected`))) },
    ) as VodCalls;

  test('reviewAudioVideo sends what it is given, in the sub-app, retries a transient error and returns the TaskId', async () => {
    const requests: unknown[] = [];
    let failures = 1;
    const api = vodApi(
      client({
        ReviewAudioVideo: async (request) => {
          requests.push(request);
          if (failures-- > 0) throw Object.assign(new Error('busy'), { code: 'InternalError' });
          return { TaskId: '1500000001-ReviewAudioVideo-abct', RequestId: 'r' };
        },
      }),
      { subAppId: 1500000099 },
    );
    const taskId = await api.reviewAudioVideo('5285890784246869930', {
      sessionId: 'review-1',
      sessionContext: 'upload-1',
      definition: 10,
      contents: ['Media', 'Cover'],
    });
    expect(taskId).toBe('1500000001-ReviewAudioVideo-abct');
    expect(requests).toHaveLength(2);
    expect(requests[1]).toEqual({
      FileId: '5285890784246869930',
      SubAppId: 1500000099,
      SessionId: 'review-1',
      SessionContext: 'upload-1',
      Definition: 10,
      ReviewContents: ['Media', 'Cover'],
    });
    await api.reviewAudioVideo('5285890784246869931');
    expect(requests[2]).toEqual({ FileId: '5285890784246869931', SubAppId: 1500000099 });
  });

  test('a repeated SessionId is not retried; an answer without a TaskId is an error', async () => {
    let calls = 0;
    const repeated = vodApi(
      client({
        ReviewAudioVideo: async () => {
          calls++;
          throw Object.assign(new Error('used'), { code: 'InvalidParameterValue.SessionId' });
        },
      }),
    );
    await expect(repeated.reviewAudioVideo('1', { sessionId: 's' })).rejects.toMatchObject({
      code: 'InvalidParameterValue.SessionId',
    });
    expect(calls).toBe(1);
    const empty = vodApi(client({ ReviewAudioVideo: async () => ({ RequestId: 'r' }) }));
    await expect(empty.reviewAudioVideo('1')).rejects.toThrow(/without a TaskId/);
  });

  test('firstTaskOf passes over review tasks, which DescribeTasks lists too', async () => {
    const api = vodApi(
      client({
        DescribeTasks: async () => ({
          TaskSet: [
            { TaskId: 'r-1', TaskType: 'ReviewAudioVideo' },
            { TaskId: 'p-1', TaskType: 'Procedure' },
          ],
        }),
      }),
    );
    expect(await api.firstTaskOf('5285890784246869930')).toBe('p-1');
  });
});

describe('the event handler with REVIEW_MODE off', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await openTestDatabase();
  }, 60_000);
  afterAll(() => testDb.close());

  test('records a review event once, as ignored, and calls VOD for nothing', async () => {
    const calls: string[] = [];
    const vod = new Proxy(
      {},
      {
        get: (_target, name) => {
          calls.push(String(name));
          return () => Promise.reject(new Error(`VOD.${String(name)} called`));
        },
      },
    ) as VodCalls;
    const deps = {
      config: loadConfig(functionEnv({})),
      db: testDb.db,
      vod,
      log: createLogger({}, 'error'),
    };
    const pushed = pushedReview();
    expect(pushed.kind).toBe('ReviewAudioVideoComplete');
    const first = await handleVodEvent(deps, pushed, { confirmWithVod: false });
    expect(first).toMatchObject({ kind: 'ReviewAudioVideoComplete', outcome: 'ignored', duplicate: false });
    // The PULL form of the same task and status is the same event.
    const again = await handleVodEvent(deps, { ...pushed, eventHandle: 'h-2' }, { confirmWithVod: false });
    expect(again).toMatchObject({ outcome: 'duplicate', duplicate: true });
    const { rows } = await testDb.db.query('SELECT event_type, file_id, task_id, outcome FROM vod_events');
    expect(rows).toEqual([
      { event_type: 'ReviewAudioVideoComplete', file_id: pushed.fileId, task_id: pushed.taskId, outcome: 'ignored' },
    ]);
    expect(calls).toEqual([]);
  });
});
