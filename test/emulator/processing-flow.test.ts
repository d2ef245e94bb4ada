/**
 * Processing in the upload flow: a `procedure` in the upload signature starts a task on commit
 * (NewFileUpload carries its ProcedureTaskId), ProcessMediaByProcedure, delivery of ProcedureStateChanged
 * by PULL (parsed as the backend's cleanup pump does) and PUSH, and a job interrupted by a restart.
 */
import fs from 'node:fs';
import { eventDedupeKey, parsePullEventsResponse, parseVodEventJson, summariseProcessing } from '#lib/vod-event';
import type { ProcedureStateChangedEvent, VodEvent } from '#lib/vod-event';
import type { ProcessingTask } from '../../local/emulator/state.ts';
import {
  bucketOf,
  CLIP,
  cosCall,
  cosForApply,
  keyOf,
  startReceiver,
  startTestEmulator,
  tempDir,
  ugc,
  uploadSignature,
  uploadViaApi,
  vodClient,
} from './helpers';
import type { ApplyData, TestEmulator, VodClient } from './helpers';

jest.setTimeout(60_000);

const work = tempDir('vod-emulator-processing-flow-');
let t: TestEmulator;
let client: VodClient;

const QUICK = {
  MediaProcessTask: {
    TranscodeTaskSet: [{ Definition: 100010 }],
    SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ['1s'] }],
    CoverBySnapshotTaskSet: [{ Definition: 10, PositionType: 'Time', PositionValue: 0.5 }],
  },
};

beforeAll(async () => {
  t = await startTestEmulator({
    procedures: { quick: QUICK },
    eventConfig: { Mode: 'PULL', UploadMediaCompleteEventSwitch: 'ON' },
  });
  client = vodClient(t.emulator);
});

