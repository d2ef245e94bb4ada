/** Encoding one rendition (an MP4 file, or an HLS playlist and its segments): transcodes and adaptive streams. */
import fs from 'node:fs';
import path from 'node:path';
import { ffmpegPath, readStreams } from '../ffmpeg.ts';
import type { TranscodePreset } from '../templates.ts';
import { run } from './execution.ts';
import type { ExecContext } from './execution.ts';
import { fitShortSide, videoGraph } from './filter-graph.ts';
import type { OutputFile } from './publish.ts';
import { invalidInput, SubtaskError } from './subtask-error.ts';

/**
 * A transcode's `StartTimeOffset`/`EndTimeOffset` (seconds; negative counts from the end; absent or
 * 0 for the end = the whole video), clamped to the source.
 */
function timeRange(input: Record<string, unknown>, duration: number): { start: number; end: number } {
  const at = (v: unknown, fallback: number) => {
    if (typeof v !== 'number') return fallback;
    return Math.min(duration, Math.max(0, v < 0 ? duration + v : v));
  };
  const start = at(input.StartTimeOffset, 0);
  const end = input.EndTimeOffset === 0 ? duration : at(input.EndTimeOffset, duration);
  if (!(end > start))
    throw invalidInput(
      `EndTimeOffset must be after StartTimeOffset (${start} s – ${end} s of a ${duration} s video)`,
      'InvalidInput.InvalidTimeOffset',
    );
  return { start, end };
}

/** Encodes one rendition (MP4 file or HLS playlist + segments) into `e.dir`. */
export async function encode(
  e: ExecContext,
  preset: TranscodePreset,
  baseName: string,
  onProgress: (f: number) => void,
): Promise<{ files: OutputFile[]; width: number; height: number }> {
  const s = e.source;
  const playlist = preset.package === 'hls';
  const outName = `${baseName}.${playlist ? 'm3u8' : 'mp4'}`;
  const container = playlist
    ? [
        '-f',
        'hls',
        '-hls_time',
        '10',
        '-hls_list_size',
        '0',
        '-hls_playlist_type',
        'vod',
        '-hls_segment_filename',
        `${baseName}_%03d.ts`,
      ]
    : ['-movflags', '+faststart'];
  let size: { width: number; height: number };
  if (preset.remux) {
    size = { width: s.width, height: s.height };
    await run(e, ['-i', s.file, '-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy', ...container, outName], s.duration, onProgress);
  } else {
    size = fitShortSide(s.width, s.height, preset.shortSide);
    const range = timeRange(e.input, s.duration);
    const graph = videoGraph(e, size, [], range.start);
    const fps = Math.min(25, s.fps || 25);
    const audio = s.hasAudio ? ['-c:a', 'aac', '-b:a', `${preset.audioKbps}k`, '-ar', '44100', '-ac', '2'] : [];
    const trim = [
      ...(range.start > 0 ? ['-ss', range.start.toFixed(3)] : []),
      ...(range.end < s.duration ? ['-t', (range.end - range.start).toFixed(3)] : []),
    ];
    await run(
      e,
      [
        ...trim,
        '-i',
        s.file,
        ...graph.args,
        '-filter_complex',
        graph.graph,
        '-map',
        '[vout]',
        '-map',
        '0:a:0?',
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-pix_fmt',
        'yuv420p',
        '-r',
        String(fps),
        '-g',
        String(fps * 2),
        '-b:v',
        `${preset.videoKbps}k`,
        '-maxrate',
        `${Math.round(preset.videoKbps * 1.5)}k`,
        '-bufsize',
        `${preset.videoKbps * 2}k`,
        ...audio,
        ...container,
        outName,
      ],
      range.end - range.start,
      onProgress,
    );
  }
  const files: OutputFile[] = [{ local: path.join(e.dir, outName), name: outName }];
  if (playlist) {
    for (const name of fs
      .readdirSync(e.dir)
      .filter((f) => f.startsWith(`${baseName}_`) && f.endsWith('.ts'))
      .sort())
      files.push({ local: path.join(e.dir, name), name });
  }
  if (!fs.existsSync(files[0]!.local)) throw new SubtaskError('InternalError', 70000, `ffmpeg produced no ${outName}`);
  return { files, ...size };
}

export async function describeHls(e: ExecContext, playlist: string, preset: TranscodePreset): Promise<Record<string, unknown>> {
  const info = await readStreams(ffmpegPath(e.ctx.options.ffmpegPath), playlist);
  const duration = playlistDuration(playlist);
  return {
    Width: info.video?.width ?? 0,
    Height: info.video?.height ?? 0,
    Duration: duration,
    Container: 'hls',
    Bitrate: 0,
    VideoStreamSet: info.video
      ? [
          {
            Bitrate: preset.videoKbps * 1000,
            Height: info.video.height,
            Width: info.video.width,
            Codec: info.video.codec,
            Fps: info.video.fps,
            CodecTag: '',
          },
        ]
      : [],
    AudioStreamSet: info.audio
      ? [{ Bitrate: preset.audioKbps * 1000, SamplingRate: info.audio.sampleRate, Codec: info.audio.codec }]
      : [],
  };
}

function playlistDuration(file: string): number {
  let total = 0;
  for (const m of fs.readFileSync(file, 'utf8').matchAll(/^#EXTINF:([\d.]+)/gm)) total += Number(m[1]);
  return Math.round(total * 1000) / 1000;
}
