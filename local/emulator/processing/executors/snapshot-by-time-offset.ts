/** Time-offset snapshots (`SnapshotByTimeOffsetTaskSet`): one JPG at each of the given times. */
import { SNAPSHOT_DEFINITIONS } from '../../templates.ts';
import { definitionOf } from '../execution.ts';
import type { Executor } from '../execution.ts';
import type { OutputFile } from '../publish.ts';
import { snapshot, watermarkDefinitions } from '../snapshot.ts';
import { invalidInput } from '../subtask-error.ts';

/** `"3.5s"` / `"10%"` → seconds. */
function offsetSeconds(value: string, duration: number): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|%)\s*$/.exec(value);
  if (!m)
    throw invalidInput(`the time offset ${JSON.stringify(value)} is not like "3.5s" or "10%"`, 'InvalidInput.InvalidTimeOffset');
  return m[2] === '%' ? (Number(m[1]) / 100) * duration : Number(m[1]);
}

export const snapshotByTimeOffset: Executor = async (e) => {
  const definition = definitionOf(e.input);
  if (!SNAPSHOT_DEFINITIONS.has(definition))
    throw invalidInput(`the snapshot template ${definition} does not exist`, 'InvalidInput.DefinitionNotExist');
  const times: number[] = [];
  for (const v of (e.input.ExtTimeOffsetSet as string[] | undefined) ?? []) times.push(offsetSeconds(v, e.source.duration));
  for (const ms of (e.input.TimeOffsetSet as number[] | undefined) ?? []) times.push(ms / 1000);
  if (times.length === 0) throw invalidInput('give ExtTimeOffsetSet or TimeOffsetSet', 'InvalidInput.InvalidTimeOffset');
  const files: OutputFile[] = [];
  for (const [i, t] of times.entries()) {
    files.push(await snapshot(e, t, `snapshotByTimeOffset.${definition}_${i}_${Math.round(t * 1000)}.jpg`));
    e.onProgress((i + 1) / times.length);
  }
  const watermarks = watermarkDefinitions(e.input);
  return {
    kind: 'snapshotByTimeOffset',
    definition,
    files,
    output: (published) => ({
      Definition: definition,
      PicInfoSet: files.map((f, i) => ({
        TimeOffset: Math.round(times[i]! * 1000),
        Url: published.get(f.name)!.url,
        WaterMarkDefinition: watermarks,
      })),
    }),
  };
};
