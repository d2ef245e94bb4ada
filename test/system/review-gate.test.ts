/**
 * Content review as a gate (REVIEW_MODE=gate, issue #17), end to end on the local stack: the upload client,
 * the VOD emulator's ReviewAudioVideo with its verdict rules (by media name or colour, local/emulator/README.md
 * "Audio/video review"), real ffmpeg, the webhooks. Nothing plays before the gate opens: no URL in any
 * status read or webhook, no playback credential, and a blocked media is forbidden at the CDN, then deleted
 * after BLOCKED_RETENTION_DAYS. The reviewer's decision: a service token only, bad bodies answered 4xx JSON.
 */
import { randomUUID } from 'node:crypto';
import {
  apiFetch,
  expectForbidden,
  expectNothingToPlay,
  httpStatuses,
  ReviewStack,
  type ReviewerView,
  urlsOf,
} from '../support/review-stack';

const review = new ReviewStack();
const RULES = {
  rules: [
    // Held back past the end of processing, so processing finishes first.
    { name: '^slow-review', suggestion: 'pass', delayMs: 10_000 },
    { name: '^hold', suggestion: 'review', label: 'Terror', form: 'Image' },
    { colour: '#ff0000', tolerance: 40, suggestion: 'block', label: 'Porn', form: 'Image' },
  ],
  default: 'pass',
};

beforeAll(() => review.start({ REVIEW_MODE: 'gate', BLOCKED_RETENTION_DAYS: '0' }, RULES), 120_000);
afterAll(() => review.close());

/** Every view read on the way to READY was PROCESSING (or before: the client returns at its commit) without a URL. */
function expectGateHeld(seen: ReviewerView[]): void {
  const before = seen.filter((v) => v.status !== 'READY');
  for (const view of before) {
    expect(['ISSUED', 'UPLOADED', 'PROCESSING']).toContain(view.status);
    expectNothingToPlay(view);
  }
}

async function expectReadyAfterGate(uploadId: string, fileId: string, token: string, seen: ReviewerView[]) {
  const ready = await review.until(uploadId, token, (v) => v.status === 'READY', seen);
  expectGateHeld(seen);
  expect(ready.review).toMatchObject({ state: 'passed' });
  expect(ready.renditions.length).toBe(1);
  expect(ready.playback).toBeDefined();
  expect(await httpStatuses(urlsOf(ready))).toEqual(urlsOf(ready).map(() => 200));
  // The webhook for READY comes once, after the gate opened, and carries the URLs then.
  const hook = await review.hook(uploadId, 'upload.ready');
  expect(urlsOf(hook.data).length).toBeGreaterThan(0);
  for (const other of review.hooksFor(uploadId).filter((h) => h.type !== 'upload.ready')) expect(urlsOf(other.data)).toEqual([]);
  expect(review.hooksFor(uploadId).filter((h) => h.type === 'upload.ready')).toHaveLength(1);
  // One review task, one processing task for the file.
  expect(await review.tasks(fileId, 'review')).toHaveLength(1);
  expect(await review.tasks(fileId, 'processing')).toHaveLength(1);
  return ready;
}

test('gate, review slower than processing: PROCESSING (100 %, no URLs, no upload.ready) until the pass arrives, then READY', async () => {
  const { uploadId, fileId, token } = await review.upload('ann', 'slow-review-1');
  const seen: ReviewerView[] = [];
  // Processing is over (its task finished and its event applied) while the review is still running.
  await review.tasksFinished(fileId, 'processing');
  const waiting = await review.until(uploadId, token, (v) => v.progress === 100 || v.review?.state !== 'pending', seen);
  expect(waiting).toMatchObject({ status: 'PROCESSING', progress: 100, review: { state: 'pending' } });
  expectNothingToPlay(waiting);
  expect(review.hooksFor(uploadId).map((h) => h.type)).not.toContain('upload.ready');
  expect((await review.tasks(fileId, 'review'))[0]?.Status).not.toBe('FINISH');

  await expectReadyAfterGate(uploadId, fileId, token, seen);
  // The source VOD lists plays (this stack has no hotlink key): the 403s below are the block's doing.
  expect(await httpStatuses(await review.vodUrls(fileId))).toEqual([200, 200]);
}, 120_000);

test('gate, processing slower than review: passed while PROCESSING (no URLs, no upload.ready), READY when processing ends', async () => {
  await review.setFaults({ processing: { delayMs: 6000 } });
  try {
    const { uploadId, fileId, token } = await review.upload('ann', 'quick-review-1');
    const seen: ReviewerView[] = [];
    const passed = await review.until(uploadId, token, (v) => v.review?.state === 'passed' && v.status !== 'UPLOADED', seen);
    expect(passed.status).toBe('PROCESSING');
    expect(passed.progress).toBeLessThan(100);
    expectNothingToPlay(passed);
    expect(review.hooksFor(uploadId).map((h) => h.type)).not.toContain('upload.ready');
    expect((await review.tasks(fileId, 'processing'))[0]?.Status).not.toBe('FINISH');

    await expectReadyAfterGate(uploadId, fileId, token, seen);
  } finally {
    await review.setFaults({});
  }
}, 120_000);

