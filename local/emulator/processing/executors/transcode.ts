/** Transcode (`TranscodeTaskSet`): one MP4 or HLS rendition of a transcode template. */
import { TRANSCODE_PRESETS } from '../../templates.ts';
import { describeHls, encode } from '../encode.ts';
import { definitionOf, probeOutput, sizeOfAll } from '../execution.ts';
import type { Executor } from '../execution.ts';
import { invalidInput } from '../subtask-error.ts';

export const transcode: Executor = async (e) => {
  const definition = definitionOf(e.input);
  const preset = TRANSCODE_PRESETS[definition];
  if (!preset)
    throw invalidInput(
      `the transcode template ${definition} does not exist (presets: ${Object.keys(TRANSCODE_PRESETS).join(', ')})`,
      'InvalidInput.DefinitionNotExist',
    );
  const base = `v.f${definition}`;
  const { files } = await encode(e, preset, base, e.onProgress);
  const hls = preset.package === 'hls';
  // HLS: not probeOutput, whose packaged ffprobe crashes on MPEG-TS (describeHls → readStreams, ffmpeg.ts).
  const meta = hls ? await describeHls(e, files[0]!.local, preset) : await probeOutput(e, files[0]!.local);
  return {
    kind: 'transcode',
    definition,
    files,
    output: (published) => {
      const main = published.get(files[0]!.name)!;
      return {
        Url: main.url,
        Definition: definition,
        Bitrate: hls
          ? Math.round(
              (sizeOfAll(
                published,
                files.map((f) => f.name),
              ) *
                8) /
                Math.max(0.001, Number(meta.Duration)),
            )
          : meta.Bitrate,
        Height: meta.Height,
        Width: meta.Width,
        Size: hls
          ? sizeOfAll(
              published,
              files.map((f) => f.name),
            )
          : main.size,
        Duration: meta.Duration,
        Md5: main.md5,
        Container: hls ? 'hls' : meta.Container,
        VideoStreamSet: meta.VideoStreamSet,
        AudioStreamSet: meta.AudioStreamSet,
        DigitalWatermarkType: 'None',
        CopyRightWatermarkText: '',
        BlindWatermarkDefinition: 0,
        FileId: '',
      };
    },
  };
};
