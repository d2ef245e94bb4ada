/**
 * The upload state machine (docs/architecture.md §4). Transitions only move forward, so a late or repeated
 * event never moves an upload back:
 *   ISSUED → UPLOADED → PROCESSING → [IN_REVIEW →] READY | FAILED | REJECTED;  ISSUED → EXPIRED;
 *   UPLOADED | PROCESSING | IN_REVIEW | READY → BLOCKED;  any → DELETED.
 * REJECTED: media outside the limits (known at NewFileUpload, or from a procedure's event) or a file VOD
 * cannot read as video (known when processing fails: `NotMedia`). IN_REVIEW and BLOCKED come from the content
 * review (REVIEW_MODE, lib/review-gate.ts): IN_REVIEW once processing is done and a person must decide,
 * BLOCKED when the review refused the content (also a takedown of a READY video).
 * Events may arrive out of order (ProcedureStateChanged before NewFileUpload), so a state may be skipped.
 */
import { UploadStatus } from '#contract';

export { UPLOAD_STATUSES, UploadStatus } from '#contract';

const RANK: Record<UploadStatus, number> = {
  ISSUED: 0,
  UPLOADED: 1,
  PROCESSING: 2,
  IN_REVIEW: 3,
  READY: 4,
  FAILED: 4,
  REJECTED: 4,
  EXPIRED: 4,
  BLOCKED: 5,
  DELETED: 6,
};

/** Processing is over: no processing event may change the status any more (only review, deletion). */
export function isFinal(status: UploadStatus): boolean {
  return RANK[status] >= RANK.IN_REVIEW;
}

export function canTransition(from: UploadStatus, to: UploadStatus): boolean {
  switch (to) {
    case UploadStatus.EXPIRED:
      return from === UploadStatus.ISSUED;
    case UploadStatus.REJECTED:
    case UploadStatus.FAILED:
    case UploadStatus.IN_REVIEW:
      return RANK[from] < RANK.IN_REVIEW;
    case UploadStatus.BLOCKED:
      return RANK[from] >= RANK.UPLOADED && (RANK[from] <= RANK.IN_REVIEW || from === UploadStatus.READY);
    default:
      return RANK[to] > RANK[from];
  }
}
