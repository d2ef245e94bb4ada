/**
 * The reviewer's decision, POST /uploads/{uploadId}/review (review-upload), in-process on a real database
 * and the VOD emulator (the official SDK): who may decide, bad input, the allow and block rules per
 * status and review state, the timeline's cause, the webhooks, ForbidMediaDistribution after a block,
 * and two decisions at once. Also the review queue of GET /uploads (`?review=`).
 */
import { randomUUID } from 'node:crypto';
import type { UploadStatus } from '#contract';
import { loadConfig } from '#lib/config';
import { createLogger } from '#lib/log';
import { decideReview } from '#lib/review-decision';
import { getUpload, insertIssuedUpload, type UploadPatch, type UploadReview, updateUpload } from '#lib/upload-store';
import { emulatorEnv, startTestEmulator, uploadViaApi, vodClient, type TestEmulator } from '../emulator/helpers';
import { openTestDatabase, truncateAll, type TestDatabase } from '../support/db';
import { functionUrlEvent, loadFunction, type HttpMainHandler } from '../support/function';
import { userToken } from '../support/jwt';
import { expectAnswerMatchesOpenApi } from '../support/openapi';
import { recordingVod } from '../support/vod-calls';

let t: TestEmulator;
let testDb: TestDatabase;
let review: HttpMainHandler;
let list: HttpMainHandler;
let env: Record<string, string | undefined>;
const log = createLogger({}, 'error');

beforeAll(async () => {
  [t, testDb] = await Promise.all([startTestEmulator({ eventConfig: { Mode: 'PULL' } }), openTestDatabase()]);
  env = emulatorEnv(t, {
    ...(testDb.url ? { DATABASE_URL: testDb.url } : { DATA_DIR: testDb.dataDir }),
    VOD_EVENT_MODE: 'PULL',
    AUTH_ADMIN_CLAIM: 'scope=vod-upload:admin',
    REVIEW_MODE: 'gate',
  });
  review = loadFunction('review-upload', env);
  list = loadFunction('list-uploads', env);
}, 60_000);
afterAll(async () => {
  await t.close();
  await testDb.close();
});
beforeEach(async () => {
  await truncateAll(testDb.db);
  await testDb.db.exec('TRUNCATE webhook_outbox, upload_timeline');
});

const serviceToken = (sub = 'reviewer-1') => userToken(sub, { claims: { scope: 'openid vod-upload:admin' }, expiresIn: '5m' });

type Caller = string | { token: string } | null;
async function tokenOf(caller: Caller) {
  return caller === null ? undefined : typeof caller === 'string' ? await userToken(caller) : caller.token;
}
/** Decides as `caller` (default: the service token of reviewer-1). */
async function decide(uploadId: string, body: unknown, caller: Caller | 'service' = 'service') {
  const token = caller === 'service' ? await serviceToken() : await tokenOf(caller);
  const event = functionUrlEvent('POST', `/uploads/${uploadId}/review`, body, token ? { authorization: `Bearer ${token}` } : {});
  const result = await review(event);
  expectAnswerMatchesOpenApi(event, result);
  return { status: result.statusCode, body: result.body ? JSON.parse(result.body) : undefined };
}
async function listing(query: string, caller: Caller) {
  const token = await tokenOf(caller);
  const event = functionUrlEvent('GET', '/uploads', undefined, token ? { authorization: `Bearer ${token}` } : {});
  event.queryString = Object.fromEntries(new URLSearchParams(query));
  const result = await list(event);
  expectAnswerMatchesOpenApi(event, result);
  return { status: result.statusCode, body: JSON.parse(result.body) };
}

/** An upload of `userId` in `status` with a file, its review as given (and `processedAt` when asked). */
async function upload(status: UploadStatus, reviewState: UploadReview | null, extra: UploadPatch = {}, userId = 'alice') {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, {
    uploadId,
    userId,
    fileName: 'clip.mp4',
    signatureExpiresAt: new Date(Date.now() + 3600_000),
  });
  if (status !== 'ISSUED') {
    await updateUpload(testDb.db, uploadId, {
      status,
      fileId: `52858900000${Math.floor(Math.random() * 1e8)}`,
      media: { type: 'mp4', duration: 2, mediaUrl: 'http://media.example.com/clip.mp4' },
      result: { renditions: [{ definition: 100010, url: 'http://media.example.com/clip-720.mp4' }] },
      ...(reviewState ? { review: reviewState } : {}),
      ...extra,
    });
  }
  return uploadId;
}

