/**
 * Media processing in the emulator, driven through tencentcloud-sdk-nodejs-vod, when it fails or waits: a
 * broken file, an audio-only file, an unknown template and injected faults (failed subtasks, an aborted task
 * read by the backend's own parser), request errors, and the queue's priority order with Finish-mode events.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseVodEvent, procedureStateChangedFromTaskDetail, summariseProcessing, TASK_ABORTED } from '#lib/vod-event';
import type { ProcedureStateChangedEvent } from '#lib/vod-event';
import { omitNulls } from '../../local/emulator/events.ts';
import type { ProcessingTask } from '../../local/emulator/state.ts';
import { FFMPEG } from './media';
import { uploadViaApi, writeRandomFile } from './helpers';
import { client, finished, procedureEvents, result, t, useProcessingEmulator, work } from './processing-fixture';

let broken: string;

useProcessingEmulator(() => {
  broken = path.join(work, 'broken.mp4');
  writeRandomFile(broken, 200_000, 7);
});

test('a broken file, an audio-only file, an unknown template and an injected fault fail their subtasks with clear messages', async () => {
  const bad = await uploadViaApi(t, client, 'b', broken);
  const { TaskId } = await client.ProcessMedia({
    FileId: bad,
    MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100010 }], ImageSpriteTaskSet: [{ Definition: 10 }] },
  });
  const task = await finished(TaskId!);
  for (const sub of [result(task, 'Transcode'), result(task, 'ImageSprites')]) {
    expect(sub).toMatchObject({ Status: 'FAIL', ErrCode: 60000, ErrCodeExt: 'SourceFileError', Output: null });
    expect(sub.Message).toMatch(/not a media file/);
  }
  const event = parseVodEvent(omitNulls(procedureEvents(TaskId!)[0])) as ProcedureStateChangedEvent;
  expect(summariseProcessing(event).outcome).toBe('FAIL');

  const audioOnly = path.join(work, 'tone.m4a');
  execFileSync(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', audioOnly]);
  const tone = await uploadViaApi(t, client, 'a', audioOnly);
  const toneTask = await finished(
    (
      await client.ProcessMedia({
        FileId: tone,
        MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ['0.5s'] }] },
      })
    ).TaskId!,
  );
  expect(result(toneTask, 'SnapshotByTimeOffset')).toMatchObject({
    Status: 'FAIL',
    ErrCode: 60000,
    ErrCodeExt: 'SourceFileError.NoVideoMedia',
    Message: 'the source file has no video stream',
  });

  const good = await uploadViaApi(t, client, 'g');
  t.emulator.setFaults({ processing: { failDefinitions: [100020] } });
  try {
    const reply = await client.ProcessMedia({
      FileId: good,
      MediaProcessTask: { TranscodeTaskSet: [{ Definition: 99999 }, { Definition: 100020 }, { Definition: 100010 }] },
    });
    const mixed = await finished(reply.TaskId!);
    expect(result(mixed, 'Transcode', 99999)).toMatchObject({
      Status: 'FAIL',
      ErrCode: 40000,
      ErrCodeExt: 'InvalidInput.DefinitionNotExist',
    });
    expect(result(mixed, 'Transcode', 100020)).toMatchObject({
      Status: 'FAIL',
      ErrCodeExt: 'InternalError',
      Message: expect.stringContaining('injected'),
    });
    expect(result(mixed, 'Transcode', 100010)).toMatchObject({ Status: 'SUCCESS' });
  } finally {
    t.emulator.setFaults({});
  }
  // Still serving.
  expect((await client.DescribeMediaInfos({ FileIds: [bad] })).MediaInfoSet).toHaveLength(1);
});

test('an admin fault aborts the next task: DescribeTaskDetail and DescribeTasks say ABORTED, no event; the backend reads it as failed', async () => {
  const fileId = await uploadViaApi(t, client, 'abort');
  const admin = await fetch(`${t.emulator.url}/__admin/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ processing: { abortNext: 1 } }),
  });
  expect(admin.status).toBe(200);
  try {
    const request = { FileId: fileId, MediaProcessTask: { ImageSpriteTaskSet: [{ Definition: 10 }] } };
    const aborted = (await client.ProcessMedia(request)).TaskId!;
    await t.emulator.processing.idle();
    const detail = await client.DescribeTaskDetail({ TaskId: aborted });
    expect(detail).toMatchObject({ TaskType: 'Procedure', Status: 'ABORTED', FinishTime: expect.stringMatching(/Z$/) });
    const { TaskSet } = await client.DescribeTasks({ FileId: fileId, Limit: 10 });
    expect(TaskSet!.find((task) => task.TaskId === aborted)?.Status).toBe('ABORTED');
    expect(procedureEvents(aborted)).toEqual([]);
    const event = procedureStateChangedFromTaskDetail(detail)!;
    expect(event.status).toBe('ABORTED');
    const summary = summariseProcessing(event);
    expect(summary.outcome).toBe('FAIL');
    expect(summary.failures[0]).toMatchObject({ type: 'Procedure', errCodeExt: TASK_ABORTED });
    // Only the next one: the following task runs.
    const next = (await client.ProcessMedia(request)).TaskId!;
    await finished(next);
  } finally {
    t.emulator.setFaults({});
  }
});

test('request errors: unknown FileId, no task, bad task sets, unknown task id', async () => {
  await expect(
    client.ProcessMedia({ FileId: '5285890799999999999', MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100010 }] } }),
  ).rejects.toMatchObject({
    code: 'ResourceNotFound.FileNotExist',
  });
  const fileId = await uploadViaApi(t, client, 'e');
  await expect(client.ProcessMedia({ FileId: fileId })).rejects.toMatchObject({ code: 'InvalidParameterValue' });
  await expect(
    client.ProcessMedia({
      FileId: fileId,
      MediaProcessTask: { CoverBySnapshotTaskSet: [{ Definition: 10, PositionType: 'Middle' as any, PositionValue: 1 }] },
    }),
  ).rejects.toMatchObject({
    code: 'InvalidParameterValue',
  });
  await expect(
    client.ProcessMedia({ FileId: fileId, TasksPriority: 11, MediaProcessTask: { ImageSpriteTaskSet: [{ Definition: 10 }] } }),
  ).rejects.toMatchObject({ code: 'InvalidParameterValue' });
  await expect(
    client.DescribeTaskDetail({ TaskId: '1500000001-procedurev2-00000000000000000000000000000000t0' }),
  ).rejects.toMatchObject({ code: 'InvalidParameterValue.TaskId' });
});

test('jobs run in priority order (then first come, first served); Finish mode notifies once', async () => {
  const fileId = await uploadViaApi(t, client, 'q');
  t.emulator.processing.pause();
  const started: string[] = [];
  const onStart = (task: ProcessingTask) => started.push(task.taskId);
  t.emulator.processing.on('taskStarted', onStart);
  try {
    const submit = async (priority: number) =>
      (
        await client.ProcessMedia({
          FileId: fileId,
          TasksPriority: priority,
          MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ['0.5s'] }] },
        })
      ).TaskId!;
    const ids = [await submit(0), await submit(5), await submit(-3), await submit(5), await submit(10)];
    expect((await client.DescribeTaskDetail({ TaskId: ids[0]! })).Status).toBe('WAITING');
    t.emulator.processing.resume();
    await t.emulator.processing.idle();
    expect(started).toEqual([ids[4], ids[1], ids[3], ids[0], ids[2]]);
    for (const id of ids) expect(procedureEvents(id).map((e) => e.ProcedureStateChangeEvent.Status)).toEqual(['FINISH']);
  } finally {
    t.emulator.processing.off('taskStarted', onStart);
    t.emulator.processing.resume();
  }
});