afterAll(async () => {
  await t?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Pulls and confirms until `done` says so (or a few seconds pass). */
async function pullUntil(done: (events: VodEvent[]) => boolean): Promise<VodEvent[]> {
  const all: VodEvent[] = [];
  const deadline = Date.now() + 20_000;
  while (!done(all) && Date.now() < deadline) {
    const pulled = parsePullEventsResponse(await client.PullEvents({}));
    const handles: string[] = [];
    for (const entry of pulled.events) {
      expect(entry.ok).toBe(true);
      if (entry.ok) all.push(entry.event);
      if (entry.eventHandle) handles.push(entry.eventHandle);
    }
    if (handles.length > 0) await client.ConfirmEvents({ EventHandles: handles });
  }
  return all;
}

test('a procedure named in the upload signature processes the file on commit', async () => {
  const signature = uploadSignature(t.clock, {
    procedure: 'quick',
    taskNotifyMode: 'Finish',
    taskPriority: 2,
    sessionContext: 'from-signature',
  });
  const applied = await ugc(t.emulator, 'ApplyUploadUGC', { signature, videoName: 'clip', videoType: 'mp4' });
  expect(applied.code).toBe(0);
  const data = applied.data as ApplyData;
  await cosCall(cosForApply(t.emulator, data, work), 'putObject', {
    Bucket: bucketOf(data),
    Region: data.storageRegionV5,
    Key: keyOf(data.video.storagePath),
    Body: fs.readFileSync(CLIP),
  });
  const commit = await ugc(t.emulator, 'CommitUploadUGC', {
    signature: uploadSignature(t.clock),
    vodSessionKey: data.vodSessionKey,
  });
  expect(commit.code).toBe(0);
  const fileId = commit.data.fileId as string;

  const events = await pullUntil((all) => all.some((e) => e.kind === 'ProcedureStateChanged' && e.status === 'FINISH'));
  const upload = events.find((e) => e.kind === 'NewFileUpload');
  expect(upload).toMatchObject({ kind: 'NewFileUpload', fileId });
  const taskId = upload?.kind === 'NewFileUpload' ? upload.procedureTaskId : undefined;
  expect(taskId).toMatch(/^1500000001-Procedure-[0-9a-f]{32}t0$/);
  const finished = events.filter((e): e is ProcedureStateChangedEvent => e.kind === 'ProcedureStateChanged');
  expect(finished).toHaveLength(1); // Finish mode
  expect(finished[0]).toMatchObject({ taskId, fileId, status: 'FINISH', sessionContext: 'from-signature', tasksPriority: 2 });
  const summary = summariseProcessing(finished[0]!);
  expect(summary.outcome).toBe('SUCCESS');
  expect(summary.renditions.map((r) => r.definition)).toEqual([100010]);
  expect(summary.snapshots).toHaveLength(1);

  const detail = await client.DescribeTaskDetail({ TaskId: taskId! });
  expect(detail).toMatchObject({ TaskType: 'Procedure', Status: 'FINISH', ProcedureTask: { TaskId: taskId, FileId: fileId } });
  const info = (await client.DescribeMediaInfos({ FileIds: [fileId] })).MediaInfoSet![0]!;
  expect(info.BasicInfo!.CoverUrl).toBe(summary.cover?.url);
  expect(info.TranscodeInfo!.TranscodeSet[0]!.Url).toBe(summary.renditions[0]!.url);
});

test('ProcessMediaByProcedure: known names run, unknown ones are refused, SessionId de-dup', async () => {
  const fileId = await uploadViaApi(t, client, 'by-procedure');
  await pullUntil((all) => all.some((e) => e.kind === 'NewFileUpload' && e.fileId === fileId));
  await expect(client.ProcessMediaByProcedure({ FileId: fileId, ProcedureName: 'nope' })).rejects.toMatchObject({
    code: 'InvalidParameter.ProcedureNameNotExist',
  });
  const { TaskId } = await client.ProcessMediaByProcedure({
    FileId: fileId,
    ProcedureName: 'quick',
    SessionId: 'p-1',
    TasksNotifyMode: 'Change',
  });
  expect(TaskId).toMatch(/-Procedure-/);
  await expect(
    client.ProcessMediaByProcedure({ FileId: fileId, ProcedureName: 'quick', SessionId: 'p-1' }),
  ).rejects.toMatchObject({ code: 'InvalidParameterValue.SessionId' });
  // Over 50 characters is its own code; a repeat is InvalidParameterValue.SessionId.
  await expect(
    client.ProcessMediaByProcedure({ FileId: fileId, ProcedureName: 'quick', SessionId: 'x'.repeat(51) }),
  ).rejects.toMatchObject({ code: 'InvalidParameterValue.SessionIdTooLong' });
  await expect(
    client.ProcessMedia({
      FileId: fileId,
      MediaProcessTask: { ImageSpriteTaskSet: [{ Definition: 10 }] },
      SessionId: 'y'.repeat(51),
    }),
  ).rejects.toMatchObject({ code: 'InvalidParameterValue.SessionIdTooLong' });
  const events = await pullUntil((all) =>
    all.some((e) => e.kind === 'ProcedureStateChanged' && e.taskId === TaskId && e.status === 'FINISH'),
  );
  const mine = events.filter((e): e is ProcedureStateChangedEvent => e.kind === 'ProcedureStateChanged' && e.taskId === TaskId);
  // Change mode: 3 subtasks → 3 starts + 2 finishes as PROCESSING, then FINISH.
  expect(mine.map((e) => e.status)).toEqual(['PROCESSING', 'PROCESSING', 'PROCESSING', 'PROCESSING', 'PROCESSING', 'FINISH']);
  expect(mine[0]!.results.map((r) => (r.type === 'Unknown' ? r.rawType : r.status))).toEqual([
    'PROCESSING',
    'PROCESSING',
    'PROCESSING',
  ]);
  expect(summariseProcessing(mine[5]!).outcome).toBe('SUCCESS');
  const { TaskSet } = await client.DescribeTasks({ FileId: fileId, Limit: 100 });
  expect(TaskSet!.find((task) => task.SessionId === 'p-1')?.TaskId).toBe(TaskId);
});

test('PUSH: the FINISH event reaches the callback URL (with Sign/T) and parses; injected duplicates de-dupe', async () => {
  const receiver = await startReceiver();
  try {
    await client.ModifyEventConfig({ Mode: 'PUSH', NotificationUrl: receiver.url, SignKey: 'abc123' });
    t.emulator.setFaults({ push: { duplicateRate: 1 } });
    const fileId = await uploadViaApi(t, client, 'push');
    const { TaskId } = await client.ProcessMedia({
      FileId: fileId,
      MediaProcessTask: { ImageSpriteTaskSet: [{ Definition: 10 }] },
      SessionContext: 'pushed',
    });
    await t.emulator.processing.idle();
    await t.emulator.flush();
    const copies = receiver.bodies.filter(
      (b) => b.EventType === 'ProcedureStateChanged' && b.ProcedureStateChangeEvent.TaskId === TaskId,
    );
    expect(copies).toHaveLength(2);
    expect(new Set(copies.map((c) => eventDedupeKey(parseVodEventJson(JSON.stringify(c))))).size).toBe(1);
    const body = copies[0]!;
    expect(body).toMatchObject({ Sign: expect.stringMatching(/^[0-9a-f]{32}$/), T: expect.any(Number) });
    const event = parseVodEventJson(JSON.stringify(body)) as ProcedureStateChangedEvent;
    expect(event).toMatchObject({ status: 'FINISH', sessionContext: 'pushed' });
    expect(summariseProcessing(event).sprite?.webVttUrl).toMatch(/imageSprite\.10\.vtt$/);
  } finally {
    t.emulator.setFaults({});
    await client.ModifyEventConfig({ Mode: 'PULL' });
    await receiver.close();
  }
});

test('a job in flight when the emulator stops runs again after the restart', async () => {
  const fileId = await uploadViaApi(t, client, 'restart');
  t.emulator.setFaults({ processing: { delayMs: 10_000 } });
  const started = new Promise<ProcessingTask>((resolve) => t.emulator.processing.once('taskStarted', resolve));
  const { TaskId } = await client.ProcessMedia({
    FileId: fileId,
    MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ['1s'] }] },
  });
  expect((await started).taskId).toBe(TaskId);
  expect((await client.DescribeTaskDetail({ TaskId: TaskId! })).Status).toBe('PROCESSING');
  const before = Date.now();
  await t.restart(); // the new emulator starts without the delay fault
  client = vodClient(t.emulator);
  expect(Date.now() - before).toBeLessThan(5_000); // close() does not wait for the job
  await t.emulator.processing.idle();
  const detail = await client.DescribeTaskDetail({ TaskId: TaskId! });
  expect(detail).toMatchObject({ Status: 'FINISH' });
  expect(detail.ProcedureTask!.MediaProcessResultSet![0]!.SnapshotByTimeOffsetTask).toMatchObject({ Status: 'SUCCESS' });
  expect(t.emulator.context.store.doc.tasks[TaskId!]!.attempts).toBe(2);
});