async function timeline(uploadId: string) {
  const { rows } = await testDb.db.query<{ to_status: string; cause: Record<string, unknown> | null }>(
    'SELECT to_status, cause FROM upload_timeline WHERE upload_id = $1 ORDER BY seq',
    [uploadId],
  );
  return rows;
}
async function outbox(uploadId: string) {
  const { rows } = await testDb.db.query<{ event_type: string }>(
    'SELECT event_type FROM webhook_outbox WHERE upload_id = $1 ORDER BY seq',
    [uploadId],
  );
  return rows.map((row) => row.event_type);
}

describe('who may decide', () => {
  test('a user token gets a 403 JSON, the owner included, whatever the body; nothing changes', async () => {
    const id = await upload('IN_REVIEW', { state: 'held', suggestion: 'review' });
    for (const body of [{ decision: 'allow' }, '{broken', { decision: 'nope' }]) {
      const answer = await decide(id, body, 'alice');
      expect(answer).toMatchObject({ status: 403, body: { error: { code: 'Forbidden' } } });
    }
    expect((await getUpload(testDb.db, id))!.status).toBe('IN_REVIEW');
  });

  test('no token is a 401', async () => {
    const id = await upload('IN_REVIEW', { state: 'held' });
    expect(await decide(id, { decision: 'allow' }, null)).toMatchObject({
      status: 401,
      body: { error: { code: 'Unauthorized' } },
    });
  });
});

describe('bad input', () => {
  test.each([
    ['no body', undefined, 'decision'],
    ['not an object', '["allow"]', 'decision'],
    ['no decision', { reason: 'fine' }, 'decision'],
    ['an unknown decision', { decision: 'approve' }, 'decision'],
    ['a decision that is not a string', { decision: 1 }, 'decision'],
    ['a reason that is not a string', { decision: 'block', reason: 42 }, 'reason'],
    ['a reason over 500 characters', { decision: 'block', reason: 'x'.repeat(501) }, 'reason'],
    ['a reason with a control character', { decision: 'block', reason: 'bad\u0000' }, 'reason'],
    ['an unknown field', { decision: 'allow', by: 'me' }, 'by'],
  ])('%s: 400 naming the field', async (_name, body, field) => {
    const id = await upload('IN_REVIEW', { state: 'held' });
    const answer = await decide(id, body);
    expect(answer).toMatchObject({ status: 400, body: { error: { code: 'InvalidRequest', field } } });
    expect((await getUpload(testDb.db, id))!.status).toBe('IN_REVIEW');
  });

  test('broken JSON is a 400 InvalidJson; a reason of 500 characters (code points) is fine', async () => {
    const id = await upload('IN_REVIEW', { state: 'held' });
    expect(await decide(id, '{"decision":')).toMatchObject({ status: 400, body: { error: { code: 'InvalidJson' } } });
    const reason = `${'审'.repeat(499)}😀`;
    expect(await decide(id, { decision: 'block', reason })).toMatchObject({ status: 200, body: { review: { reason } } });
  });

  test('an id that is not an upload id is a 400; an unknown one a 404', async () => {
    expect(await decide('not-an-id', { decision: 'allow' })).toMatchObject({
      status: 400,
      body: { error: { field: 'uploadId' } },
    });
    expect(await decide(randomUUID(), { decision: 'allow' })).toMatchObject({
      status: 404,
      body: { error: { code: 'NotFound' } },
    });
  });
});

