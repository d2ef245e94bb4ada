/**
 * The event state machine on a real database when VOD fails or refuses: ProcessMedia retried, refused
 * outright or finding a SessionId too long, an ABORTED task, a file VOD cannot read as video, and events
 * confirmed with VOD (the media facts from the API, a task VOD does not know). VOD is played by a
 * recorder that keeps its documented contract (test/support/vod-event-fixture.ts).
 */
import { handleVodEvent } from '#lib/handle-vod-event';
import { startProcessing } from '#lib/start-processing';
import { getUpload } from '#lib/upload-store';
import { isFinalTaskStatus, isStaleEventHandleError, isUnknownTaskError } from '#lib/vod-api';
import { parseVodEvent, procedureStateChangedFromTaskDetail } from '#lib/vod-event';
import { newFileUploadBody, procedureBody } from '../support/events';
import { deps, handle, issued, testDb, useVodEventDatabase, vod } from '../support/vod-event-fixture';

useVodEventDatabase();

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
