/** Animated graphics (`AnimatedGraphicTaskSet`): a GIF of a stretch of the video. */
import path from 'node:path';
import { ANIMATED_GRAPHIC_PRESETS } from '../../templates.ts';
import { definitionOf, probeOutput, run } from '../execution.ts';
import type { Executor } from '../execution.ts';
import { invalidInput } from '../subtask-error.ts';

export const animatedGraphic: Executor = async (e) => {
  const definition = definitionOf(e.input);
  const preset = ANIMATED_GRAPHIC_PRESETS[definition];
  if (!preset)
    throw invalidInput(`the animated graphic template ${definition} does not exist`, 'InvalidInput.DefinitionNotExist');
  const start = Number(e.input.StartTimeOffset ?? 0);
  const requestedEnd = Number(e.input.EndTimeOffset ?? 0);
  const end = e.source.duration > 0 ? Math.min(requestedEnd, e.source.duration) : requestedEnd;
  if (!(end > start) || start < 0)
    throw invalidInput(
      `EndTimeOffset (${requestedEnd}) must be after StartTimeOffset (${start}) and within the video`,
      'InvalidInput.InvalidTimeOffset',
    );
  const name = `animatedGraphic.${definition}_${start}_${end}.${preset.format}`;
  const graph = `[0:v]fps=${preset.fps},split[a][b];[a]palettegen[p];[b][p]paletteuse[vout]`;
  await run(
    e,
    [
      '-ss',
      String(start),
      '-t',
      String(end - start),
      '-i',
      e.source.file,
      '-filter_complex',
      graph,
      '-map',
      '[vout]',
      '-loop',
      '0',
      name,
    ],
    end - start,
    e.onProgress,
  );
  const local = path.join(e.dir, name);
  const meta = await probeOutput(e, local);
  return {
    kind: 'animatedGraphics',
    definition,
    files: [{ local, name }],
    output: (published) => {
      const f = published.get(name)!;
      return {
        Url: f.url,
        Definition: definition,
        Container: preset.format,
        Height: meta.Height,
        Width: meta.Width,
        Bitrate: Math.round((f.size * 8) / Math.max(0.001, end - start)),
        Size: f.size,
        Md5: f.md5,
        StartTimeOffset: start,
        EndTimeOffset: end,
      };
    },
  };
};
