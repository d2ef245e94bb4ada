/**
 * The event state machine on a real database. VOD's ProcessMedia is played by a recorder that keeps
 * VOD's documented contract (a TaskId per call, a repeated SessionId refused); the end-to-end tests
 * run the same code against the emulator.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '#lib/config';
import { handleVodEvent, type VodEventDeps } from '#lib/handle-vod-event';
import { startProcessing } from '#lib/start-processing';
import { createLogger } from '#lib/log';
import { getUpload, insertIssuedUpload } from '#lib/upload-store';
import { isFinalTaskStatus, isStaleEventHandleError, isUnknownTaskError, type VodCalls } from '#lib/vod-api';
import { parseVodEvent, procedureStateChangedFromTaskDetail } from '#lib/vod-event';
import { openTestDatabase, truncateAll, type TestDatabase } from '../support/db';
import { functionEnv } from '../support/env';
import { fileDeletedBody, newFileUploadBody, procedureBody } from '../support/events';

class RecordingVod {
  calls: Array<Record<string, unknown>> = [];
  private sessions = new Set<string>();
  failuresLeft = 0;
  failureCode = 'InternalError';
  /** What DescribeMediaInfos answers (the confirmation of a pushed NewFileUpload). */
  media = new Map<string, Record<string, unknown>>();
  ProcessMedia = async (request: Record<string, unknown>) => {
    this.calls.push(request);
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw Object.assign(new Error('refused'), { code: this.failureCode });
    }
    const sessionId = String(request.SessionId);
    if (this.sessions.has(sessionId))
      throw Object.assign(new Error('duplicate SessionId'), { code: 'InvalidParameterValue.SessionId' });
    this.sessions.add(sessionId);
    return { TaskId: `1500000001-procedurev2-${this.sessions.size}`, RequestId: randomUUID() };
  };
  /** The code DescribeTaskDetail answers for any task (none is known here). */
  unknownTaskCode = 'InvalidParameterValue.TaskId';
  DescribeTaskDetail = async () => {
    throw Object.assign(new Error('no such task'), { code: this.unknownTaskCode });
  };
  DescribeMediaInfos = async (request: { FileIds: string[] }) => ({
    MediaInfoSet: request.FileIds.filter((id) => this.media.has(id)).map((id) => ({ FileId: id, ...this.media.get(id) })),
    NotExistFileIdSet: request.FileIds.filter((id) => !this.media.has(id)),
  });
}

let testDb: TestDatabase;
let config: Config;
let vod: RecordingVod;
const log = createLogger({}, 'error');
const deps = (): VodEventDeps => ({ config, db: testDb.db, vod: vod as unknown as VodCalls, log });
const handle = (body: unknown) => handleVodEvent(deps(), parseVodEvent(body), { confirmWithVod: false });

async function issued(): Promise<string> {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 3600_000) });
  return uploadId;
}

beforeAll(async () => {
  testDb = await openTestDatabase();
  config = loadConfig(
    functionEnv({
      MEDIA_MAX_DURATION_SECONDS: '600',
      MEDIA_MIN_HEIGHT: '240',
      PIPELINE_WATERMARK_DEFINITION: '501',
      PIPELINE_GIF_DEFINITION: '20000',
    }),
  );
}, 60_000);
afterAll(() => testDb.close());
beforeEach(async () => {
  vod = new RecordingVod();
  await truncateAll(testDb.db);
});

