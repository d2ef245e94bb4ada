/**
 * The event state machine on a real database: NewFileUpload, progress and ProcedureStateChanged to READY
 * (duplicates and events out of order changing nothing), media limits, FileDeleted, and events for uploads
 * this backend does not know. VOD's ProcessMedia is played by a recorder that keeps VOD's documented
 * contract (test/support/vod-event-fixture.ts); the end-to-end tests run the same code against the
 * emulator. When VOD fails or refuses: handle-vod-event-failures.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { getUpload } from '#lib/upload-store';
import { fileDeletedBody, newFileUploadBody, procedureBody } from '../support/events';
import { handle, issued, testDb, useVodEventDatabase, vod } from '../support/vod-event-fixture';

useVodEventDatabase();

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