test('the pool runs at most `processing.concurrency` jobs at once', async () => {
  const t2 = await startTestEmulator({ processing: { concurrency: 2 }, faults: { processing: { delayMs: 300 } } });
  try {
    const client2 = vodClient(t2.emulator);
    const fileId = await uploadViaApi(t2, client2, 'pool');
    let running = 0;
    let most = 0;
    t2.emulator.processing.on('taskStarted', () => {
      running++;
      most = Math.max(most, running);
    });
    t2.emulator.processing.on('taskFinished', () => running--);
    for (let i = 0; i < 4; i++) {
      await client2.ProcessMedia({
        FileId: fileId,
        MediaProcessTask: { SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ['0.5s'] }] },
      });
    }
    await t2.emulator.processing.idle();
    expect(most).toBe(2);
    const { TaskSet } = await client2.DescribeTasks({ FileId: fileId, Limit: 3 });
    expect(TaskSet).toHaveLength(3);
    expect(TaskSet!.every((task) => task.Status === 'FINISH')).toBe(true);
  } finally {
    await t2.close();
  }
});

test('without a usable ffmpeg, subtasks fail with a message that says so', async () => {
  const t2 = await startTestEmulator({ ffmpegPath: '/nonexistent/ffmpeg' });
  try {
    const client2 = vodClient(t2.emulator);
    const fileId = await uploadViaApi(t2, client2, 'no-ffmpeg');
    const { TaskId } = await client2.ProcessMedia({
      FileId: fileId,
      MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100010 }] },
    });
    await t2.emulator.processing.idle();
    const detail = await client2.DescribeTaskDetail({ TaskId: TaskId! });
    expect(detail.Status).toBe('FINISH');
    expect(detail.ProcedureTask!.MediaProcessResultSet![0]!.TranscodeTask).toMatchObject({
      Status: 'FAIL',
      ErrCodeExt: 'InternalError',
      Message: expect.stringContaining('cannot run ffmpeg (/nonexistent/ffmpeg)'),
    });
  } finally {
    await t2.close();
  }
});

test('SubAppId: tasks belong to the sub-application of their media', async () => {
  const t2 = await startTestEmulator({ subAppIds: [1500000777] });
  try {
    const client2 = vodClient(t2.emulator);
    const fileId = await uploadViaApi(t2, client2, 'sub', CLIP, 1500000777);
    const task = { FileId: fileId, MediaProcessTask: { ImageSpriteTaskSet: [{ Definition: 10 }] }, SessionId: 's' };
    await expect(client2.ProcessMedia(task)).rejects.toMatchObject({ code: 'ResourceNotFound.FileNotExist' });
    const { TaskId } = await client2.ProcessMedia({ ...task, SubAppId: 1500000777 });
    expect(TaskId).toMatch(/^1500000777-procedurev2-/);
    await t2.emulator.processing.idle();
    await expect(client2.DescribeTaskDetail({ TaskId: TaskId! })).rejects.toMatchObject({ code: 'InvalidParameterValue.TaskId' });
    expect((await client2.DescribeTaskDetail({ TaskId: TaskId!, SubAppId: 1500000777 })).Status).toBe('FINISH');
    expect((await client2.DescribeTasks({ FileId: fileId })).TaskSet).toEqual([]);
    expect((await client2.DescribeTasks({ FileId: fileId, SubAppId: 1500000777 })).TaskSet).toHaveLength(1);
  } finally {
    await t2.close();
  }
});
