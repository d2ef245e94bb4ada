/**
 * Events built from VOD API answers, for when the backend asks VOD about a file or a task instead of
 * trusting a pushed event (or because the event never came). The answers carry the events' own
 * structures — DescribeMediaInfos' `BasicInfo` and `MetaData` are FileUploadEvent's `MediaBasicInfo`
 * and `MetaData`, DescribeTaskDetail's `ProcedureTask` is a ProcedureStateChangeEvent — so they are read
 * by the same payload readers, and an error names the field where the event would carry it.
 */
import type { vod } from 'tencentcloud-sdk-nodejs-vod';
import type { NewFileUploadEvent, ProcedureStateChangedEvent } from '../events.ts';
import { guardDepth } from './fields.ts';
import { readFileUpload, readProcedureState } from './payloads.ts';

type VodClient = InstanceType<typeof vod.v20180717.Client>;
/** One entry of a DescribeMediaInfos (or SearchMedia) `MediaInfoSet`. */
type MediaInfo = NonNullable<Awaited<ReturnType<VodClient['DescribeMediaInfos']>>['MediaInfoSet']>[number];
type TaskDetail = Awaited<ReturnType<VodClient['DescribeTaskDetail']>>;

/**
 * The NewFileUpload event of a media item. The answer does not say which task a procedure started for
 * the file: `procedureTaskId` is that task, once the caller has made sure of it.
 */
export function newFileUploadFromMediaInfo(media: MediaInfo, options: { procedureTaskId?: string } = {}): NewFileUploadEvent {
  const payload = {
    FileId: media.FileId,
    MediaBasicInfo: media.BasicInfo,
    MetaData: media.MetaData,
    ProcedureTaskId: options.procedureTaskId,
  };
  return guardDepth(() => ({ kind: 'NewFileUpload', eventHandle: undefined, ...readFileUpload(payload, ['FileUploadEvent']) }));
}

/**
 * The ProcedureStateChanged event of a task, or undefined when the answer is not about a procedure.
 * The answer states the status twice (its own and its ProcedureTask's, whose model knows only
 * PROCESSING | FINISH): either saying ABORTED means aborted (ended, failed); else either saying FINISH
 * means finished; anything else, WAITING included (no event carries it), is PROCESSING.
 */
export function procedureStateChangedFromTaskDetail(detail: TaskDetail): ProcedureStateChangedEvent | undefined {
  const task = detail.ProcedureTask;
  if (detail.TaskType !== 'Procedure' || !task) return undefined;
  const says = (status: string) => detail.Status === status || task.Status === status;
  const status = says('ABORTED') ? 'ABORTED' : says('FINISH') ? 'FINISH' : 'PROCESSING';
  return guardDepth(() => ({
    kind: 'ProcedureStateChanged',
    eventHandle: undefined,
    ...readProcedureState({ ...task, Status: status }, ['ProcedureStateChangeEvent']),
  }));
}
