/**
 * Running ffmpeg: which binaries (below), progress, cancellation. The emulator prefers a system
 * `ffmpeg`/`ffprobe` of version 5 or newer (Debian's package; `.ci/run` installs it) and falls back to the
 * packaged static builds (@ffmpeg-installer: a 2018 ffmpeg; @ffprobe-installer: an ffprobe that crashes on
 * MPEG-TS, so HLS outputs are then described from `ffmpeg -i`). `EMULATOR_FFMPEG=system|packaged` forces
 * one; `FFMPEG_PATH` / `FFPROBE_PATH` (or the emulator's options) name binaries outright.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export type FfmpegKind = 'system' | 'packaged' | 'explicit';

export interface FfmpegTools {
  kind: FfmpegKind;
  ffmpeg: string;
  ffprobe: string;
  /** ffmpeg's `-version` string, e.g. `5.1.9-0+deb12u1` or `N-47683-g0e8eb07980-static`. */
  version: string;
  /** ffprobe reads MPEG-TS (HLS segments) without crashing: true for version 5 and newer. */
  probesMpegTs: boolean;
  /** Why this one, for the log line. */
  reason: string;
}

export interface FfmpegCandidates {
  /** `ffmpeg` and `ffprobe` found on PATH, if any. */
  system: { ffmpeg?: string; ffprobe?: string };
  packaged: () => { ffmpeg: string; ffprobe: string };
}

const MIN_SYSTEM_MAJOR = 5;

