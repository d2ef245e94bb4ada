/**
 * The payload of each event type this backend acts on (rules in `fields.ts`): `FileUploadEvent`
 * (NewFileUpload, §4.2), `ProcedureStateChangeEvent` (ProcedureStateChanged, §4.3) and
 * `FileDeleteEvent` (FileDeleted, §4.4). Each reader takes the payload and where it sits in the input,
 * so that an error names the offending field.
 */
import * as z from 'zod';
import { MEDIA_DELETE_PART_TYPES } from '#contract';
import { VodEventError, type EventPath } from '../error.ts';
import {
  PROCEDURE_STATUSES,
  type FileDeletedEvent,
  type FileDeletion,
  type NewFileUploadEvent,
  type ProcedureStateChangedEvent,
} from '../events.ts';
import {
  id,
  isObject,
  list,
  notifyMode,
  numberOrZero,
  optionalId,
  optionalNumber,
  optionalText,
  optionalUrl,
  parseAt,
  storableText,
  text,
} from './fields.ts';
import { mediaBasicInfo, metaData } from './media.ts';
import { parseResult } from './subtasks.ts';

/** What a payload says; the envelope adds `kind` and `eventHandle`. */
type Payload<E> = Omit<E, 'kind' | 'eventHandle'>;

const fileUploadTask = z
  .object({
    FileId: id,
    MediaBasicInfo: mediaBasicInfo,
    ProcedureTaskId: optionalId,
    ReviewAudioVideoTaskId: optionalId,
    MetaData: metaData,
  })
  .transform(
    (t): Payload<NewFileUploadEvent> => ({
      fileId: t.FileId,
      sourceContext: t.MediaBasicInfo.sourceContext,
      procedureTaskId: t.ProcedureTaskId,
      reviewAudioVideoTaskId: t.ReviewAudioVideoTaskId,
      media: t.MediaBasicInfo.media,
      metaData: t.MetaData,
    }),
  );

const procedureTask = z.object({
  TaskId: id,
  Status: z.enum(PROCEDURE_STATUSES, { error: `must be one of ${PROCEDURE_STATUSES.join(', ')}` }),
  ErrCode: numberOrZero,
  Message: text,
  FileId: id,
  FileName: optionalText,
  FileUrl: optionalUrl,
  MetaData: metaData,
  MediaProcessResultSet: list(
    z.looseObject({ Type: z.string({ error: 'is required and must be a string' }).transform(storableText) }),
  ),
  TasksPriority: optionalNumber.catch(undefined),
  TasksNotifyMode: notifyMode,
  SessionContext: optionalText,
  SessionId: optionalText,
});

const fileDeleteTask = z.object({
  FileIdSet: list(id),
  FileDeleteResultInfo: list(
    z.object({
      FileId: id,
      DeleteParts: list(z.object({ Type: z.string({ error: 'is required and must be a string' }), Definition: numberOrZero })),
    }),
  ),
});

export function readFileUpload(payload: unknown, path: EventPath): Payload<NewFileUploadEvent> {
  return parseAt(fileUploadTask, payload, path);
}

export function readProcedureState(payload: unknown, path: EventPath): Payload<ProcedureStateChangedEvent> {
  const t = parseAt(procedureTask, payload, path);
  const resultsPath = [...path, 'MediaProcessResultSet'];
  return {
    taskId: t.TaskId,
    status: t.Status,
    fileId: t.FileId,
    fileName: t.FileName,
    fileUrl: t.FileUrl,
    errCode: t.ErrCode,
    message: t.Message,
    metaData: t.MetaData,
    sessionContext: t.SessionContext,
    sessionId: t.SessionId,
    tasksPriority: t.TasksPriority,
    tasksNotifyMode: t.TasksNotifyMode,
    results: t.MediaProcessResultSet.map((item, i) => parseResult(item, [...resultsPath, i])),
  };
}

/** Whether a deletion took the media itself: no parts listed (DeleteMedia's default) or every part type at once. */
function deletesEntireMedia(parts: Array<{ type: string }>): boolean {
  const types = new Set(parts.map((p) => p.type));
  return parts.length === 0 || MEDIA_DELETE_PART_TYPES.every((t) => types.has(t));
}

/**
 * The most files one FileDeleted event may name. DeleteMedia deletes one FileId per call (media-api.md
 * §5.4) and Tencent's examples name one, so VOD's own events are small; confirming one costs a
 * DescribeMediaInfos call per 20 files, and 100 (five calls) keeps a forged event from turning one
 * callback into thousands of VOD calls.
 */
export const MAX_FILES_PER_DELETION = 100;

export function readFileDeletion(payload: unknown, path: EventPath): Payload<FileDeletedEvent> {
  // Counted before anything is read: a forged list of 40 000 ids is refused at once.
  for (const field of ['FileIdSet', 'FileDeleteResultInfo']) {
    const value = isObject(payload) ? payload[field] : undefined;
    if (Array.isArray(value) && value.length > MAX_FILES_PER_DELETION) {
      throw new VodEventError(`names ${value.length} files; one event may name at most ${MAX_FILES_PER_DELETION}`, [
        ...path,
        field,
      ]);
    }
  }
  const t = parseAt(fileDeleteTask, payload, path);
  const deletions = new Map<string, FileDeletion>();
  for (const info of t.FileDeleteResultInfo) {
    const parts = info.DeleteParts.map((p) => ({ type: p.Type, definition: p.Definition }));
    deletions.set(info.FileId, { fileId: info.FileId, entireMedia: deletesEntireMedia(parts), parts });
  }
  // A file named only in FileIdSet (the documented minimal form) was deleted as a whole.
  for (const fileId of t.FileIdSet) {
    if (!deletions.has(fileId)) deletions.set(fileId, { fileId, entireMedia: true, parts: [] });
  }
  if (deletions.size === 0) throw new VodEventError('must name at least one file', [...path, 'FileIdSet']);
  if (deletions.size > MAX_FILES_PER_DELETION) {
    throw new VodEventError(`names ${deletions.size} files; one event may name at most ${MAX_FILES_PER_DELETION}`, [
      ...path,
      'FileIdSet',
    ]);
  }
  const fileIds = [...new Set([...t.FileIdSet, ...deletions.keys()])];
  return { fileIds, deletions: fileIds.map((fileId) => deletions.get(fileId)!) };
}