test('gate, a held clip: IN_REVIEW with nothing to play for its owner; the queue lists it; allow → READY, block → BLOCKED', async () => {
  const service = await review.serviceToken('review-desk');
  const [first, second] = await Promise.all([review.upload('bea', 'hold-1'), review.upload('bea', 'hold-2')]);
  for (const upload of [first!, second!]) {
    const seen: ReviewerView[] = [];
    const held = await review.until(upload.uploadId, upload.token, (v) => v.status === 'IN_REVIEW', seen);
    for (const view of seen) expectNothingToPlay(view);
    expect(held.review).toEqual({ state: 'held', label: 'Terror' });
    // The reviewer's read shows the media, so a person can watch before deciding.
    const reviewer = await review.view(upload.uploadId, service);
    expect(reviewer.status).toBe('IN_REVIEW');
    expect(reviewer.renditions.length).toBe(1);
    expect(await httpStatuses(urlsOf(reviewer))).toEqual(urlsOf(reviewer).map(() => 200));
    const hook = await review.hook(upload.uploadId, 'upload.in_review');
    expect(urlsOf(hook.data)).toEqual([]);
  }
  const queue = async (query: string) => {
    const answer = await apiFetch(`${review.stack.apiUrl}/uploads?${query}&limit=100`, {
      headers: { authorization: `Bearer ${service}` },
    });
    expect(answer.status).toBe(200);
    return ((await answer.json()) as { uploads: Array<{ uploadId: string; status: string }> }).uploads.map((u) => u.uploadId);
  };
  expect((await queue('status=IN_REVIEW')).sort()).toEqual([first!.uploadId, second!.uploadId].sort());
  // The owner's library lists them with nothing to play either.
  const library = await apiFetch(`${review.stack.apiUrl}/uploads?status=IN_REVIEW`, {
    headers: { authorization: `Bearer ${first!.token}` },
  });
  const items = ((await library.json()) as { uploads: ReviewerView[] }).uploads;
  expect(items.map((u) => u.uploadId).sort()).toEqual([first!.uploadId, second!.uploadId].sort());
  for (const item of items) expectNothingToPlay(item);
  expect(await queue('review=held')).toEqual(expect.arrayContaining([first!.uploadId, second!.uploadId]));

  // Allowed: READY, with URLs and playback for the owner, and upload.ready after upload.in_review.
  const allowed = await review.decide(first!.uploadId, { decision: 'allow', reason: 'news footage' }, service);
  expect(allowed.status).toBe(200);
  expect(allowed.body).toMatchObject({
    uploadId: first!.uploadId,
    status: 'READY',
    review: { state: 'allowed', decidedBy: 'review-desk' },
  });
  const ready = await review.view(first!.uploadId, first!.token);
  expect(ready).toMatchObject({ status: 'READY', review: { state: 'allowed' } });
  expect(ready.review).not.toHaveProperty('decidedBy');
  expect(ready.playback).toBeDefined();
  expect(await httpStatuses(urlsOf(ready))).toEqual(urlsOf(ready).map(() => 200));
  await review.hook(first!.uploadId, 'upload.ready');
  const types = review
    .hooksFor(first!.uploadId)
    .sort((a, b) => a.data.sequence - b.data.sequence)
    .map((h) => h.type);
  expect(types.slice(-2)).toEqual(['upload.in_review', 'upload.ready']);
  expect(types.filter((t) => t === 'upload.ready')).toHaveLength(1);

  // Blocked: BLOCKED, nothing to play, and what the reviewer watched stops playing.
  const watched = urlsOf(await review.view(second!.uploadId, service));
  const blocked = await review.decide(second!.uploadId, { decision: 'block', reason: 'violence' }, service);
  expect(blocked.status).toBe(200);
  expect(blocked.body).toMatchObject({
    status: 'BLOCKED',
    review: { state: 'blocked', decidedBy: 'review-desk', reason: 'violence' },
  });
  const gone = await review.view(second!.uploadId, second!.token);
  expect(gone.status).toBe('BLOCKED');
  expectNothingToPlay(gone);
  // Not even the reviewer's read hands out a URL of a blocked media.
  expect(urlsOf(await review.view(second!.uploadId, service))).toEqual([]);
  // The timeline says a reviewer did it, never which one.
  const last = gone.history!.at(-1)!;
  expect(last.status).toBe('BLOCKED');
  expect(last.reason).toMatch(/review/i);
  expect(JSON.stringify(gone)).not.toContain('review-desk');
  expect(urlsOf((await review.hook(second!.uploadId, 'upload.blocked')).data)).toEqual([]);
  await expectForbidden(watched);
  // Decided: out of the queue; a decision on a BLOCKED upload is refused, blocking it again changes nothing.
  expect(await queue('status=IN_REVIEW')).toEqual([]);
  const again = await review.decide(second!.uploadId, { decision: 'allow' }, service);
  expect(again).toMatchObject({ status: 409, body: { error: { code: 'NotReviewable' } } });
  expect((await review.decide(second!.uploadId, { decision: 'block' }, service)).status).toBe(200);
}, 120_000);

