/**
 * The content review's rules (REVIEW_MODE, docs/architecture.md §4), pure: what status an upload takes when
 * its processing succeeds, and what a review verdict does to its review and its status.
 * - off: no review; processing success is READY, as it always was.
 * - gate: READY only once processing succeeded AND the review passed (or a person allowed it); a held
 *   review makes a processed upload IN_REVIEW; a block makes it BLOCKED at once, processed or not.
 * - async: READY as soon as processing succeeded; only a block changes the status (a takedown).
 * The review states `allowed` and `blocked` are final: a person or a block decided, no later verdict counts.
 */
import type { ReviewMode, ReviewState } from '#contract';
import { canTransition, UploadStatus } from '#lib/upload-lifecycle';
import type { UploadReview } from '#lib/upload-store';
import type { ReviewVerdict } from '#lib/vod-event';

/** What a review verdict's text may take of VOD's message (it is shown to reviewers, kept in the row). */
const MAX_FAILURE_LENGTH = 300;

/** The review an upload starts with once it has a file (gate and async); none with REVIEW_MODE off. */
export function initialReview(mode: ReviewMode): UploadReview | null {
  return mode === 'off' ? null : { state: 'pending' };
}

/** A review state no verdict may change any more. */
export function isDecided(state: ReviewState): boolean {
  return state === 'allowed' || state === 'blocked';
}

/**
 * The status processing success leads to, given the review as it stands (null: none, REVIEW_MODE off
 * or an upload from before it was turned on). PROCESSING means: processed, waiting for the review.
 */
export function statusAfterProcessing(mode: ReviewMode, review: UploadReview | null): GateStatus {
  if (review === null || mode === 'off') return UploadStatus.READY;
  if (review.state === 'blocked') return UploadStatus.BLOCKED;
  if (mode === 'async') return UploadStatus.READY;
  switch (review.state) {
    case 'passed':
    case 'allowed':
      return UploadStatus.READY;
    case 'held':
      return UploadStatus.IN_REVIEW;
    case 'pending':
      return UploadStatus.PROCESSING;
  }
}

/** Where the gate can leave an upload: published, waiting for a person, refused, or processed and waiting. */
export type GateStatus = Extract<UploadStatus, 'READY' | 'IN_REVIEW' | 'BLOCKED' | 'PROCESSING'>;

/** What a verdict does to the review: the new review, or why it changes nothing. */
export type ReviewChange =
  | { changed: true; review: UploadReview }
  /** `review-pending`: the task is still running; `stale`: a person or a block decided already. */
  | { changed: false; reason: 'review-pending' | 'stale' | 'other-review-task' };

/** The review after VOD's verdict for task `taskId` (the task recorded, if any, must be that one). */
export function reviewAfterVerdict(review: UploadReview | null, verdict: ReviewVerdict, taskId: string): ReviewChange {
  if (review && isDecided(review.state)) return { changed: false, reason: 'stale' };
  if (review?.taskId && review.taskId !== taskId) return { changed: false, reason: 'other-review-task' };
  if (verdict.outcome === 'pending') return { changed: false, reason: 'review-pending' };
  // What an earlier verdict or a failure recorded goes: this verdict replaces it whole.
  const base: UploadReview = {
    ...(review ?? {}),
    taskId,
    state: 'pending',
    suggestion: undefined,
    label: undefined,
    form: undefined,
    failure: undefined,
  };
  if (verdict.outcome === 'failed') {
    const why = [verdict.errCodeExt, verdict.message].filter(Boolean).join(': ') || 'no verdict';
    // Cut by code points: half a surrogate pair is not storable in jsonb.
    const failure = Array.from(why).slice(0, MAX_FAILURE_LENGTH).join('');
    return { changed: true, review: { ...base, state: 'held', failure } };
  }
  const state = verdict.outcome === 'pass' ? 'passed' : verdict.outcome === 'review' ? 'held' : 'blocked';
  return {
    changed: true,
    review: { ...base, state, suggestion: verdict.outcome, label: verdict.label, form: verdict.form },
  };
}

/**
 * The status an upload moves to once its review is `review` (after a verdict or a person's decision),
 * or undefined when it stays. `processed`: processing already succeeded (processed_at is set).
 */
export function statusAfterReview(
  mode: ReviewMode,
  status: UploadStatus,
  processed: boolean,
  review: UploadReview,
): GateStatus | undefined {
  if (mode === 'off') return undefined;
  if (review.state === 'blocked') return canTransition(status, UploadStatus.BLOCKED) ? UploadStatus.BLOCKED : undefined;
  // Async publishes on processing alone; in the gate only a processed upload waits on its review.
  if (mode === 'async' || !processed) return undefined;
  if (status !== UploadStatus.PROCESSING && status !== UploadStatus.IN_REVIEW) return undefined;
  const target = statusAfterProcessing(mode, review);
  return target !== status && canTransition(status, target) ? target : undefined;
}
