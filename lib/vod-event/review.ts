/**
 * `ReviewAudioVideoComplete` → `ReviewAudioVideoCompleteEvent`, a `ReviewAudioVideoTask` (docs/vod-protocol/review.md):
 * VOD's audio/video review finished, with its suggestion `pass`, `review` (a person should look) or `block`.
 * Conventions as in `events.ts`: absent, null and "" optional strings are `undefined`, lists are arrays.
 */
import type { ReviewContent, ReviewSuggestion } from '#contract';
import { REVIEW_SUGGESTIONS } from '#contract';
import { MISSING_OUTPUT, TASK_ABORTED } from './summary.ts';

export const REVIEW_TASK_STATUSES = ['PROCESSING', 'FINISH', 'ABORTED'] as const;

export interface ReviewAudioVideoCompleteEvent {
  kind: 'ReviewAudioVideoComplete';
  /** PULL only: the delivery's receipt (see `events.ts`). */
  eventHandle?: string;
  taskId: string;
  /**
   * PROCESSING | FINISH in the SDK model; ABORTED (a task status of DescribeTaskDetail) is read as the
   * task ended without a verdict, as for procedures.
   */
  status: (typeof REVIEW_TASK_STATUSES)[number];
  /** `Input.FileId`: the media reviewed. */
  fileId: string;
  /** The review template VOD echoes (`Input.Definition`), when it does. */
  definition?: number;
  /** `Input.ReviewContents` as echoed; [] when VOD does not echo them (the event page's example, docs/vod-protocol/review.md §12.2). */
  reviewContents: ReviewContent[];
  /** "" on success (the model's error field). */
  errCodeExt: string;
  /** Not in the SDK model; 0 unless VOD sends one. */
  errCode: number;
  message: string;
  /** What ReviewAudioVideo was given as `SessionContext` / `SessionId`. */
  sessionContext?: string;
  sessionId?: string;
  /** Undefined until the task is done, and when it failed. */
  output?: ReviewOutput;
}

export interface ReviewOutput {
  /** Of the media; undefined when VOD sent none (never read as `pass`). */
  suggestion?: ReviewSuggestion;
  /** When suggestion is review/block: `Porn`, `Terror`, `Polity`, `Ad`, `Illegal`, `Abuse`, `Moan` (any case). */
  label?: string;
  /** `Image`, `OCR`, `ASR`, `Voice`. */
  form?: string;
  /** At most the first 10 suspect segments (the rest are in `segmentSetFileUrl`). */
  segments: ReviewSegment[];
  segmentSetFileUrl?: string;
  segmentSetFileUrlExpireTime?: string;
  /** `CoverReviewResult`, when the cover was reviewed. */
  cover?: CoverReview;
}

export interface ReviewSegment {
  /** Seconds; absent in a cover's segments. */
  startTimeOffset?: number;
  endTimeOffset?: number;
  confidence?: number;
  suggestion?: ReviewSuggestion;
  label?: string;
  subLabel?: string;
  form?: string;
  /** [x1, y1, x2, y2] in pixels, when Form is Image or OCR. */
  areaCoords: number[];
  text?: string;
  keywords: string[];
  /** A suspect frame, kept by VOD until `picUrlExpireTime`. */
  url?: string;
  picUrlExpireTime?: string;
}

export interface CoverReview {
  suggestion?: ReviewSuggestion;
  label?: string;
  form?: string;
  segments: ReviewSegment[];
  segmentSetFileUrl?: string;
  segmentSetFileUrlExpireTime?: string;
}

/** What a review event decides: a suggestion, a failed task (no verdict) or not done yet. */
export type ReviewVerdict =
  | { outcome: ReviewSuggestion; label?: string; form?: string }
  | { outcome: 'failed'; errCodeExt: string; errCode: number; message: string }
  | { outcome: 'pending' };

const strictest = (a: ReviewSuggestion, b: ReviewSuggestion | undefined): ReviewSuggestion =>
  b !== undefined && REVIEW_SUGGESTIONS.indexOf(b) > REVIEW_SUGGESTIONS.indexOf(a) ? b : a;

/**
 * The verdict of a review event. A finished task with an error, or with no suggestion for the media (unless
 * only the cover was reviewed), has none (`failed`); a cover suggestion stricter than the media's wins, so
 * `pass` means that everything reviewed passed.
 */
export function reviewVerdict(event: ReviewAudioVideoCompleteEvent): ReviewVerdict {
  if (event.status === 'PROCESSING') return { outcome: 'pending' };
  const { errCode, message } = event;
  if (event.status === 'ABORTED') return { outcome: 'failed', errCodeExt: TASK_ABORTED, errCode, message };
  if (event.errCodeExt !== '' || errCode !== 0) return { outcome: 'failed', errCodeExt: event.errCodeExt, errCode, message };
  const output = event.output;
  // Only a review of the cover alone may go without the media's suggestion.
  const coverOnly = event.reviewContents.length > 0 && !event.reviewContents.includes('Media');
  const first = output?.suggestion ?? (coverOnly ? output?.cover?.suggestion : undefined);
  if (output === undefined || first === undefined)
    return { outcome: 'failed', errCodeExt: MISSING_OUTPUT, errCode, message: 'The review finished without a suggestion' };
  const outcome = strictest(first, output.cover?.suggestion);
  const byCover = output.suggestion === undefined || outcome !== output.suggestion;
  return {
    outcome,
    label: byCover ? output.cover?.label : output.label,
    form: byCover ? output.cover?.form : output.form,
  };
}