test('NewFileUpload: UPLOADED, then ProcessMedia with the versioned pipeline, then PROCESSING', async () => {
  const uploadId = await issued();
  const handled = await handle(newFileUploadBody({ fileId: '5285890784000000001', uploadId }));
  expect(handled).toMatchObject({ duplicate: false, outcome: 'UPLOADED', uploadId });
  expect(vod.calls).toHaveLength(1);
  const request = vod.calls[0]!;
  expect(request).toMatchObject({
    FileId: '5285890784000000001',
    SubAppId: 1500000001,
    SessionId: '5285890784000000001-v1',
    SessionContext: `uploadId=${uploadId}`,
    TasksNotifyMode: 'Finish',
  });
  const task = request.MediaProcessTask as Record<string, Array<Record<string, unknown>>>;
  expect(task.TranscodeTaskSet!.map((t) => t.Definition)).toEqual([100010, 100020, 100030]);
  expect(task.TranscodeTaskSet![0]!.WatermarkSet).toEqual([{ Definition: 501 }]);
  expect(task.SnapshotByTimeOffsetTaskSet).toEqual([{ Definition: 10, ExtTimeOffsetSet: ['1s', '50%'] }]);
  expect(task.CoverBySnapshotTaskSet).toEqual([{ Definition: 10, PositionType: 'Percent', PositionValue: 10 }]);
  expect(task.ImageSpriteTaskSet).toEqual([{ Definition: 10 }]);
  expect(task.AnimatedGraphicTaskSet).toEqual([{ Definition: 20000, StartTimeOffset: 0, EndTimeOffset: 3 }]);
  expect(task.AdaptiveDynamicStreamingTaskSet).toEqual([{ Definition: 10, WatermarkSet: [{ Definition: 501 }] }]); // the default adaptive HLS

  const upload = await getUpload(testDb.db, uploadId);
  expect(upload).toMatchObject({ status: 'PROCESSING', fileId: '5285890784000000001', taskId: '1500000001-procedurev2-1' });
  expect(upload!.media).toMatchObject({ duration: 12.5, width: 1280, height: 720, videoCodec: 'h264', type: 'mp4' });
});

test('a duplicate NewFileUpload is acknowledged and does nothing, even when ten arrive at once', async () => {
  const uploadId = await issued();
  const body = newFileUploadBody({ fileId: '5285890784000000002', uploadId });
  const results = await Promise.all(Array.from({ length: 10 }, () => handle(body)));
  expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
  expect(results.filter((r) => r.duplicate)).toHaveLength(9);
  expect(vod.calls).toHaveLength(1);
  const { rows } = await testDb.db.query(`SELECT outcome FROM vod_events WHERE dedupe_key = 'NewFileUpload:5285890784000000002'`);
  expect(rows).toEqual([{ outcome: 'UPLOADED' }]);
});

test('progress events out of order: the stored progress never moves back', async () => {
  const uploadId = await issued();
  const fileId = '5285890784000000031';
  await handle(newFileUploadBody({ fileId, uploadId }));
  const taskId = (await getUpload(testDb.db, uploadId))!.taskId!;
  await handle(procedureBody({ taskId, fileId, uploadId, status: 'PROCESSING', progress: 70 }));
  const high = (await getUpload(testDb.db, uploadId))!.result!.progress!;
  expect(high).toBeGreaterThan(0);
  expect((await handle(procedureBody({ taskId, fileId, uploadId, status: 'PROCESSING', progress: 20 }))).outcome).toBe(
    `progress:${high}`,
  );
  expect((await getUpload(testDb.db, uploadId))!.result!.progress).toBe(high);
});

test('ProcedureStateChanged: progress, then READY with renditions and cover; a late PROCESSING changes nothing', async () => {
  const uploadId = await issued();
  const fileId = '5285890784000000003';
  await handle(newFileUploadBody({ fileId, uploadId }));
  const taskId = (await getUpload(testDb.db, uploadId))!.taskId!;
  expect((await handle(procedureBody({ taskId, fileId, uploadId, status: 'PROCESSING', progress: 40 }))).outcome).toMatch(
    /^progress:/,
  );
  expect((await getUpload(testDb.db, uploadId))!.result).toMatchObject({ progress: expect.any(Number) });

  expect((await handle(procedureBody({ taskId, fileId, uploadId, status: 'FINISH' }))).outcome).toBe('READY');
  const ready = await getUpload(testDb.db, uploadId);
  expect(ready!.status).toBe('READY');
  expect(ready!.result).toMatchObject({
    renditions: [{ definition: 100030, url: expect.stringContaining('v.f100030.mp4'), width: 1280, height: 720 }],
    cover: { url: expect.stringContaining('cover.jpg') },
  });
  expect((await handle(procedureBody({ taskId, fileId, uploadId, status: 'PROCESSING', progress: 10 }))).outcome).toBe('stale');
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('READY');
});

test('a failed subtask makes the upload FAILED with the reason', async () => {
  const uploadId = await issued();
  const fileId = '5285890784000000004';
  await handle(newFileUploadBody({ fileId, uploadId }));
  const taskId = (await getUpload(testDb.db, uploadId))!.taskId!;
  const body = procedureBody({ taskId, fileId, uploadId, status: 'FINISH', transcode: 'FAIL' });
  Object.assign((body.ProcedureStateChangeEvent.MediaProcessResultSet[0] as { TranscodeTask: object }).TranscodeTask, {
    ErrCode: 70000,
    ErrCodeExt: 'InternalError',
  });
  expect((await handle(body)).outcome).toBe('FAILED');
  const failed = await getUpload(testDb.db, uploadId);
  expect(failed!.error).toMatchObject({ code: 'ProcessingFailed', message: expect.stringContaining('Transcode') });
});

