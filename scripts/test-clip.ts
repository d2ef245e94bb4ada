/** A synthetic H.264 (+ AAC) clip made with ffmpeg's test sources: for the demo and the tests. */
import { execFileSync } from 'node:child_process';
import ffmpeg from '@ffmpeg-installer/ffmpeg';

export function makeTestClip(
  file: string,
  options: { width: number; height: number; seconds: number; fps?: number; audio?: boolean },
): string {
  const { width, height, seconds, fps = 25, audio = true } = options;
  const audioArgs = audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`] : [];
  execFileSync(process.env.FFMPEG_PATH || ffmpeg.path, [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`,
    ...audioArgs,
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    ...(audio ? ['-c:a', 'aac', '-shortest'] : []),
    file,
  ]);
  return file;
}
