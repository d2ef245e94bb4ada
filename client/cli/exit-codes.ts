/** The CLI's exit codes. The client entries re-export them for programs that run the CLI and read its status. */
import { isVodUploadError } from '../errors.ts';

/** Exit codes of the `vod-upload` CLI, by failure kind. */
export const EXIT_CODES = {
  ok: 0,
  /** Usage error, bad input, missing or unreadable file. */
  badInput: 2,
  /** Token refused (401/403), rate-limited (429), or the upload id refused on re-signing (404/409). */
  authRefused: 3,
  /** Apply, COS upload, commit, credentials or network failure. */
  uploadFailed: 4,
  /** Processing ended FAILED / REJECTED / EXPIRED / BLOCKED / DELETED. */
  processingFailed: 5,
  /** `--wait` timed out. */
  timeout: 6,
  /** Interrupted (Ctrl-C). */
  cancelled: 130,
  /** A bug: anything that is not a VodUploadError. */
  internal: 1,
} as const;

export function exitCodeFor(error: unknown): number {
  if (!isVodUploadError(error)) return EXIT_CODES.internal;
  switch (error.kind) {
    case 'bad-input':
      return EXIT_CODES.badInput;
    case 'signature-refused':
      return EXIT_CODES.authRefused;
    case 'apply-failed':
    case 'credentials-expired':
    case 'upload-failed':
    case 'commit-failed':
    case 'network':
      return EXIT_CODES.uploadFailed;
    case 'processing-failed':
      return EXIT_CODES.processingFailed;
    case 'timeout':
      return EXIT_CODES.timeout;
    case 'cancelled':
      return EXIT_CODES.cancelled;
  }
}
