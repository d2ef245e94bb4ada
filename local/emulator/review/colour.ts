/**
 * The mean colour of one frame, for the colour rules: ffmpeg scales the frame (the middle of a video, or an
 * image) down to 16×16 with area averaging and hands out the RGB pixels, which are averaged here.
 */
import { execFile } from 'node:child_process';

const SIDE = 16;

export function meanColour(
  ffmpeg: string,
  file: string,
  atSeconds: number | undefined,
  signal: AbortSignal,
): Promise<[number, number, number] | undefined> {
  const seek = atSeconds === undefined || atSeconds <= 0 ? [] : ['-ss', atSeconds.toFixed(3)];
  const args = ['-v', 'error', '-nostdin', ...seek, '-i', file, '-frames:v', '1'];
  args.push('-vf', `scale=${SIDE}:${SIDE}:flags=area`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1');
  return new Promise((resolve) => {
    execFile(ffmpeg, args, { encoding: 'buffer', timeout: 60_000, signal, maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error || stdout.length < 3) return resolve(undefined);
      const sums = [0, 0, 0];
      for (let i = 0; i + 2 < stdout.length; i += 3) {
        sums[0]! += stdout[i]!;
        sums[1]! += stdout[i + 1]!;
        sums[2]! += stdout[i + 2]!;
      }
      const n = Math.floor(stdout.length / 3);
      resolve([sums[0]! / n, sums[1]! / n, sums[2]! / n]);
    });
  });
}
