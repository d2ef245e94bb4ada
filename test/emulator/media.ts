/** Media helpers for the processing tests: generate clips, download outputs, ffprobe them, read pixels. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ffmpegPath, readStreams } from '../../local/emulator/ffmpeg.ts';
import { ffprobePath } from '../../local/emulator/probe.ts';

const exec = promisify(execFile);
export const FFMPEG = ffmpegPath();
export const FFPROBE = ffprobePath();

export interface ClipSpec {
  width: number;
  height: number;
  seconds: number;
  audio: boolean;
  /** Written as container rotation metadata (display size swaps for 90/270). */
  rotate?: number;
}

/** A test clip: testsrc2 (moving, colourful, with a running timer) and an optional sine tone. */
export async function makeClip(file: string, spec: ClipSpec): Promise<string> {
  const plain = spec.rotate ? `${file}.plain.mp4` : file;
  const audio = spec.audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${spec.seconds}`] : [];
  await exec(FFMPEG, [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${spec.width}x${spec.height}:rate=25:duration=${spec.seconds}`,
    ...audio,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    ...(spec.audio ? ['-c:a', 'aac', '-shortest'] : []),
    plain,
  ]);
  if (spec.rotate) {
    await exec(FFMPEG, ['-v', 'error', '-y', '-i', plain, '-c', 'copy', '-metadata:s:v:0', `rotate=${spec.rotate}`, file]);
    fs.rmSync(plain);
  }
  return file;
}

/** Downloads a URL to `dir` and returns the local file. */
export async function download(url: string, dir: string): Promise<string> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`GET ${url} → ${response.status}`);
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}-${path.basename(new URL(url).pathname)}`);
  fs.writeFileSync(file, Buffer.from(await response.arrayBuffer()));
  return file;
}

export interface Probed {
  format: { format_name: string; duration?: string };
  streams: {
    codec_type: string;
    codec_name: string;
    width?: number;
    height?: number;
    sample_rate?: string;
    tags?: Record<string, string>;
    side_data_list?: { rotation?: number }[];
  }[];
}

export async function ffprobe(file: string): Promise<Probed> {
  const { stdout } = await exec(FFPROBE, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file]);
  return JSON.parse(stdout) as Probed;
}

export const videoStream = (p: Probed) => p.streams.find((s) => s.codec_type === 'video')!;
export const audioStream = (p: Probed) => p.streams.find((s) => s.codec_type === 'audio');

/** `ffmpeg -i` stream summary (the packaged ffprobe crashes on MPEG-TS). */
export const streamsOf = (file: string) => readStreams(FFMPEG, file);

/**
 * The RGB pixels of one frame (at `seconds`, or the only frame of an image), cropped to
 * `crop` (x, y, w, h in the frame's pixels) when given.
 */
export async function rgb(
  file: string,
  options: { seconds?: number; crop?: [number, number, number, number] } = {},
): Promise<Buffer> {
  const filters = options.crop ? [`crop=${options.crop[2]}:${options.crop[3]}:${options.crop[0]}:${options.crop[1]}`] : [];
  const seek = options.seconds === undefined ? [] : ['-ss', String(options.seconds)];
  const { stdout } = await exec(
    FFMPEG,
    [
      '-v',
      'error',
      ...seek,
      '-i',
      file,
      ...(filters.length ? ['-vf', filters.join(',')] : []),
      '-frames:v',
      '1',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      'pipe:1',
    ],
    { encoding: 'buffer', maxBuffer: 64 << 20 },
  );
  return stdout;
}

/** Mean absolute difference per channel value (0–255) of two equally sized RGB buffers. */
export function meanDiff(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** Mean colour of an RGB buffer. */
export function meanColour(buffer: Buffer): [number, number, number] {
  const sums = [0, 0, 0];
  for (let i = 0; i < buffer.length; i++) sums[i % 3]! += buffer[i]!;
  const n = buffer.length / 3;
  return [sums[0]! / n, sums[1]! / n, sums[2]! / n];
}
