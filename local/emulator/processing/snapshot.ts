/** One frame of the source as a JPG (time-offset snapshots, sample snapshots, covers). */
import fs from 'node:fs';
import path from 'node:path';
import { run } from './execution.ts';
import type { ExecContext } from './execution.ts';
import { videoGraph } from './filter-graph.ts';
import type { OutputFile } from './publish.ts';
import { invalidInput } from './subtask-error.ts';

/** Last seekable moment: a frame at or after the duration does not exist. */
const clampTime = (t: number, duration: number) => Math.max(0, duration > 0 ? Math.min(t, Math.max(0, duration - 0.1)) : t);

export async function snapshot(e: ExecContext, seconds: number, name: string, extra: string[] = []): Promise<OutputFile> {
  const at = clampTime(seconds, e.source.duration);
  const graph = videoGraph(e, undefined, extra, at);
  await run(e, [
    '-ss',
    at.toFixed(3),
    '-i',
    e.source.file,
    ...graph.args,
    '-filter_complex',
    graph.graph,
    '-map',
    '[vout]',
    '-frames:v',
    '1',
    '-q:v',
    '2',
    name,
  ]);
  const local = path.join(e.dir, name);
  if (!fs.existsSync(local)) throw invalidInput(`no frame at ${seconds} s`, 'InvalidInput.InvalidTimeOffset');
  return { local, name };
}

/** The WaterMarkDefinition list of a snapshot output: the definitions of the input's `WatermarkSet`. */
export function watermarkDefinitions(input: Record<string, unknown>): number[] {
  return Array.isArray(input.WatermarkSet) ? (input.WatermarkSet as { Definition: number }[]).map((w) => w.Definition) : [];
}
