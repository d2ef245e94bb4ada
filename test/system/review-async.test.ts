/**
 * Content review after publishing (REVIEW_MODE=async, issue #17), end to end on the local stack with Key
 * hotlink protection on: a READY video that a reviewer or a late `block` verdict takes down is BLOCKED and
 * the signed URLs handed out while it was READY stop working (403). Then the repairs: review verdicts lost or
 * delivered twice (the emulator's PUSH faults, for ReviewAudioVideoComplete only) and a review that VOD
 * failed to start are put right by the cleanup run, with one review task per file.
 */
import { expectForbidden, httpStatuses, ReviewStack, type ReviewerView, urlsOf } from '../support/review-stack';

const review = new ReviewStack();
const RULES = {
  rules: [
    // The verdict comes after processing ended: the video is READY first.
    { name: '^late-block', suggestion: 'block', label: 'Porn', form: 'Image', delayMs: 12_000 },
    { name: '^nsfw', suggestion: 'block', label: 'Porn', form: 'Image' },
  ],
  default: 'pass',
};
const HOTLINK_KEY = 'ReviewAsyncKey2026';

beforeAll(() => review.start({ REVIEW_MODE: 'async', HOTLINK_KEY, HOTLINK_URL_TTL_SECONDS: '600' }, RULES), 120_000);
afterAll(() => review.close());

const REVIEW_ONLY = ['ReviewAudioVideoComplete'];

/** A READY upload whose signed URLs play; returns them. */
async function readyAndPlaying(userId: string, mediaName: string) {
  const upload = await review.upload(userId, mediaName);
  const ready = await review.until(upload.uploadId, upload.token, (v) => v.status === 'READY');
  expect(ready.playback).toBeDefined();
  const urls = urlsOf(ready);
  expect(urls.length).toBeGreaterThanOrEqual(2);
  for (const url of urls) expect(new URL(url).searchParams.get('sign')).toMatch(/^[0-9a-f]{32}$/);
  expect(await httpStatuses(urls)).toEqual(urls.map(() => 200));
  return { ...upload, ready, urls };
}

async function expectTakenDown(upload: { uploadId: string; token: string }, urls: string[]): Promise<ReviewerView> {
  const view = await review.view(upload.uploadId, upload.token);
  expect(view.status).toBe('BLOCKED');
  expect({ urls: urlsOf(view), playback: view.playback }).toEqual({ urls: [], playback: undefined });
  // Signed, unexpired, and refused: the media's distribution is forbidden.
  await expectForbidden(urls);
  const blocked = await review.hook(upload.uploadId, 'upload.blocked');
  expect(urlsOf(blocked.data)).toEqual([]);
  expect(review.hooksFor(upload.uploadId).filter((h) => h.type === 'upload.blocked')).toHaveLength(1);
  return view;
}

test('async: a reviewer blocks a READY video: BLOCKED, and the signed URLs handed out while READY answer 403', async () => {
  const upload = await readyAndPlaying('fay', 'takedown-1');
  // The pass verdict is in (a block decision does not race it).
  await review.until(upload.uploadId, upload.token, (v) => v.review?.state === 'passed');
  const decided = await review.decide(
    upload.uploadId,
    { decision: 'block', reason: 'reported by viewers' },
    await review.serviceToken(),
  );
  expect(decided.status).toBe(200);
  expect(decided.body).toMatchObject({ status: 'BLOCKED', review: { state: 'blocked', reason: 'reported by viewers' } });
  const view = await expectTakenDown(upload, upload.urls);
  expect(view.review).toMatchObject({ state: 'blocked' });
  expect(view.history!.at(-1)).toMatchObject({ status: 'BLOCKED' });
}, 120_000);

test('async: a block verdict arriving after processing takes the READY video down by itself', async () => {
  const upload = await readyAndPlaying('gus', 'late-block-1');
  expect(upload.ready.review).toEqual({ state: 'pending' });
  const seen: ReviewerView[] = [];
  const blocked = await review.until(upload.uploadId, upload.token, (v) => v.status === 'BLOCKED', seen);
  expect(blocked.review).toEqual({ state: 'blocked', label: 'Porn' });
  // READY until the verdict, then BLOCKED: no status in between.
  expect([...new Set(seen.map((v) => v.status))]).toEqual(['READY', 'BLOCKED']);
  await expectTakenDown(upload, upload.urls);
  expect(await review.tasks(upload.fileId, 'review')).toHaveLength(1);
}, 120_000);

