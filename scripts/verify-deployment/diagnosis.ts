/**
 * What `verify:deployment` tells the operator when a stage fails: one diagnosis per failure it can tell
 * apart (an HTTP status of the backend, a UGC/COS refusal, a status the upload stayed in), naming the
 * settings to look at. The settings and steps are README's (Configuration, Deploy §6–§8).
 */
import { VodUploadError } from '../../client/node.ts';
import type { UploadStatus, UploadView } from '../../client/node.ts';

/** Exit codes of `npm run verify:deployment` (README, Deploy §8). */
export const VERIFY_EXIT = {
  passed: 0,
  /** A bug in the script, or something it did not foresee. */
  internal: 1,
  /** Bad options, or a local prerequisite missing (ffmpeg could not make the clip). */
  usage: 2,
  /** The backend refused the token (401/403) or rate-limited it (429). */
  tokenRefused: 3,
  /** The signature, ApplyUploadUGC, COS or CommitUploadUGC failed, or a server was unreachable. */
  uploadFailed: 4,
  /** The upload ended FAILED, REJECTED, EXPIRED or DELETED. */
  processingFailed: 5,
  /** Still not READY after --timeout: the diagnosis names the status it stayed in. */
  stuck: 6,
  /** What was delivered is wrong: a media URL, the cover, the HLS stream or CORS. */
  deliveryFailed: 7,
} as const;

export interface Failure {
  /** What the stage saw. */
  saw: string;
  /** What it probably means and where to look. */
  hint: string;
  exit: number;
}

/** A failure of the upload client during one of its stages (signature, apply, upload, commit, processing). */
export function clientFailure(stage: string, error: unknown): Failure {
  if (!(error instanceof VodUploadError)) {
    return {
      saw: error instanceof Error ? error.message : String(error),
      hint: 'an unexpected error: please report it with this output',
      exit: VERIFY_EXIT.internal,
    };
  }
  const saw = error.message;
  const status = error.status;
  if (error.kind === 'signature-refused' && status === 401) {
    return {
      saw,
      hint: 'the backend refused the token: it is expired, or not signed with the key, issuer and audience the functions expect (AUTH_* settings; the same on upload-signature and media-status)',
      exit: VERIFY_EXIT.tokenRefused,
    };
  }
  if (error.kind === 'signature-refused' && status === 403) {
    return {
      saw,
      hint: "the token was accepted but this user may not upload (AUTH_* settings, the app user's claims)",
      exit: VERIFY_EXIT.tokenRefused,
    };
  }
  if (error.kind === 'signature-refused' && status === 429) {
    return {
      saw,
      hint: `this user reached RATE_LIMIT_SIGNATURES${error.retryAfterSeconds ? `; try again in ${error.retryAfterSeconds} s` : ''}, or use another user`,
      exit: VERIFY_EXIT.tokenRefused,
    };
  }
  if (error.kind === 'signature-refused')
    return { saw, hint: 'the backend refused the upload id while renewing its signature', exit: VERIFY_EXIT.uploadFailed };
  if (error.kind === 'bad-input' && (status === 404 || status === 405)) {
    const route =
      stage === 'processing'
        ? 'GET /uploads/{uploadId} (the media-status function URL: --status-api)'
        : 'POST /upload-signature (the upload-signature function URL: --api)';
    return { saw, hint: `no such route: the URL is not the function serving ${route}`, exit: VERIFY_EXIT.uploadFailed };
  }
  if (error.kind === 'bad-input' && stage === 'processing') {
    return {
      saw,
      hint: 'media-status does not know this upload: --status-api points at a deployment with another database than --api',
      exit: VERIFY_EXIT.uploadFailed,
    };
  }
  if (error.kind === 'bad-input') {
    return {
      saw,
      hint: 'the backend refused the clip (a short MP4): check UPLOAD_MAX_FILE_SIZE and the allowed types',
      exit: VERIFY_EXIT.uploadFailed,
    };
  }
  if (error.kind === 'network' && status !== undefined && status >= 500) {
    return {
      saw,
      hint: 'the function failed: a 500 on every call usually means a bad or missing setting, which its log names',
      exit: VERIFY_EXIT.uploadFailed,
    };
  }
  if (error.kind === 'network') {
    const where =
      stage === 'signature' || stage === 'processing'
        ? 'the function URL (--api / --status-api)'
        : 'the VOD upload API (--vod-api) or COS (--cos-domain)';
    return { saw, hint: `could not reach ${where}: check the URL, DNS and the network`, exit: VERIFY_EXIT.uploadFailed };
  }
  if (error.kind === 'apply-failed') {
    return {
      saw,
      hint: "VOD refused the upload signature (ApplyUploadUGC): the functions' VOD_SECRET_ID / VOD_SECRET_KEY, VOD_SUB_APP_ID, or the runtime key's CAM permission for VOD uploads",
      exit: VERIFY_EXIT.uploadFailed,
    };
  }
  if (error.kind === 'upload-failed' || error.kind === 'credentials-expired') {
    return {
      saw,
      hint: "the upload to COS failed: the network to COS, or --cos-domain when not on Tencent's COS",
      exit: VERIFY_EXIT.uploadFailed,
    };
  }
  if (error.kind === 'commit-failed')
    return {
      saw,
      hint: 'VOD refused CommitUploadUGC: the parts did not all reach COS, or the session expired',
      exit: VERIFY_EXIT.uploadFailed,
    };
  if (error.kind === 'timeout') return { saw, hint: 'a call timed out', exit: VERIFY_EXIT.uploadFailed };
  return { saw, hint: 'see the message', exit: VERIFY_EXIT.uploadFailed };
}