test('gate, a blocked clip (red, by colour): BLOCKED, no URL ever handed out, forbidden at the CDN, deleted after retention', async () => {
  const { uploadId, fileId, token } = await review.upload('cid', 'holiday', review.redClip);
  const seen: ReviewerView[] = [];
  const blocked = await review.until(uploadId, token, (v) => v.status === 'BLOCKED', seen);
  expect(blocked.review).toEqual({ state: 'blocked', label: 'Porn' });
  // Processing ends after (or before) the verdict: nothing changes, nothing is handed out.
  await review.tasksFinished(fileId, 'processing');
  await new Promise((resolve) => setTimeout(resolve, 500));
  seen.push(await review.view(uploadId, token));
  for (const view of seen) expectNothingToPlay(view);
  expect(seen.at(-1)!.status).toBe('BLOCKED');
  await review.hook(uploadId, 'upload.blocked');
  const hooks = review.hooksFor(uploadId);
  expect(hooks.map((h) => h.type)).not.toContain('upload.ready');
  for (const hook of hooks) expect(urlsOf(hook.data)).toEqual([]);

  // VOD still has the media, but its CDN answers 403 for every URL of it (ForbidMediaDistribution).
  const urls = await review.vodUrls(fileId);
  expect(urls.length).toBeGreaterThanOrEqual(1);
  await expectForbidden(urls);
  const info = await review.vodApi().DescribeMediaInfos({ FileIds: [fileId] });
  expect(info.MediaInfoSet?.[0]?.BasicInfo?.Status).toBe('Forbidden');

  // BLOCKED_RETENTION_DAYS=0: the next cleanup run deletes the media in VOD.
  expect(await review.notInVod(fileId)).toBe(false);
  await review.cleanup();
  expect(await review.notInVod(fileId)).toBe(true);
  const after = await review.view(uploadId, token);
  expect(after.status).toBe('DELETED');
  expectNothingToPlay(after);
}, 120_000);

test('the decision: a user token gets 403, bad bodies 400 naming the field, an unknown upload 404, all JSON', async () => {
  const { uploadId, token } = await review.upload('dan', 'hold-3');
  await review.until(uploadId, token, (v) => v.status === 'IN_REVIEW');
  const service = await review.serviceToken();
  const error = (body: any) => expect(body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });

  // The owner's own token, and another user's: 403, nothing decided.
  for (const user of [token, await review.stack.demoToken('eve')]) {
    const refused = await review.decide(uploadId, { decision: 'allow' }, user);
    expect(refused.status).toBe(403);
    error(refused.body);
  }
  expect((await review.view(uploadId, token)).status).toBe('IN_REVIEW');

  const bad: Array<[unknown, string | undefined]> = [
    [{}, 'decision'],
    [{ decision: 'maybe' }, 'decision'],
    [{ decision: 'ALLOW' }, 'decision'],
    [{ decision: 42 }, 'decision'],
    [{ decision: 'allow', reason: 7 }, 'reason'],
    [{ decision: 'block', reason: 'x'.repeat(501) }, 'reason'],
    [{ decision: 'block', reason: 'bell\u0007' }, 'reason'],
    [{ decision: 'allow', approvedBy: 'me' }, undefined],
    ['{"decision":', undefined],
    [[{ decision: 'allow' }], undefined],
  ];
  for (const [body, field] of bad) {
    const answer = await review.decide(uploadId, body, service);
    expect({ body, status: answer.status }).toEqual({ body, status: 400 });
    error(answer.body);
    if (field) expect(answer.body.error.field ?? answer.body.error.message).toContain(field);
  }
  expect((await review.view(uploadId, token)).status).toBe('IN_REVIEW');

  const unknown = await review.decide(randomUUID(), { decision: 'allow' }, service);
  expect(unknown.status).toBe(404);
  error(unknown.body);
  // A reason of exactly 500 characters is fine.
  expect((await review.decide(uploadId, { decision: 'allow', reason: 'y'.repeat(500) }, service)).status).toBe(200);
}, 120_000);
