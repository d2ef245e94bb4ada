/**
 * The upload state machine (docs/architecture.md §4). Transitions only move forward, so a late or repeated
 * event never moves an upload back:
 *   ISSUED → UPLOADED → PROCESSING → READY | FAILED | REJECTED;  ISSUED → EXPIRED;  any → DELETED.
 * REJECTED: media outside the limits (known at NewFileUpload, or from a procedure's event) or a file VOD
 * cannot read as video (known when processing fails: `NotMedia`).
 * Events may arrive out of order (ProcedureStateChanged before NewFileUpload), so a state may be skipped.
 */
import { UploadStatus } from '#contract';

export { UPLOAD_STATUSES, UploadStatus } from '#contract';

const RANK: Record<UploadStatus, number> = {
  ISSUED: 0,
  UPLOADED: 1,
  PROCESSING: 2,
  READY: 3,
  FAILED: 3,
  REJECTED: 3,
  EXPIRED: 3,
  DELETED: 4,
};

/** Outcomes that no processing event may change (only deletion follows them). */
export function isFinal(status: UploadStatus): boolean {
  return RANK[status] >= 3;
}

export function canTransition(from: UploadStatus, to: UploadStatus): boolean {
  if (to === UploadStatus.EXPIRED) return from === UploadStatus.ISSUED;
  if (to === UploadStatus.REJECTED)
    return from === UploadStatus.ISSUED || from === UploadStatus.UPLOADED || from === UploadStatus.PROCESSING;
  return RANK[to] > RANK[from];
}
