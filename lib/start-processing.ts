/**
 * Starting processing (ProcessMedia) for an UPLOADED file, after the commit that made it UPLOADED (a VOD
 * event, the reconciler, the doctor's --fix). Its SessionId makes a repeat harmless; if VOD stays
 * unreachable the upload stays UPLOADED for the reconciler.
 */
import type { Config } from '#lib/config';
import type { Database } from '#lib/db';
import type { Logger } from '#lib/log';
import { processMediaRequest } from '#lib/processing-plan';
import { UploadStatus } from '#lib/upload-lifecycle';
import { updateUpload } from '#lib/upload-store';
import { isRepeatedSessionIdError, isRetryableVodError, vodApi, vodErrorCode, type VodCalls } from '#lib/vod-api';

export interface ProcessingDeps {
  config: Config;
  db: Database;
  vod: VodCalls;
  log: Logger;
  /** Epoch ms by which the caller must answer; VOD retries stop before it. */
  deadline?: number;
}

export type ProcessingStart =
  | { started: true; taskId: string }
  /** `session-exists`: an earlier attempt started the task (VOD refused the repeated SessionId). */
  | { started: false; reason: 'session-exists' | 'vod-error' | 'refused' };

/**
 * Calls ProcessMedia for an UPLOADED file and records the task. Never throws: the event is already
 * durably recorded, and an upload left UPLOADED is picked up again by the reconciler.
 */
export async function startProcessing(
  deps: ProcessingDeps,
  target: { uploadId: string; fileId: string },
): Promise<ProcessingStart> {
  const { config, log } = deps;
  const request = processMediaRequest(config.pipeline, target);
  try {
    const { TaskId } = await vodApi(deps.vod, { subAppId: config.vod.subAppId, deadline: deps.deadline }).processMedia(request);
    if (!TaskId) throw new Error('ProcessMedia returned no TaskId');
    await updateUpload(deps.db, target.uploadId, { status: UploadStatus.PROCESSING, taskId: TaskId }, UploadStatus.UPLOADED, {
      source: 'processing-start',
      detail: 'ProcessMedia',
      fileId: target.fileId,
      taskId: TaskId,
    });
    log.info('processing started', {
      uploadId: target.uploadId,
      fileId: target.fileId,
      taskId: TaskId,
      sessionId: request.SessionId,
    });
    return { started: true, taskId: TaskId };
  } catch (error) {
    const code = vodErrorCode(error);
    if (isRepeatedSessionIdError(error)) {
      log.info('processing already started for this file and pipeline', { uploadId: target.uploadId, fileId: target.fileId });
      return { started: false, reason: 'session-exists' };
    }
    if (!isRetryableVodError(error)) {
      // VOD refused the request itself (a bad template, a file it cannot process): retrying cannot help.
      await updateUpload(
        deps.db,
        target.uploadId,
        {
          status: UploadStatus.FAILED,
          error: { code: 'ProcessingNotStarted', message: `VOD refused ProcessMedia: ${code ?? 'error'}` },
        },
        UploadStatus.UPLOADED,
        { source: 'processing-start', detail: 'ProcessMedia refused', fileId: target.fileId },
      );
      log.error('ProcessMedia refused; upload FAILED', { uploadId: target.uploadId, fileId: target.fileId, code, error });
      return { started: false, reason: 'refused' };
    }
    log.warn('processing not started; left for the reconciler', {
      uploadId: target.uploadId,
      fileId: target.fileId,
      code,
      error,
    });
    return { started: false, reason: 'vod-error' };
  }
}
