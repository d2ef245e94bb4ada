/** The content review's pure rules (lib/review-gate.ts): every mode × review state × what happened. */
import { REVIEW_MODES, REVIEW_STATES, type ReviewMode, type ReviewState, UPLOAD_STATUSES, type UploadStatus } from '#contract';
import { initialReview, reviewAfterVerdict, statusAfterProcessing, statusAfterReview, type GateStatus } from '#lib/review-gate';
import type { UploadReview } from '#lib/upload-store';
import { historyView } from '#lib/upload-view';
import type { ReviewVerdict } from '#lib/vod-event';

const review = (state: ReviewState, extra: Partial<UploadReview> = {}): UploadReview => ({ state, ...extra });

test('the review begins pending in gate and async, not at all with REVIEW_MODE off', () => {
  expect(initialReview('off')).toBeNull();
  expect(initialReview('gate')).toEqual({ state: 'pending' });
  expect(initialReview('async')).toEqual({ state: 'pending' });
});

describe('status after processing succeeded', () => {
  const expected: Record<ReviewMode, Record<ReviewState | 'none', GateStatus>> = {
    off: { none: 'READY', pending: 'READY', passed: 'READY', held: 'READY', allowed: 'READY', blocked: 'READY' },
    gate: { none: 'READY', pending: 'PROCESSING', passed: 'READY', held: 'IN_REVIEW', allowed: 'READY', blocked: 'BLOCKED' },
    async: { none: 'READY', pending: 'READY', passed: 'READY', held: 'READY', allowed: 'READY', blocked: 'BLOCKED' },
  };
  for (const mode of REVIEW_MODES) {
    for (const state of [...REVIEW_STATES, 'none'] as const) {
      test(`${mode}, review ${state} → ${expected[mode][state]}`, () => {
        expect(statusAfterProcessing(mode, state === 'none' ? null : review(state))).toBe(expected[mode][state]);
      });
    }
  }
});

describe('a verdict and the review', () => {
  const verdicts: Array<[ReviewVerdict, Partial<UploadReview>]> = [
    [{ outcome: 'pass' }, { state: 'passed', suggestion: 'pass' }],
    [
      { outcome: 'review', label: 'Terror', form: 'Image' },
      { state: 'held', suggestion: 'review', label: 'Terror', form: 'Image' },
    ],
    [
      { outcome: 'block', label: 'Porn', form: 'OCR' },
      { state: 'blocked', suggestion: 'block', label: 'Porn', form: 'OCR' },
    ],
    [
      { outcome: 'failed', errCodeExt: 'InternalError', errCode: 70000, message: 'review failed' },
      { state: 'held', failure: 'InternalError: review failed' },
    ],
  ];

  test.each(verdicts)('%j on a pending review (or none) records the verdict and the task', (verdict, result) => {
    for (const before of [null, review('pending'), review('pending', { taskId: 't-1' })]) {
      const change = reviewAfterVerdict(before, verdict, 't-1');
      expect(change).toEqual({ changed: true, review: expect.objectContaining({ ...result, taskId: 't-1' }) });
    }
  });

  test('a later verdict of the same task replaces an earlier one whole; passed and held are not final', () => {
    const held = reviewAfterVerdict(review('pending'), verdicts[1]![0], 't-1');
    if (!held.changed) throw new Error('expected a change');
    const passed = reviewAfterVerdict(held.review, { outcome: 'pass' }, 't-1');
    expect(passed).toEqual({ changed: true, review: expect.objectContaining({ state: 'passed', suggestion: 'pass' }) });
    if (!passed.changed) throw new Error('expected a change');
    expect(JSON.parse(JSON.stringify(passed.review))).toEqual({ state: 'passed', suggestion: 'pass', taskId: 't-1' });
    const failed = reviewAfterVerdict(review('passed', { taskId: 't-1' }), verdicts[3]![0], 't-1');
    expect(failed).toMatchObject({ changed: true, review: { state: 'held', failure: expect.any(String) } });
  });

  test('allowed and blocked are final: any verdict is stale', () => {
    for (const state of ['allowed', 'blocked'] as const) {
      for (const [verdict] of verdicts) {
        expect(reviewAfterVerdict(review(state, { taskId: 't-1', decidedBy: 'ops' }), verdict, 't-1')).toEqual({
          changed: false,
          reason: 'stale',
        });
      }
    }
  });

  test("a verdict of another review task than the recorded one changes nothing; a running task's neither", () => {
    expect(reviewAfterVerdict(review('pending', { taskId: 't-1' }), { outcome: 'block' }, 't-2')).toEqual({
      changed: false,
      reason: 'other-review-task',
    });
    expect(reviewAfterVerdict(review('pending'), { outcome: 'pending' }, 't-1')).toEqual({
      changed: false,
      reason: 'review-pending',
    });
  });

  test("VOD's failure text is kept short", () => {
    const change = reviewAfterVerdict(null, { outcome: 'failed', errCodeExt: 'X', errCode: 1, message: 'm'.repeat(5000) }, 't');
    expect(change.changed && change.review.failure!.length).toBe(300);
    // Never half a surrogate pair (jsonb refuses one).
    const emoji = reviewAfterVerdict(null, { outcome: 'failed', errCodeExt: 'X', errCode: 1, message: '😀'.repeat(400) }, 't');
    expect(emoji.changed && [...emoji.review.failure!].length).toBe(300);
    expect(emoji.changed && /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(emoji.review.failure!)).toBe(false);
  });
});

