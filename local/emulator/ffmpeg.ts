/** Running ffmpeg: the binary (npm package, `FFMPEG_PATH`, or an option), progress, cancellation. */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export function ffmpegPath(explicit?: string): string {
  if (explicit) return explicit;
  if (process.env.FFMPEG_PATH) return process.env.FFMPEG_PATH;
  return (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
}

class FfmpegError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export interface RunOptions {
  binary: string;
  signal?: AbortSignal;
  /** Seconds of media the command produces, for progress (0–1). */
  durationSeconds?: number;
  onProgress?: (fraction: number) => void;
  /** Hard limit per command. Default 10 min. */
  timeoutMs?: number;
  /** Encoder threads per command (0 = ffmpeg's choice). */
  threads?: number;
  /** Working directory: filter graphs name their files relative to it, so no path needs escaping. */
  cwd?: string;
  /** Called with the started process (the worker pool has it killed if the emulator dies). */
  onSpawn?: (child: ChildProcess) => void;
}

/** Runs ffmpeg with `args` (inputs and outputs); rejects with the tail of stderr when it fails. */
export function runFfmpeg(args: string[], options: RunOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new FfmpegError('cancelled', ''));
    const threads = options.threads ? ['-threads', String(options.threads)] : [];
    const full = ['-hide_banner', '-nostdin', '-y', '-v', 'error', '-progress', 'pipe:1', '-nostats', ...args.slice(0, -1), ...threads, ...args.slice(-1)];
    const child = spawn(options.binary, full, { stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd });
    options.onSpawn?.(child);
    let stderr = '';
    let stdoutBuffer = '';
    let settled = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
    const abort = () => child.kill('SIGKILL');
    options.signal?.addEventListener('abort', abort);
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
      if (error) reject(error);
      else resolve();
    };
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBuffer += chunk.toString('utf8');
      const lines = stdoutBuffer.split('\n');
      stdoutBuffer = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^out_time_(?:ms|us)=(\d+)/.exec(line);
        if (m && options.durationSeconds && options.onProgress) {
          options.onProgress(Math.min(1, Number(m[1]) / 1e6 / options.durationSeconds));
        }
      }
    });
    child.on('error', (error) => finish(new FfmpegError(`cannot run ffmpeg (${options.binary}): ${error.message}`, '')));
    child.on('close', (code, signal) => {
      if (code === 0) return finish();
      if (options.signal?.aborted) return finish(new FfmpegError('cancelled', stderr));
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      finish(new FfmpegError(`ffmpeg failed (${signal ?? `exit ${code}`}): ${tail || 'no message'}`, stderr));
    });
  });
}

export interface StreamSummary {
  video?: { codec: string; width: number; height: number; fps: number };
  audio?: { codec: string; sampleRate: number; channels: string };
}

/**
 * The first video and audio stream as `ffmpeg -i` prints them. Used where the packaged ffprobe is
 * unusable (it crashes on MPEG-TS, so on HLS segments and playlists).
 */
export function readStreams(binary: string, file: string): Promise<StreamSummary> {
  return new Promise((resolve) => {
    execFile(binary, ['-hide_banner', '-nostdin', '-i', file], { timeout: 60_000, maxBuffer: 4 << 20 }, (_error, _stdout, stderr) => {
      const summary: StreamSummary = {};
      for (const line of String(stderr).split('\n')) {
        const video = /Stream #\d+:\d+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})(?:[ ,].*?(\d+(?:\.\d+)?) fps)?/.exec(line);
        if (video && !summary.video) summary.video = { codec: video[1]!, width: Number(video[2]), height: Number(video[3]), fps: Math.round(Number(video[4] ?? 0)) };
        const audio = /Stream #\d+:\d+.*?: Audio: (\w+).*?, (\d+) Hz, ([\w.()]+)/.exec(line);
        if (audio && !summary.audio) summary.audio = { codec: audio[1]!, sampleRate: Number(audio[2]), channels: audio[3]! };
      }
      resolve(summary);
    });
  });
}