test('with a procedure, processing may finish before NewFileUpload arrives; the late upload event only adds metadata', async () => {
  const uploadId = await issued();
  const fileId = '5285890784000000005';
  const taskId = '1500000001-procedurev2-proc';
  expect((await handle(procedureBody({ taskId, fileId, uploadId, status: 'FINISH' }))).outcome).toBe('READY');
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({ status: 'READY', fileId, taskId, media: null });
  expect((await handle(newFileUploadBody({ fileId, uploadId, procedureTaskId: taskId }))).outcome).toBe('metadata');
  const upload = await getUpload(testDb.db, uploadId);
  expect(upload).toMatchObject({ status: 'READY', taskId });
  expect(upload!.media).toMatchObject({ duration: 12.5 });
  expect(vod.calls).toHaveLength(0);
});

test('NewFileUpload with a ProcedureTaskId goes straight to PROCESSING without ProcessMedia', async () => {
  const uploadId = await issued();
  expect(
    (await handle(newFileUploadBody({ fileId: '5285890784000000006', uploadId, procedureTaskId: 'proc-task-6' }))).outcome,
  ).toBe('PROCESSING');
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({ status: 'PROCESSING', taskId: 'proc-task-6' });
  expect(vod.calls).toHaveLength(0);
});

test('media outside the configured limits is REJECTED with the reason and never processed', async () => {
  const tooLong = await issued();
  expect((await handle(newFileUploadBody({ fileId: '5285890784000000007', uploadId: tooLong, duration: 601 }))).outcome).toBe(
    'REJECTED',
  );
  expect((await getUpload(testDb.db, tooLong))!.error).toMatchObject({
    code: 'MediaRejected',
    message: expect.stringContaining('601 s'),
  });
  const tooSmall = await issued();
  expect((await handle(newFileUploadBody({ fileId: '5285890784000000008', uploadId: tooSmall, height: 144 }))).outcome).toBe(
    'REJECTED',
  );
  expect(vod.calls).toHaveLength(0);
});

test('FileDeleted marks the upload DELETED; a partial deletion does not', async () => {
  const uploadId = await issued();
  const fileId = '5285890784000000009';
  await handle(newFileUploadBody({ fileId, uploadId }));
  expect((await handle(fileDeletedBody([fileId], [{ Type: 'TranscodeFiles', Definition: 100010 }]))).outcome).toBe(
    'no-upload-deleted',
  );
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('PROCESSING');
  expect((await handle(fileDeletedBody([fileId]))).outcome).toBe('DELETED:1');
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('DELETED');
});

test('FileDeleted with DeleteParts [] or naming every part deletes the upload', async () => {
  const everyPart = [
    'OriginalFiles',
    'TranscodeFiles',
    'AdaptiveDynamicStreamingFiles',
    'WechatPublishFiles',
    'WechatMiniProgramPublishFiles',
  ];
  for (const [n, parts] of [
    [13, []],
    [14, everyPart.map((Type) => ({ Type, Definition: 0 }))],
  ] as const) {
    const uploadId = await issued();
    const fileId = `52858907840000001${n}`;
    await handle(newFileUploadBody({ fileId, uploadId }));
    expect((await handle(fileDeletedBody([fileId], [...parts]))).outcome).toBe('DELETED:1');
    expect((await getUpload(testDb.db, uploadId))!.status).toBe('DELETED');
  }
});

test('ProcessMedia failing: retried with backoff, then left UPLOADED; a later start uses the same SessionId once', async () => {
  const uploadId = await issued();
  const fileId = '5285890784000000010';
  vod.failuresLeft = 10;
  await handle(newFileUploadBody({ fileId, uploadId }));
  expect(vod.calls.length).toBeGreaterThan(1);
  expect(new Set(vod.calls.map((c) => c.SessionId))).toEqual(new Set([`${fileId}-v1`]));
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('UPLOADED');

  vod.failuresLeft = 0;
  expect(await startProcessing(deps(), { uploadId, fileId })).toEqual({ started: true, taskId: expect.any(String) });
  expect((await getUpload(testDb.db, uploadId))!.status).toBe('PROCESSING');
  // A second trigger for the same file and pipeline is refused by VOD and changes nothing.
  expect(await startProcessing(deps(), { uploadId, fileId })).toEqual({ started: false, reason: 'session-exists' });
}, 20_000);