/** The version word of `<binary> -version` (`ffmpeg version 5.1.9-0+deb12u1 Copyright…`), if it runs. */
export function binaryVersion(binary: string): string | undefined {
  try {
    const first =
      execFileSync(binary, ['-version'], { timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .split('\n')[0] ?? '';
    return /version (\S+)/.exec(first)?.[1];
  } catch {
    return undefined;
  }
}

/** `5.1.9-0+deb12u1` → 5, `n6.0` → 6; git snapshots (`N-47683-…`) say nothing: undefined. */
export function majorVersion(version: string | undefined): number | undefined {
  const m = /^n?(\d+)\./.exec(version ?? '');
  return m ? Number(m[1]) : undefined;
}

function onPath(name: string, searchPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function defaultCandidates(env: Record<string, string | undefined>): FfmpegCandidates {
  return {
    system: { ffmpeg: onPath('ffmpeg', env.PATH), ffprobe: onPath('ffprobe', env.PATH) },
    packaged: () => ({
      ffmpeg: (require('@ffmpeg-installer/ffmpeg') as { path: string }).path,
      ffprobe: (require('@ffprobe-installer/ffprobe') as { path: string }).path,
    }),
  };
}

/**
 * Chooses the binaries. Pure but for `versionOf` (which runs them): tests pass their own candidates.
 * `EMULATOR_FFMPEG`: `auto` (default: system when both are version 5+, else packaged), `system` (an error
 * when there is none that new), `packaged`.
 */
export function selectFfmpegTools(
  env: Record<string, string | undefined> = process.env,
  candidates: FfmpegCandidates = defaultCandidates(env),
  versionOf: (binary: string) => string | undefined = binaryVersion,
): FfmpegTools {
  const mode = env.EMULATOR_FFMPEG || 'auto';
  if (!['auto', 'system', 'packaged'].includes(mode))
    throw new Error(`EMULATOR_FFMPEG must be auto, system or packaged, got "${mode}"`);
  let tools: FfmpegTools | undefined;
  let why = 'EMULATOR_FFMPEG=packaged';
  if (mode !== 'packaged') {
    const { ffmpeg, ffprobe } = candidates.system;
    const versions = [ffmpeg, ffprobe].map((binary) => (binary ? versionOf(binary) : undefined));
    const majors = versions.map(majorVersion);
    if (ffmpeg && ffprobe && majors.every((major) => major !== undefined && major >= MIN_SYSTEM_MAJOR)) {
      tools = {
        kind: 'system',
        ffmpeg,
        ffprobe,
        version: versions[0]!,
        probesMpegTs: true,
        reason: mode === 'system' ? 'EMULATOR_FFMPEG=system' : `version ${MIN_SYSTEM_MAJOR}+ on PATH`,
      };
    } else {
      why =
        !ffmpeg || !ffprobe
          ? `no ${!ffmpeg ? 'ffmpeg' : 'ffprobe'} on PATH`
          : `the system ffmpeg/ffprobe (${versions.map((v) => v ?? 'unreadable').join(' / ')}) are older than ${MIN_SYSTEM_MAJOR}`;
      if (mode === 'system') throw new Error(`EMULATOR_FFMPEG=system, but ${why} (Debian: apt-get install ffmpeg)`);
    }
  }
  if (!tools) {
    const packaged = candidates.packaged();
    tools = { kind: 'packaged', ...packaged, version: versionOf(packaged.ffmpeg) ?? 'unknown', probesMpegTs: false, reason: why };
  }
  if (env.FFMPEG_PATH || env.FFPROBE_PATH) {
    const ffprobe = env.FFPROBE_PATH || tools.ffprobe;
    const ffmpeg = env.FFMPEG_PATH || tools.ffmpeg;
    const probeMajor = majorVersion(versionOf(ffprobe));
    tools = {
      kind: 'explicit',
      ffmpeg,
      ffprobe,
      version: versionOf(ffmpeg) ?? 'unknown',
      probesMpegTs: probeMajor !== undefined && probeMajor >= MIN_SYSTEM_MAJOR,
      reason: 'FFMPEG_PATH/FFPROBE_PATH',
    };
  }
  return tools;
}

let selected: FfmpegTools | undefined;

/** This process's choice, made once. */
export function ffmpegTools(): FfmpegTools {
  selected ??= selectFfmpegTools();
  return selected;
}

/** One line for the log: which binaries, which version, and why. */
export function describeFfmpegTools(tools: FfmpegTools): string {
  const hls = tools.probesMpegTs
    ? 'HLS described with ffprobe'
    : 'HLS described with ffmpeg -i (this ffprobe crashes on MPEG-TS)';
  return `ffmpeg: ${tools.kind} ${tools.ffmpeg} (${tools.version}), ffprobe ${tools.ffprobe}; ${tools.reason}; ${hls}`;
}

export function ffmpegPath(explicit?: string): string {
  return explicit || ffmpegTools().ffmpeg;
}

export function ffprobePath(explicit?: string): string {
  return explicit || ffmpegTools().ffprobe;
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
    const full = [
      '-hide_banner',
      '-nostdin',
      '-y',
      '-v',
      'error',
      '-progress',
      'pipe:1',
      '-nostats',
      ...args.slice(0, -1),
      ...threads,
      ...args.slice(-1),
    ];
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
 * The first video and audio stream of `file` (an HLS playlist or segment too). With the selected
 * ffmpeg and an ffprobe that reads MPEG-TS (the system one), ffprobe; else as `ffmpeg -i` prints them,
 * since the packaged ffprobe crashes on MPEG-TS.
 */
export function readStreams(binary: string, file: string): Promise<StreamSummary> {
  const tools = ffmpegTools();
  if (binary === tools.ffmpeg && tools.probesMpegTs)
    return probeStreams(tools.ffprobe, file).catch(() => readStreamsWithFfmpeg(binary, file));
  return readStreamsWithFfmpeg(binary, file);
}

interface ProbedStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  sample_rate?: string;
  channel_layout?: string;
  channels?: number;
}

function rate(value: string | undefined): number {
  const m = /^(\d+)\/(\d+)$/.exec(value ?? '');
  return m && Number(m[2]) > 0 ? Math.round(Number(m[1]) / Number(m[2])) : 0;
}

/** ffprobe's reading, in the same shape as the `ffmpeg -i` one (channels as ffmpeg names them). */
export function probeStreams(ffprobe: string, file: string): Promise<StreamSummary> {
  return new Promise((resolve, reject) => {
    execFile(
      ffprobe,
      ['-v', 'error', '-print_format', 'json', '-show_streams', file],
      { timeout: 60_000, maxBuffer: 16 << 20 },
      (error, stdout) => {
        if (error) return reject(error);
        const streams = (JSON.parse(String(stdout)) as { streams?: ProbedStream[] }).streams ?? [];
        const summary: StreamSummary = {};
        const video = streams.find((s) => s.codec_type === 'video');
        const audio = streams.find((s) => s.codec_type === 'audio');
        if (video)
          summary.video = {
            codec: video.codec_name ?? '',
            width: video.width ?? 0,
            height: video.height ?? 0,
            fps: rate(video.avg_frame_rate) || rate(video.r_frame_rate),
          };
        if (audio)
          summary.audio = {
            codec: audio.codec_name ?? '',
            sampleRate: Number(audio.sample_rate ?? 0),
            channels: audio.channel_layout ?? String(audio.channels ?? ''),
          };
        resolve(summary);
      },
    );
  });
}

/** The first video and audio stream as `ffmpeg -i` prints them. */
export function readStreamsWithFfmpeg(binary: string, file: string): Promise<StreamSummary> {
  return new Promise((resolve) => {
    execFile(
      binary,
      ['-hide_banner', '-nostdin', '-i', file],
      { timeout: 60_000, maxBuffer: 4 << 20 },
      (_error, _stdout, stderr) => {
        const summary: StreamSummary = {};
        for (const line of String(stderr).split('\n')) {
          const video = /Stream #\d+:\d+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})(?:[ ,].*?(\d+(?:\.\d+)?) fps)?/.exec(line);
          if (video && !summary.video)
            summary.video = {
              codec: video[1]!,
              width: Number(video[2]),
              height: Number(video[3]),
              fps: Math.round(Number(video[4] ?? 0)),
            };
          const audio = /Stream #\d+:\d+.*?: Audio: (\w+).*?, (\d+) Hz, ([\w.()]+)/.exec(line);
          if (audio && !summary.audio) summary.audio = { codec: audio[1]!, sampleRate: Number(audio[2]), channels: audio[3]! };
        }
        resolve(summary);
      },
    );
  });
}
