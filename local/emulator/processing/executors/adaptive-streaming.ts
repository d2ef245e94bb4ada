/** Adaptive streaming (`AdaptiveDynamicStreamingTaskSet`): HLS renditions under one master playlist. */
import fs from 'node:fs';
import path from 'node:path';
import { ADAPTIVE_PRESETS, TRANSCODE_PRESETS } from '../../templates.ts';
import { encode } from '../encode.ts';
import { definitionOf, sizeOfAll } from '../execution.ts';
import type { Executor } from '../execution.ts';
import type { OutputFile } from '../publish.ts';
import { invalidInput } from '../subtask-error.ts';

export const adaptiveStreaming: Executor = async (e) => {
  const definition = definitionOf(e.input);
  const preset = ADAPTIVE_PRESETS[definition];
  if (!preset)
    throw invalidInput(
      `the adaptive streaming template ${definition} does not exist (preset: 10)`,
      'InvalidInput.DefinitionNotExist',
    );
  const sourceShort = Math.min(e.source.width, e.source.height);
  let renditions = preset.renditions.filter((d) => TRANSCODE_PRESETS[d]!.shortSide <= sourceShort);
  if (renditions.length === 0) renditions = preset.renditions.slice(0, 1);
  const base = `adp.${definition}`;
  const files: OutputFile[] = [];
  const streams: { name: string; names: string[]; width: number; height: number; bandwidth: number }[] = [];
  for (const [i, d] of renditions.entries()) {
    const p = TRANSCODE_PRESETS[d]!;
    const result = await encode(e, p, `${base}_${d}`, (f) => e.onProgress((i + f) / renditions.length));
    files.push(...result.files);
    streams.push({
      name: result.files[0]!.name,
      names: result.files.map((f) => f.name),
      width: result.width,
      height: result.height,
      bandwidth: (p.videoKbps + (e.source.hasAudio ? p.audioKbps : 0)) * 1000,
    });
  }
  const master = ['#EXTM3U', '#EXT-X-VERSION:3'];
  for (const s of streams) master.push(`#EXT-X-STREAM-INF:BANDWIDTH=${s.bandwidth},RESOLUTION=${s.width}x${s.height}`, s.name);
  const masterName = `${base}.m3u8`;
  fs.writeFileSync(path.join(e.dir, masterName), `${master.join('\n')}\n`);
  files.unshift({ local: path.join(e.dir, masterName), name: masterName });
  return {
    kind: 'adaptiveDynamicStreaming',
    definition,
    files,
    output: (published) => ({
      Definition: definition,
      Package: preset.package,
      DrmType: '',
      Url: published.get(masterName)!.url,
      Size: sizeOfAll(
        published,
        files.map((f) => f.name),
      ),
      DigitalWatermarkType: 'None',
      SubStreamSet: streams.map((s) => ({
        Type: 'video',
        Width: s.width,
        Height: s.height,
        Size: sizeOfAll(published, s.names),
      })),
      CopyRightWatermarkText: '',
      BlindWatermarkDefinition: 0,
      SubtitleSet: [],
      DefaultSubtitleId: '',
      DrmEncryptType: '',
    }),
  };
};