test('lost review verdicts: the cleanup run asks VOD and applies them (pass and block), one review task per file', async () => {
  await review.setFaults({ push: { dropRate: 1, eventTypes: REVIEW_ONLY } });
  let uploads: Array<Awaited<ReturnType<typeof readyAndPlaying>>>;
  try {
    // Processing's events still arrive: both are READY; the verdicts never come.
    uploads = [await readyAndPlaying('hal', 'lost-pass-1'), await readyAndPlaying('hal', 'nsfw-lost-1')];
    for (const upload of uploads) await review.tasksFinished(upload.fileId, 'review');
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const upload of uploads) {
      expect((await review.view(upload.uploadId, upload.token)).review).toEqual({ state: 'pending' });
      expect(review.verdictDeliveries(upload.fileId)).toEqual({ sent: 0, dropped: 1 });
    }
  } finally {
    await review.setFaults({});
  }
  // Both verdicts settled from VOD's task detail; no review started anew.
  expect(await review.cleanup()).toMatchObject({ reviewsResolved: 2, reviewsStarted: 0 });
  const [pass, block] = uploads;
  expect(await review.view(pass!.uploadId, pass!.token)).toMatchObject({ status: 'READY', review: { state: 'passed' } });
  expect(await httpStatuses(pass!.urls)).toEqual(pass!.urls.map(() => 200));
  await expectTakenDown(block!, block!.urls);
  // The cleanup asked about the task VOD had; it started no other.
  await review.cleanup();
  for (const upload of uploads) expect(await review.tasks(upload.fileId, 'review')).toHaveLength(1);
}, 180_000);

test('duplicated review verdicts: applied once (one upload.blocked, one BLOCKED in the history), one review task per file', async () => {
  await review.setFaults({ push: { duplicateRate: 1, eventTypes: REVIEW_ONLY } });
  try {
    const pass = await readyAndPlaying('ida', 'twice-pass-1');
    await review.until(pass.uploadId, pass.token, (v) => v.review?.state === 'passed');
    const block = await review.upload('ida', 'nsfw-twice-1');
    const blocked = await review.until(block.uploadId, block.token, (v) => v.status === 'BLOCKED');
    await review.tasksFinished(block.fileId, 'processing');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(blocked.history!.filter((h) => h.status === 'BLOCKED')).toHaveLength(1);
    const now = await review.view(block.uploadId, block.token);
    expect(now.history!.filter((h) => h.status === 'BLOCKED')).toHaveLength(1);
    expect(now.status).toBe('BLOCKED');
    expect(review.hooksFor(block.uploadId).filter((h) => h.type === 'upload.blocked')).toHaveLength(1);
    const ready = await review.view(pass.uploadId, pass.token);
    expect(ready).toMatchObject({ status: 'READY', review: { state: 'passed' } });
    expect(ready.history!.filter((h) => h.status === 'READY')).toHaveLength(1);
    expect(review.hooksFor(pass.uploadId).filter((h) => h.type === 'upload.ready')).toHaveLength(1);
    for (const upload of [pass, block]) {
      expect(await review.tasks(upload.fileId, 'review')).toHaveLength(1);
      // Each verdict did arrive twice.
      expect(review.verdictDeliveries(upload.fileId)).toEqual({ sent: 2, dropped: 0 });
    }
  } finally {
    await review.setFaults({});
  }
}, 180_000);

test('a lost review trigger (ReviewAudioVideo failing): the cleanup starts the review once, and its verdict applies', async () => {
  await review.setFaults({ api: { internalErrorRate: 1, actions: ['ReviewAudioVideo'] } });
  let upload: Awaited<ReturnType<typeof readyAndPlaying>>;
  try {
    upload = await readyAndPlaying('jon', 'nsfw-unstarted-1');
    // Long enough for the retries after NewFileUpload to have given up.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // VOD never got the review: no task, the review waits.
    expect(await review.tasks(upload.fileId, 'review')).toEqual([]);
    expect(upload.ready.review).toEqual({ state: 'pending' });
  } finally {
    await review.setFaults({});
  }
  expect(await review.cleanup()).toMatchObject({ reviewsStarted: 1 });
  expect(await review.tasks(upload.fileId, 'review')).toHaveLength(1);
  await review.until(upload.uploadId, upload.token, (v) => v.status === 'BLOCKED');
  await expectTakenDown(upload, upload.urls);
  expect(await review.cleanup()).toMatchObject({ reviewsStarted: 0, reviewsResolved: 0 });
  expect(await review.tasks(upload.fileId, 'review')).toHaveLength(1);
}, 180_000);
