/**
 * A pushed event is believed only as VOD's own API reports the same media or task (CALLBACK_VERIFY_WITH_VOD):
 * a leaked callback token cannot fake a result. Bounded by the handler's deadline.
 */
import type { Config } from '#lib/config';
import { ForbiddenError, ServiceUnavailableError } from '#lib/errors';
import type { Logger } from '#lib/log';
import { isRetryableVodError, isUnknownTaskError, type VodApi, vodErrorCode } from '#lib/vod-api';
import {
  newFileUploadFromMediaInfo,
  procedureStateChangedFromTaskDetail,
  reviewCompleteFromTaskDetail,
  type VodEvent,
} from '#lib/vod-event';

export interface ConfirmDeps {
  config: Config;
  /** VOD in the configured sub-app, retried until the deadline. */
  vod: VodApi;
  log: Logger;
  /** Epoch ms by which the caller must answer. */
  deadline?: number;
}

/**
 * Replaces a pushed event by the VOD API's own view of the same media or task. An event that the API
 * does not confirm is refused (403); an API that cannot be reached is a 503 and nothing is applied (the reconciler repairs it).
 */
export async function confirmWithVod(deps: ConfirmDeps, event: VodEvent): Promise<VodEvent> {
  const { config, vod } = deps;
  try {
    switch (event.kind) {
      case 'NewFileUpload': {
        const media = await beforeDeadline(deps, () => vod.mediaInfo(event.fileId));
        if (!media?.BasicInfo) throw new ForbiddenError('The event names a file that VOD does not have');
        // A procedure task id is believed only when this backend signs with a procedure and VOD knows the
        // task for this very file; a made-up one would stop the upload from ever being processed.
        let procedureTaskId: string | undefined;
        const claimedTask = event.procedureTaskId;
        if (claimedTask && config.upload.procedure) {
          const task = await beforeDeadline(deps, () => vod.taskDetail(claimedTask));
          if (task.ProcedureTask?.FileId !== event.fileId)
            throw new ForbiddenError('The event names a task that VOD does not have for this file');
          procedureTaskId = claimedTask;
        }
        return newFileUploadFromMediaInfo(media, { procedureTaskId });
      }
      case 'ProcedureStateChanged': {
        const task = await beforeDeadline(deps, () => vod.taskDetail(event.taskId));
        const confirmed = procedureStateChangedFromTaskDetail(task);
        if (!confirmed) throw new ForbiddenError('The event names a task that VOD does not have');
        return confirmed;
      }
      case 'ReviewAudioVideoComplete': {
        // The verdict as VOD's own task reports it: a pushed `pass` is believed only if VOD's task says so.
        const task = await beforeDeadline(deps, () => vod.taskDetail(event.taskId));
        const confirmed = reviewCompleteFromTaskDetail(task);
        if (!confirmed) throw new ForbiddenError('The event names a review task that VOD does not have');
        return confirmed;
      }
      case 'FileDeleted': {
        const gone = new Set<string>();
        const batches = vod.mediaInfos(event.fileIds, ['basicInfo']);
        for (;;) {
          const batch = await beforeDeadline(deps, () => batches.next());
          if (batch.done) break;
          for (const id of batch.value.missing) gone.add(id);
        }
        // Only deletions VOD confirms count; a file that still exists was not deleted.
        const deletions = event.deletions.filter((d) => !d.entireMedia || gone.has(d.fileId));
        return { ...event, deletions, fileIds: deletions.map((d) => d.fileId) };
      }
      default:
        return event;
    }
  } catch (error) {
    if (error instanceof ForbiddenError || error instanceof ServiceUnavailableError) throw error;
    const code = vodErrorCode(error);
    if (isUnknownTaskError(error) || code === 'InvalidParameterValue.FileId') {
      throw new ForbiddenError('The event does not match anything in VOD');
    }
    if (isRetryableVodError(error)) {
      deps.log.warn('VOD API unavailable while confirming an event', { code, error });
      throw new ServiceUnavailableError('VOD could not be reached to confirm the event; try again later');
    }
    throw error;
  }
}

/**
 * `call`, unless the handler's deadline comes first: then a 503 and nothing is applied; the reconciler
 * (or the PULL pump's redelivery) finds the state. Once time is up VOD is not asked again.
 */
async function beforeDeadline<T>(deps: ConfirmDeps, call: () => Promise<T>): Promise<T> {
  const { deadline } = deps;
  if (deadline === undefined) return call();
  const late = () => new ServiceUnavailableError('VOD did not confirm the event in time; try again later');
  if (Date.now() >= deadline) throw late();
  let timer: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), deadline - Date.now());
  });
  try {
    return await Promise.race([call(), outOfTime]);
  } finally {
    clearTimeout(timer);
  }
}