describe('status after the review changed', () => {
  const open: UploadStatus[] = ['UPLOADED', 'PROCESSING', 'IN_REVIEW', 'READY'];

  test('a block takes UPLOADED, PROCESSING, IN_REVIEW and READY to BLOCKED in gate and async, processed or not', () => {
    for (const mode of ['gate', 'async'] as const) {
      for (const status of UPLOAD_STATUSES) {
        for (const processed of [false, true]) {
          expect(statusAfterReview(mode, status, processed, review('blocked'))).toBe(
            open.includes(status) ? 'BLOCKED' : undefined,
          );
        }
      }
    }
  });

  test('gate: a processed upload waiting in PROCESSING opens (passed, allowed), waits for a person (held) or stays', () => {
    expect(statusAfterReview('gate', 'PROCESSING', true, review('passed'))).toBe('READY');
    expect(statusAfterReview('gate', 'PROCESSING', true, review('allowed'))).toBe('READY');
    expect(statusAfterReview('gate', 'PROCESSING', true, review('held'))).toBe('IN_REVIEW');
    expect(statusAfterReview('gate', 'PROCESSING', true, review('pending'))).toBeUndefined();
    expect(statusAfterReview('gate', 'IN_REVIEW', true, review('allowed'))).toBe('READY');
    expect(statusAfterReview('gate', 'IN_REVIEW', true, review('held'))).toBeUndefined();
  });

  test('gate: before processing finished, only a block moves the status; processing success opens the gate later', () => {
    for (const status of ['ISSUED', 'UPLOADED', 'PROCESSING'] as const) {
      for (const state of ['pending', 'passed', 'held', 'allowed'] as const) {
        expect(statusAfterReview('gate', status, false, review(state))).toBeUndefined();
      }
    }
  });

  test('async: pass and held are only recorded; a READY upload stays READY', () => {
    for (const status of UPLOAD_STATUSES) {
      for (const state of ['pending', 'passed', 'held', 'allowed'] as const) {
        expect(statusAfterReview('async', status, true, review(state))).toBeUndefined();
      }
    }
  });

  test('REVIEW_MODE off: the review never moves a status', () => {
    for (const status of UPLOAD_STATUSES) {
      for (const state of REVIEW_STATES) expect(statusAfterReview('off', status, true, review(state))).toBeUndefined();
    }
  });

  test('final failures and BLOCKED never move', () => {
    for (const status of ['FAILED', 'REJECTED', 'EXPIRED', 'DELETED', 'BLOCKED'] as const) {
      for (const state of REVIEW_STATES) {
        for (const mode of REVIEW_MODES) expect(statusAfterReview(mode, status, true, review(state))).toBeUndefined();
      }
    }
  });
});

test("history reads the review's steps in a few words and never names the reviewer", () => {
  const at = new Date('2026-12-01T10:00:00Z');
  const reviewer = (detail: string, reason?: string) => ({ source: 'reviewer' as const, detail, actor: 'ops-7', reason });
  const history = historyView([
    { at, to: 'IN_REVIEW', cause: { source: 'vod-event', detail: 'ReviewAudioVideoComplete' } },
    { at, to: 'READY', cause: reviewer('allow') },
    { at, to: 'BLOCKED', cause: reviewer('block', 'copyrighted music') },
  ]);
  expect(history.map((h) => h.reason)).toEqual([
    'Held for a person to review',
    'Allowed by a reviewer',
    'Blocked by a reviewer: copyrighted music',
  ]);
  expect(JSON.stringify(history)).not.toContain('ops-7');
  expect(historyView([{ at, to: 'BLOCKED', cause: reviewer('block') }])[0]!.reason).toBe('Blocked by a reviewer');
  expect(historyView([{ at, to: 'READY', cause: { source: 'vod-event', detail: 'ProcedureStateChanged' } }])[0]!.reason).toBe(
    'Processing finished',
  );
});
