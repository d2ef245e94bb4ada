/**
 * How the pages show an upload's status with its content review (docs/content-review.md): a badge per
 * status (its colour from `data-status`, web/index.html), and a few words when the review is why nothing
 * plays (IN_REVIEW, BLOCKED) or when a READY video is still looked at (REVIEW_MODE async, review held).
 * Text from the backend goes in with `textContent` only.
 */
import type { ReviewView, UploadStatus } from '../contract/upload.ts';

/** What the badge needs of an upload (a status view or a list item). */
export interface StatusOf {
  status: UploadStatus;
  review?: ReviewView;
}

/** The words under the badge, or undefined when the status says it all. */
export function reviewNote(upload: StatusOf): string | undefined {
  if (upload.status === 'IN_REVIEW') return 'waiting for review';
  if (upload.status === 'BLOCKED')
    return upload.review?.label ? `blocked by review: ${upload.review.label}` : 'blocked by review';
  if (upload.status === 'READY' && upload.review?.state === 'held') return 'under review';
  return undefined;
}

/** Sets a badge element to the upload's status (text and colour). */
export function setBadge(badge: HTMLElement, status: string): void {
  badge.textContent = status;
  badge.dataset.status = status;
}

/** `<span class="badge">STATUS</span> <span class="review-note">words</span>`: the status cell's content. */
export function statusBadge(upload: StatusOf, badgeClass = 'badge'): HTMLElement[] {
  const badge = document.createElement('span');
  badge.className = badgeClass;
  setBadge(badge, upload.status);
  const note = reviewNote(upload);
  if (note === undefined) return [badge];
  const words = document.createElement('span');
  words.className = 'review-note';
  words.textContent = note;
  return [badge, words];
}
