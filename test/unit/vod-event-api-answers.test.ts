/**
 * Events built from VOD API answers (DescribeMediaInfos, DescribeTaskDetail) must be exactly the events
 * that the same data parsed as a pushed event gives: the backend applies both through one path.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VodEventError, newFileUploadFromMediaInfo, parseVodEvent, procedureStateChangedFromTaskDetail } from '#lib/vod-event';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'events', name), 'utf8')) as Record<string, any>;

/** A DescribeMediaInfos `MediaInfoSet` entry holding what a FileUploadEvent fixture says. */
function mediaInfoOf(name: string) {
  const { FileId, MediaBasicInfo, MetaData } = fixture(name).FileUploadEvent;
  return { FileId, BasicInfo: MediaBasicInfo, MetaData };
}

/** A DescribeTaskDetail answer for the task of a ProcedureStateChangeEvent fixture. */
function taskDetailOf(name: string, status?: string) {
  const task = fixture(name).ProcedureStateChangeEvent;
  return { TaskType: 'Procedure', Status: status ?? task.Status, CreateTime: '2026-11-25T04:10:05Z', ProcedureTask: task };
}

function thrown(run: () => unknown): VodEventError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(VodEventError);
    return error as VodEventError;
  }
  throw new Error('expected a VodEventError');
}

describe('newFileUploadFromMediaInfo', () => {
  test.each(['new-file-upload.context.push.json', 'new-file-upload.pull.json', 'new-file-upload.push.json'])(
    '%s: the event the media stands for',
    (name) => {
      const media = mediaInfoOf(name);
      const pushed = parseVodEvent({
        EventType: 'NewFileUpload',
        FileUploadEvent: { FileId: media.FileId, MediaBasicInfo: media.BasicInfo, MetaData: media.MetaData },
      });
      expect(newFileUploadFromMediaInfo(media)).toStrictEqual(pushed);
    },
  );

  test('the procedure task is the one the caller gives, never one from the answer', () => {
    const media = mediaInfoOf('new-file-upload.context.push.json');
    const event = newFileUploadFromMediaInfo(media, {
      procedureTaskId: '1500012345-procedurev2-9a4c0e7f1b2d3e4f5a6b7c8d9e0f1a2bt0',
    });
    expect(event).toMatchObject({
      kind: 'NewFileUpload',
      fileId: '3270835010452376512',
      procedureTaskId: '1500012345-procedurev2-9a4c0e7f1b2d3e4f5a6b7c8d9e0f1a2bt0',
    });
    expect(event.sourceContext).toBe('upl_01JDQ7Z3W5K6M2N8P4R9T0V1X2');
    expect(event.metaData).toMatchObject({ size: 9876543, width: 1920, height: 1080 });
    expect(
      newFileUploadFromMediaInfo({ ...media, ProcedureTaskId: 'from-the-answer' } as typeof media).procedureTaskId,
    ).toBeUndefined();
  });

  test('PULL-style nulls and a missing BasicInfo read as absent', () => {
    const event = newFileUploadFromMediaInfo({ FileId: '3270835010452376512', BasicInfo: null, MetaData: null } as never);
    expect(event).toStrictEqual(
      parseVodEvent({ EventType: 'NewFileUpload', FileUploadEvent: { FileId: '3270835010452376512' } }),
    );
    expect(event.media.tagSet).toEqual([]);
    expect(event.metaData).toBeUndefined();
  });

  test('a bad answer is a VodEventError naming the field as the event carries it', () => {
    const media = mediaInfoOf('new-file-upload.context.push.json');
    expect(thrown(() => newFileUploadFromMediaInfo({ ...media, FileId: undefined })).field).toBe('FileUploadEvent.FileId');
    const script = { ...media, BasicInfo: { ...media.BasicInfo, CoverUrl: 'javascript:alert(1)' } };
    expect(thrown(() => newFileUploadFromMediaInfo(script)).field).toBe('FileUploadEvent.MediaBasicInfo.CoverUrl');
    expect(thrown(() => newFileUploadFromMediaInfo(media, { procedureTaskId: 'not an id' })).field).toBe(
      'FileUploadEvent.ProcedureTaskId',
    );
  });
});

describe('procedureStateChangedFromTaskDetail', () => {
  test.each([
    'procedure-state-changed.push.json',
    'procedure-state-changed.pull.json',
    'procedure-state-changed.pipeline.push.json',
    'procedure-state-changed.failed-subtask.push.json',
    'procedure-state-changed.change-1.push.json',
  ])('%s: the event the task stands for', (name) => {
    const detail = taskDetailOf(name);
    const pushed = parseVodEvent({ EventType: 'ProcedureStateChanged', ProcedureStateChangeEvent: detail.ProcedureTask });
    expect(procedureStateChangedFromTaskDetail(detail)).toStrictEqual(pushed);
  });

  test('WAITING (which no event carries) is PROCESSING; FINISH from either status is FINISH', () => {
    const task = fixture('procedure-state-changed.change-1.push.json').ProcedureStateChangeEvent;
    const detail = (status: string, taskStatus: string) => ({
      TaskType: 'Procedure',
      Status: status,
      ProcedureTask: { ...task, Status: taskStatus },
    });
    expect(procedureStateChangedFromTaskDetail(detail('WAITING', 'WAITING'))?.status).toBe('PROCESSING');
    expect(procedureStateChangedFromTaskDetail(detail('PROCESSING', 'PROCESSING'))?.status).toBe('PROCESSING');
    expect(procedureStateChangedFromTaskDetail(detail('FINISH', 'FINISH'))?.status).toBe('FINISH');
    expect(procedureStateChangedFromTaskDetail(detail('FINISH', 'PROCESSING'))?.status).toBe('FINISH');
    expect(procedureStateChangedFromTaskDetail(detail('PROCESSING', 'FINISH'))?.status).toBe('FINISH');
    const finished = procedureStateChangedFromTaskDetail(detail('FINISH', 'WAITING'));
    expect(finished).toStrictEqual(
      parseVodEvent({ EventType: 'ProcedureStateChanged', ProcedureStateChangeEvent: { ...task, Status: 'FINISH' } }),
    );
  });

  test('an answer that is not about a procedure is no event', () => {
    const detail = taskDetailOf('procedure-state-changed.push.json');
    expect(procedureStateChangedFromTaskDetail({ ...detail, ProcedureTask: undefined })).toBeUndefined();
    expect(procedureStateChangedFromTaskDetail({ ...detail, ProcedureTask: null } as never)).toBeUndefined();
    expect(procedureStateChangedFromTaskDetail({ ...detail, TaskType: 'EditMedia' })).toBeUndefined();
  });

  test('a bad answer is a VodEventError naming the field as the event carries it', () => {
    const detail = taskDetailOf('procedure-state-changed.push.json');
    const results = detail.ProcedureTask.MediaProcessResultSet;
    const badStatus = { ...results[0], TranscodeTask: { ...results[0].TranscodeTask, Status: 'OK' } };
    const error = thrown(() =>
      procedureStateChangedFromTaskDetail({
        ...detail,
        ProcedureTask: { ...detail.ProcedureTask, MediaProcessResultSet: [badStatus] },
      }),
    );
    expect(error.field).toBe('ProcedureStateChangeEvent.MediaProcessResultSet[0].TranscodeTask.Status');
    expect(
      thrown(() => procedureStateChangedFromTaskDetail({ ...detail, ProcedureTask: { ...detail.ProcedureTask, TaskId: 42 } }))
        .field,
    ).toBe('ProcedureStateChangeEvent.TaskId');
  });
});