test('events for uploads this backend does not know are acknowledged, not errors', async () => {
  const foreign = newFileUploadBody({ fileId: '5285890784000000011', uploadId: randomUUID() });
  expect((await handle(foreign)).outcome).toBe('unknown-upload');
  const noContext = newFileUploadBody({ fileId: '5285890784000000012', uploadId: randomUUID() });
  noContext.FileUploadEvent.MediaBasicInfo.SourceInfo.SourceContext = '';
  expect((await handle(noContext)).outcome).toBe('not-ours');
  expect((await handle({ EventType: 'EditMediaComplete', EditMediaCompleteEvent: { TaskId: 't-1' } })).outcome).toBe('ignored');
  expect((await handle({ EventType: 'SomethingNew2027', SomethingNew2027Event: {} })).outcome).toBe('unknown-event-type');
  expect(vod.calls).toHaveLength(0);
});

test('a ProcessMedia that VOD refuses outright (a bad template) fails the upload instead of retrying forever', async () => {
  const uploadId = await issued();
  vod.failuresLeft = 1;
  vod.failureCode = 'InvalidParameterValue.Definition';
  await handle(newFileUploadBody({ fileId: '5285890784000000013', uploadId }));
  expect(vod.calls).toHaveLength(1);
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({ status: 'FAILED', error: { code: 'ProcessingNotStarted' } });
});

test('a SessionId VOD finds too long started nothing: the upload fails, it is not taken as already started', async () => {
  const uploadId = await issued();
  vod.failuresLeft = 1;
  vod.failureCode = 'InvalidParameterValue.SessionIdTooLong';
  await handle(newFileUploadBody({ fileId: '5285890784000000115', uploadId }));
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({
    status: 'FAILED',
    error: { code: 'ProcessingNotStarted', message: expect.stringContaining('SessionIdTooLong') },
  });
});

test('an ABORTED task fails the upload with the reason, whether an event or DescribeTaskDetail says so', async () => {
  const uploadId = await issued();
  const fileId = '5285890784000000116';
  await handle(newFileUploadBody({ fileId, uploadId }));
  expect(
    (await handle(procedureBody({ taskId: 'proc-aborted', fileId, uploadId, status: 'ABORTED', transcode: 'PROCESSING' })))
      .outcome,
  ).toBe('FAILED');
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({
    status: 'FAILED',
    error: {
      code: 'ProcessingFailed',
      message: expect.stringContaining('aborted'),
      failures: expect.arrayContaining([
        expect.objectContaining({ errCodeExt: 'TaskAborted' }),
        expect.objectContaining({ type: 'Transcode', errCodeExt: 'UnfinishedSubtask' }),
      ]),
    },
  });

  // The task detail's own Status says ABORTED while its ProcedureTask says FINISH (the model knows no ABORTED).
  const other = await issued();
  const otherFile = '5285890784000000117';
  await handle(newFileUploadBody({ fileId: otherFile, uploadId: other }));
  const body = procedureBody({
    taskId: 'proc-aborted-2',
    fileId: otherFile,
    uploadId: other,
    status: 'FINISH',
    transcode: 'PROCESSING',
  });
  const event = procedureStateChangedFromTaskDetail({
    TaskType: 'Procedure',
    Status: 'ABORTED',
    ProcedureTask: body.ProcedureStateChangeEvent,
  } as never)!;
  expect(event.status).toBe('ABORTED');
  expect((await handleVodEvent(deps(), event, { confirmWithVod: false })).outcome).toBe('FAILED');
  expect(
    isFinalTaskStatus('ABORTED') &&
      isFinalTaskStatus('FINISH') &&
      !isFinalTaskStatus('PROCESSING') &&
      !isFinalTaskStatus('WAITING'),
  ).toBe(true);
});