describe('allow', () => {
  test('IN_REVIEW → READY, recorded with who decided and why; the timeline cause names the reviewer', async () => {
    const id = await upload('IN_REVIEW', { state: 'held', suggestion: 'review', label: 'Ad', taskId: 'task-1' });
    const answer = await decide(id, { decision: 'allow', reason: '  an ad for our own app  ' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      uploadId: id,
      status: 'READY',
      review: {
        state: 'allowed',
        suggestion: 'review',
        label: 'Ad',
        taskId: 'task-1',
        decidedBy: 'reviewer-1',
        reason: 'an ad for our own app',
      },
    });
    expect(Date.parse(answer.body.review.decidedAt)).toBeGreaterThan(Date.now() - 60_000);
    // The reviewer's view carries the URLs.
    expect(answer.body.renditions[0].url).toBe('http://media.example.com/clip-720.mp4');
    const stored = (await getUpload(testDb.db, id))!;
    expect(stored).toMatchObject({ status: 'READY', review: { state: 'allowed', decidedBy: 'reviewer-1' } });
    expect((await timeline(id)).at(-1)).toEqual({
      to_status: 'READY',
      cause: { source: 'reviewer', detail: 'allow', actor: 'reviewer-1', reason: 'an ad for our own app' },
    });
    expect(await outbox(id)).toEqual(['upload.in_review', 'upload.ready']);
    const { rows } = await testDb.db.query('SELECT review_check_after FROM uploads WHERE upload_id = $1', [id]);
    expect(rows[0]).toEqual({ review_check_after: null });
  });

  test('before processing finished: the review is allowed, the status stays (processing success opens the gate)', async () => {
    for (const status of ['UPLOADED', 'PROCESSING'] as const) {
      for (const state of ['pending', 'held'] as const) {
        const id = await upload(status, { state });
        const answer = await decide(id, { decision: 'allow' });
        expect(answer).toMatchObject({ status: 200, body: { status, review: { state: 'allowed', decidedBy: 'reviewer-1' } } });
        expect(answer.body.review).not.toHaveProperty('reason');
        // The reviewer's view: the URLs the owner does not get yet.
        expect(answer.body.renditions[0].url).toBe('http://media.example.com/clip-720.mp4');
        expect((await timeline(id)).at(-1)!.to_status).toBe(status);
      }
    }
  });

  test('processing finished and waiting (gate) for a pending review: the gate opens now', async () => {
    const id = await upload('PROCESSING', { state: 'pending', taskId: 'task-2' }, { processedAt: new Date() });
    const answer = await decide(id, { decision: 'allow' });
    expect(answer).toMatchObject({ status: 200, body: { status: 'READY', review: { state: 'allowed' } } });
    expect((await timeline(id)).at(-1)).toMatchObject({ to_status: 'READY', cause: { source: 'reviewer', detail: 'allow' } });
  });

  test('READY (async) with a held review: allowed, still READY; already allowed or passed: 200 unchanged', async () => {
    const held = await upload('READY', { state: 'held' });
    expect(await decide(held, { decision: 'allow' })).toMatchObject({
      status: 200,
      body: { status: 'READY', review: { state: 'allowed' } },
    });
    for (const state of ['allowed', 'passed'] as const) {
      const id = await upload('READY', { state, ...(state === 'allowed' ? { decidedBy: 'someone-else' } : {}) });
      const before = (await getUpload(testDb.db, id))!;
      const answer = await decide(id, { decision: 'allow', reason: 'again' });
      expect(answer).toMatchObject({ status: 200, body: { status: 'READY', review: { state } } });
      expect(answer.body.review).not.toHaveProperty('reason');
      expect((await getUpload(testDb.db, id))!.updatedAt).toEqual(before.updatedAt);
    }
  });

  test.each(['BLOCKED', 'FAILED', 'REJECTED', 'EXPIRED', 'DELETED', 'ISSUED'] as const)(
    '%s: 409 NotReviewable naming the status',
    async (status) => {
      const id = await upload(status, status === 'BLOCKED' ? { state: 'blocked' } : null);
      const answer = await decide(id, { decision: 'allow' });
      expect(answer).toMatchObject({ status: 409, body: { error: { code: 'NotReviewable' } } });
      expect(answer.body.error.message).toContain(status);
      expect((await getUpload(testDb.db, id))!.status).toBe(status);
    },
  );
});

