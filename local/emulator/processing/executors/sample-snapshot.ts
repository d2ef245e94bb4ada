/** Sample snapshots (`SampleSnapshotTaskSet`): a JPG every interval (percent of the duration or seconds). */
import { SAMPLE_SNAPSHOT_PRESETS } from '../../templates.ts';
import { definitionOf } from '../execution.ts';
import type { Executor } from '../execution.ts';
import type { OutputFile } from '../publish.ts';
import { snapshot, watermarkDefinitions } from '../snapshot.ts';
import { invalidInput } from '../subtask-error.ts';

export const sampleSnapshot: Executor = async (e) => {
  const definition = definitionOf(e.input);
  const preset = SAMPLE_SNAPSHOT_PRESETS[definition];
  if (!preset) throw invalidInput(`the sample snapshot template ${definition} does not exist`, 'InvalidInput.DefinitionNotExist');
  const d = e.source.duration;
  const times: number[] = [];
  if (preset.sampleType === 'Percent') for (let p = 0; p < 100; p += preset.interval) times.push((p / 100) * d);
  else for (let t = 0; t < Math.max(d, 0.001); t += preset.interval) times.push(t);
  const files: OutputFile[] = [];
  for (const [i, t] of times.entries()) {
    files.push(await snapshot(e, t, `sampleSnapshot.${definition}_${i}.jpg`));
    e.onProgress((i + 1) / times.length);
  }
  const watermarks = watermarkDefinitions(e.input);
  return {
    kind: 'sampleSnapshot',
    definition,
    files,
    output: (published) => ({
      Definition: definition,
      SampleType: preset.sampleType,
      Interval: preset.interval,
      ImageUrlSet: files.map((f) => published.get(f.name)!.url),
      WaterMarkDefinition: watermarks,
    }),
  };
};