test('processing results arriving first still face the media limits', async () => {
  const uploadId = await issued();
  const body = procedureBody({ taskId: 'proc-long', fileId: '5285890784000000014', uploadId, status: 'FINISH' });
  Object.assign(body.ProcedureStateChangeEvent, {
    MetaData: {
      Duration: 601,
      Height: 720,
      Width: 1280,
      VideoStreamSet: [{ Codec: 'h264', Height: 720, Width: 1280 }],
      AudioStreamSet: [],
    },
  });
  expect((await handle(body)).outcome).toBe('REJECTED');
  expect((await getUpload(testDb.db, uploadId))!.error).toMatchObject({ code: 'MediaRejected' });
});

test('confirmed with VOD: the media facts come from the API, and a pushed ProcedureTaskId is not believed without a procedure', async () => {
  const uploadId = await issued();
  const fileId = '5285890784000000015';
  const pushed = newFileUploadBody({ fileId, uploadId, procedureTaskId: 'made-up-task' });
  vod.media.set(fileId, {
    BasicInfo: pushed.FileUploadEvent.MediaBasicInfo,
    MetaData: { ...pushed.FileUploadEvent.MetaData, Duration: 30 },
  });
  const handled = await handleVodEvent(deps(), parseVodEvent(pushed), { confirmWithVod: true });
  expect(handled.outcome).toBe('UPLOADED');
  expect(vod.calls).toHaveLength(1);
  expect(await getUpload(testDb.db, uploadId)).toMatchObject({
    status: 'PROCESSING',
    media: expect.objectContaining({ duration: 30 }),
  });

  const unknown = newFileUploadBody({ fileId: '5285890784000000016', uploadId: await issued() });
  await expect(handleVodEvent(deps(), parseVodEvent(unknown), { confirmWithVod: true })).rejects.toMatchObject({ status: 403 });
});

test('a task VOD does not know, by its documented code or a plain InvalidParameterValue, makes a pushed event a 403', async () => {
  for (const code of ['InvalidParameterValue.TaskId', 'InvalidParameterValue', 'ResourceNotFound']) {
    vod.unknownTaskCode = code;
    const body = procedureBody({ taskId: `proc-unknown-${code}`, fileId: '5285890784000000118', status: 'FINISH' });
    await expect(handleVodEvent(deps(), parseVodEvent(body), { confirmWithVod: true })).rejects.toMatchObject({ status: 403 });
  }
  const coded = (code: string | undefined) => Object.assign(new Error('x'), { code });
  expect(
    ['InvalidParameterValue.TaskId', 'InvalidParameterValue', 'ResourceNotFound.TaskNotExist'].every((c) =>
      isUnknownTaskError(coded(c)),
    ),
  ).toBe(true);
  expect(['InternalError', 'InvalidParameterValue.SessionId', undefined].some((c) => isUnknownTaskError(coded(c)))).toBe(false);
  expect(['InvalidParameterValue', 'InvalidParameterValue.EventHandle'].every((c) => isStaleEventHandleError(coded(c)))).toBe(
    true,
  );
  expect(['InternalError', 'AuthFailure.SignatureFailure', undefined].some((c) => isStaleEventHandleError(coded(c)))).toBe(false);
});

test('a file VOD cannot read as video (a SourceFileError subtask, as the emulator reports random bytes) is REJECTED NotMedia; other failures stay FAILED', async () => {
  const cases = [
    ['SourceFileError', 60000, 'REJECTED'],
    ['SourceFileError.NoVideoMedia', 60000, 'REJECTED'],
    ['InternalError', 70000, 'FAILED'],
    ['InvalidInput.DefinitionNotExist', 40000, 'FAILED'],
  ] as const;
  for (const [i, [errCodeExt, errCode, status]] of cases.entries()) {
    const uploadId = await issued();
    const fileId = `52858907840000002${i}`;
    await handle(newFileUploadBody({ fileId, uploadId }));
    const body = procedureBody({ taskId: `proc-source-${i}`, fileId, uploadId, status: 'FINISH', transcode: 'FAIL' });
    Object.assign((body.ProcedureStateChangeEvent.MediaProcessResultSet[0] as { TranscodeTask: object }).TranscodeTask, {
      ErrCode: errCode,
      ErrCodeExt: errCodeExt,
      Message: 'the source file is not a media file',
    });
    expect((await handle(body)).outcome).toBe(status);
    const upload = await getUpload(testDb.db, uploadId);
    expect(upload!.status).toBe(status);
    expect(upload!.error!.code).toBe(status === 'REJECTED' ? 'NotMedia' : 'ProcessingFailed');
  }
});