/** The upload ended in a status other than READY. */
export function endedFailure(view: UploadView): Failure {
  const error = view.error ? `${view.error.code ?? 'error'}: ${view.error.message ?? '(no message)'}` : 'no error recorded';
  const saw = `the upload ended ${view.status} (${error})`;
  switch (view.status) {
    case 'REJECTED':
      return {
        saw,
        hint: 'the media broke a MEDIA_* rule (duration, size, container, codec); the short test clip should pass them',
        exit: VERIFY_EXIT.processingFailed,
      };
    case 'FAILED':
      return {
        saw,
        hint: "VOD's processing failed: the error names the task; check that the PIPELINE_* templates exist in VOD_SUB_APP_ID",
        exit: VERIFY_EXIT.processingFailed,
      };
    case 'EXPIRED':
      return {
        saw,
        hint: 'the backend never heard of the file before the signature expired: the NewFileUpload event is not reaching /vod-events (see a stuck ISSUED)',
        exit: VERIFY_EXIT.processingFailed,
      };
    default:
      return { saw, hint: 'the media was deleted from VOD while the check ran', exit: VERIFY_EXIT.processingFailed };
  }
}

const EVENTS_CHECK =
  'check `npm run vod:configure -- --dry-run` (Mode, the callback URL with its token), the vod-events log (403 = wrong token, 401 = SignKey), and set CALLBACK_DIAGNOSTICS on vod-events to log why callbacks are refused';

/** Still not READY after the timeout: what staying in `status` means. */
export function stuckFailure(status: UploadStatus, seconds: number, view: UploadView | undefined): Failure {
  const saw = `stuck ${status} for ${Math.round(seconds)} s`;
  const exit = VERIFY_EXIT.stuck;
  switch (status) {
    case 'ISSUED':
      return {
        saw,
        hint: `VOD has the file (CommitUploadUGC succeeded) but the NewFileUpload event is not reaching /vod-events: ${EVENTS_CHECK}. With VOD_EVENT_MODE=PULL events arrive only when the cleanup timer runs; its reconcile step also finds the file after UPLOADED_RETRY_AFTER_SECONDS`,
        exit,
      };
    case 'UPLOADED':
      return {
        saw,
        hint: "the backend recorded the file but processing did not start: ProcessMedia failed or was refused (the vod-events log; the runtime key's CAM permission for ProcessMedia; the PIPELINE_* template ids in VOD_SUB_APP_ID). The cleanup's reconcile step retries after UPLOADED_RETRY_AFTER_SECONDS",
        exit,
      };
    case 'PROCESSING':
      return {
        saw: `${saw} (progress ${view?.progress ?? 0} %)`,
        hint: `VOD's ProcedureStateChanged event is lost or slow: ${EVENTS_CHECK}. The cleanup asks VOD itself after PROCESSING_DEADLINE_SECONDS; if VOD is only slow (a busy queue), run again with a longer --timeout`,
        exit,
      };
    default:
      return { saw, hint: 'an unexpected status', exit };
  }
}