describe('block', () => {
  test.each(['UPLOADED', 'PROCESSING', 'IN_REVIEW', 'READY'] as const)(
    '%s → BLOCKED with the reason; upload.blocked in the outbox',
    async (status) => {
      const id = await upload(status, status === 'READY' ? { state: 'passed' } : { state: 'held' });
      const answer = await decide(id, { decision: 'block', reason: 'violence' });
      expect(answer).toMatchObject({
        status: 200,
        body: { status: 'BLOCKED', review: { state: 'blocked', decidedBy: 'reviewer-1', reason: 'violence' } },
      });
      expect((await timeline(id)).at(-1)).toEqual({
        to_status: 'BLOCKED',
        cause: { source: 'reviewer', detail: 'block', actor: 'reviewer-1', reason: 'violence' },
      });
      expect((await outbox(id)).at(-1)).toBe('upload.blocked');
      // BLOCKED: no URL in any view, the reviewer's included.
      expect(answer.body.renditions).toEqual([]);
    },
  );

  test('BLOCKED again: 200 unchanged; a final failure: 409 NotReviewable', async () => {
    const blocked = await upload('BLOCKED', { state: 'blocked', decidedBy: 'reviewer-0', reason: 'first' });
    expect(await decide(blocked, { decision: 'block', reason: 'second' })).toMatchObject({
      status: 200,
      body: { status: 'BLOCKED', review: { decidedBy: 'reviewer-0', reason: 'first' } },
    });
    expect(await timeline(blocked)).toHaveLength(2);
    for (const status of ['FAILED', 'REJECTED', 'EXPIRED', 'DELETED', 'ISSUED'] as const) {
      const id = await upload(status, null);
      expect(await decide(id, { decision: 'block' })).toMatchObject({ status: 409, body: { error: { code: 'NotReviewable' } } });
    }
  });

  test("after the commit VOD is told to forbid the media's distribution, and that is recorded", async () => {
    const config = loadConfig(env);
    const recorded = recordingVod(config);
    const fileId = await uploadViaApi(t, vodClient(t.emulator), 'not-this-backend');
    const id = await upload('READY', { state: 'passed' }, { fileId });
    const caller = { userId: 'reviewer-1', admin: true };
    const item = await decideReview({ config, db: testDb.db, log, vod: recorded.vod }, caller, id, () => ({ decision: 'block' }));
    expect(item.status).toBe('BLOCKED');
    expect(recorded.forbidden).toEqual([expect.objectContaining({ FileIds: [fileId], Operation: 'forbid' })]);
    expect((await getUpload(testDb.db, id))!.distributionForbidden).toBe(true);
    const info = await vodClient(t.emulator).DescribeMediaInfos({ FileIds: [fileId] });
    expect(info.MediaInfoSet![0]!.BasicInfo!.Status).toBe('Forbidden');
    // Blocking again asks VOD nothing more.
    await decideReview({ config, db: testDb.db, log, vod: recorded.vod }, caller, id, () => ({ decision: 'block' }));
    expect(recorded.forbidden).toHaveLength(1);
  });
});

describe('two decisions at once', () => {
  test('two allows: both answer READY, one status change', async () => {
    const id = await upload('IN_REVIEW', { state: 'held' });
    const answers = await Promise.all([decide(id, { decision: 'allow' }), decide(id, { decision: 'allow' })]);
    expect(answers.map((a) => [a.status, a.body.status])).toEqual([
      [200, 'READY'],
      [200, 'READY'],
    ]);
    expect((await timeline(id)).filter((entry) => entry.to_status === 'READY')).toHaveLength(1);
  });

  test('allow and block: one wins, the other sees its result; it ends BLOCKED either way', async () => {
    const id = await upload('IN_REVIEW', { state: 'held' });
    const [allow, block] = await Promise.all([decide(id, { decision: 'allow' }), decide(id, { decision: 'block' })]);
    expect(block).toMatchObject({ status: 200, body: { status: 'BLOCKED' } });
    // Allow first: READY, then the block takes it down; block first: the allow finds it BLOCKED.
    if (allow.status === 200)
      expect(await timeline(id)).toMatchObject([{}, {}, { to_status: 'READY' }, { to_status: 'BLOCKED' }]);
    else expect(allow).toMatchObject({ status: 409, body: { error: { code: 'NotReviewable' } } });
    expect((await getUpload(testDb.db, id))!.status).toBe('BLOCKED');
  });
});

describe('the review queue: GET /uploads?review=', () => {
  test('a service token lists every held upload, combinable with status; a user only their own', async () => {
    const heldA = await upload('IN_REVIEW', { state: 'held' }, {}, 'alice');
    const heldB = await upload('READY', { state: 'held' }, {}, 'bob');
    await upload('READY', { state: 'passed' }, {}, 'alice');
    await upload('PROCESSING', null, {}, 'alice');
    const ids = (page: { body: { uploads: Array<{ uploadId: string }> } }) => page.body.uploads.map((u) => u.uploadId);
    const service = { token: await serviceToken() };
    expect(ids(await listing('review=held', service)).sort()).toEqual([heldA, heldB].sort());
    expect(ids(await listing('review=held&status=IN_REVIEW', service))).toEqual([heldA]);
    expect(ids(await listing('status=IN_REVIEW', service))).toEqual([heldA]);
    expect(ids(await listing('review=held', 'alice'))).toEqual([heldA]);
    expect(ids(await listing('review=held', 'carol'))).toEqual([]);
  });

  test('an unknown review state is a 400 naming the parameter', async () => {
    expect(await listing('review=maybe', { token: await serviceToken() })).toMatchObject({
      status: 400,
      body: { error: { code: 'InvalidRequest', field: 'review' } },
    });
  });
});
