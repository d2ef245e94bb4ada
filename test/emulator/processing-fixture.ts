/**
 * Shared set-up for the emulator's processing suites (processing*.test.ts): one emulator per file whose events
 * are all recorded, a work folder for generated and downloaded files, and helpers that wait for a task and
 * pick one result out of it.
 */
import fs from 'node:fs';
import { startTestEmulator, tempDir, vodClient } from './helpers';
import type { TestEmulator, VodClient } from './helpers';

export const work = tempDir('vod-emulator-processing-');
/** The file's emulator and its client; set by useProcessingEmulator's beforeAll (live import bindings). */
export let t: TestEmulator;
export let client: VodClient;
export const events: Record<string, any>[] = [];

/**
 * Makes the file's inputs (`prepare`, before the emulator starts), then starts the emulator and records its
 * events; stops it and removes the work folder after the file's tests. Real ffmpeg is slow: 60 s a test.
 */
export function useProcessingEmulator(prepare: () => Promise<void> | void = () => {}): void {
  jest.setTimeout(60_000);
  beforeAll(async () => {
    await prepare();
    t = await startTestEmulator();
    client = vodClient(t.emulator);
    t.emulator.events.on('event', (e) => events.push(e.content));
  });
  afterAll(async () => {
    await t?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });
}

export const procedureEvents = (taskId: string) =>
  events.filter((e) => e.EventType === 'ProcedureStateChanged' && e.ProcedureStateChangeEvent.TaskId === taskId);

export async function finished(taskId: string) {
  await t.emulator.processing.idle();
  const detail = await client.DescribeTaskDetail({ TaskId: taskId });
  expect(detail).toMatchObject({ TaskType: 'Procedure', Status: 'FINISH' });
  return detail.ProcedureTask!;
}

export function result(task: { MediaProcessResultSet?: any[] }, type: string, definition?: number): any {
  const field = {
    Transcode: 'TranscodeTask',
    SnapshotByTimeOffset: 'SnapshotByTimeOffsetTask',
    SampleSnapshot: 'SampleSnapshotTask',
    ImageSprites: 'ImageSpriteTask',
    CoverBySnapshot: 'CoverBySnapshotTask',
    AnimatedGraphics: 'AnimatedGraphicTask',
    AdaptiveDynamicStreaming: 'AdaptiveDynamicStreamingTask',
  }[type]!;
  const entry = task.MediaProcessResultSet!.find(
    (r) => r.Type === type && (definition === undefined || r[field].Input.Definition === definition),
  );
  expect(entry).toBeDefined();
  return entry[field];
}
