/**
 * Starting the content review (ReviewAudioVideo) of an upload's file, after the commit that recorded the
 * file (a VOD event, the reconciler). Its SessionId makes a repeat harmless: one review task per file and
 * template. If VOD stays unreachable the review stays `pending` and the reconciler starts it again when
 * `review_check_after` comes (docs/vod-protocol/review.md).
 */
import { createHash } from 'node:crypto';
import type { Config } from '#lib/config';
import type { Database } from '#lib/db';
import type { Logger } from '#lib/log';
import { encodeUploadContext } from '#lib/upload-context';
import { holdPendingReview } from '#lib/review-events';
import { type StatusCause, updatePendingReview } from '#lib/upload-store';
import { isRepeatedSessionIdError, isRetryableVodError, vodApi, vodErrorCode, type VodCalls } from '#lib/vod-api';

export interface ReviewDeps {
  config: Config;
  db: Database;
  vod: VodCalls;
  log: Logger;
  /** Epoch ms by which the caller must answer; VOD retries stop before it. */
  deadline?: number;
}

/** ReviewAudioVideo takes a SessionId of at most 50 characters. */
const MAX_SESSION_ID_LENGTH = 50;

/** One review per file and template: VOD refuses the same SessionId again within its window. */
export function reviewSessionId(fileId: string, definition: number | undefined): string {
  const plain = `review-${fileId}-${definition ?? 'preset'}`;
  if (plain.length <= MAX_SESSION_ID_LENGTH) return plain;
  return `rh-${createHash('sha256')
    .update(plain)
    .digest('hex')
    .slice(0, MAX_SESSION_ID_LENGTH - 3)}`;
}

export type ReviewStart =
  | { started: true; taskId: string }
  /** `session-exists`: an earlier attempt started the task (found: its id, when VOD lists it). */
  | { started: false; reason: 'session-exists'; taskId?: string }
  | { started: false; reason: 'vod-error' | 'refused' };

/**
 * Calls ReviewAudioVideo for the file and records the task in the upload's review. Never throws: an
 * unstarted review stays `pending` for the reconciler. A refused request (a template VOD does not have)
 * holds the upload for a person: retrying cannot help, and nothing may be published unreviewed.
 */
export async function startReview(deps: ReviewDeps, target: { uploadId: string; fileId: string }): Promise<ReviewStart> {
  const { config, log } = deps;
  const api = vodApi(deps.vod, { subAppId: config.vod.subAppId, deadline: deps.deadline });
  const sessionId = reviewSessionId(target.fileId, config.review.definition);
  // The reconciler asks VOD about a started review if no verdict has come by then.
  const checkAfter = config.cleanup.uploadedRetryAfterSeconds;
  try {
    const taskId = await api.reviewAudioVideo(target.fileId, {
      sessionId,
      sessionContext: encodeUploadContext({ uploadId: target.uploadId }),
      definition: config.review.definition,
      contents: config.review.contents,
    });
    await updatePendingReview(deps.db, target.uploadId, { taskId }, checkAfter);
    log.info('review started', { uploadId: target.uploadId, fileId: target.fileId, taskId, sessionId });
    return { started: true, taskId };
  } catch (error) {
    const code = vodErrorCode(error);
    if (isRepeatedSessionIdError(error)) {
      const taskId = await api.taskBySessionId(target.fileId, sessionId).catch(() => undefined);
      if (taskId) await updatePendingReview(deps.db, target.uploadId, { taskId }, checkAfter);
      log.info('review already started for this file', { uploadId: target.uploadId, fileId: target.fileId, taskId });
      return { started: false, reason: 'session-exists', taskId };
    }
    if (!isRetryableVodError(error)) {
      const cause: StatusCause = { source: 'reconcile', detail: 'ReviewAudioVideo refused', fileId: target.fileId };
      await holdPendingReview(deps.db, config, target.uploadId, `VOD refused ReviewAudioVideo: ${code ?? 'error'}`, cause);
      log.error('ReviewAudioVideo refused; upload held for a person', { uploadId: target.uploadId, code, error });
      return { started: false, reason: 'refused' };
    }
    log.warn('review not started; left for the reconciler', { uploadId: target.uploadId, fileId: target.fileId, code, error });
    return { started: false, reason: 'vod-error' };
  }
}
