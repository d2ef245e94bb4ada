/** What an executor gets (the source, the subtask's input, a work folder) and the steps every executor uses. */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { EmulatorContext } from '../context.ts';
import { ffmpegPath, runFfmpeg } from '../ffmpeg.ts';
import { probeMedia } from '../probe.ts';
import { md5File } from './publish.ts';
import type { SubtaskResult } from './publish.ts';
import type { Source } from './source.ts';
import { SubtaskError } from './subtask-error.ts';

/** One ffmpeg command that finished: its arguments, folder and wall time. */
export interface FfmpegCommand {
  args: string[];
  cwd: string;
  ms: number;
  ok: boolean;
}

export interface ExecContext {
  ctx: EmulatorContext;
  source: Source;
  input: Record<string, unknown>;
  dir: string;
  signal: AbortSignal;
  onProgress: (fraction: number) => void;
  onCommand: (command: FfmpegCommand) => void;
  /** Every ffmpeg started for the subtask (the pool's reaper lists it). */
  onSpawn?: (child: ChildProcess) => void;
}

export type Executor = (e: ExecContext) => Promise<SubtaskResult>;

/** Runs one ffmpeg command in the work folder; its failure fails the subtask (InternalError, with ffmpeg's message). */
export function run(e: ExecContext, args: string[], durationSeconds?: number, onProgress?: (f: number) => void): Promise<void> {
  const started = performance.now();
  const report = (ok: boolean) => e.onCommand({ args, cwd: e.dir, ms: performance.now() - started, ok });
  return runFfmpeg(args, {
    binary: ffmpegPath(e.ctx.options.ffmpegPath),
    signal: e.signal,
    cwd: e.dir,
    durationSeconds,
    onProgress,
    threads: e.ctx.options.processing.threads,
    timeoutMs: e.ctx.options.processing.commandTimeoutMs,
    onSpawn: e.onSpawn,
  }).then(
    () => {
      report(true);
    },
    (error: unknown) => {
      report(false);
      throw new SubtaskError('InternalError', 70000, error instanceof Error ? error.message : String(error));
    },
  );
}

export function definitionOf(input: Record<string, unknown>): number {
  return Number(input.Definition);
}

export async function probeOutput(e: ExecContext, file: string): Promise<Record<string, unknown>> {
  const size = fs.statSync(file).size;
  const probe = await probeMedia(file, size, md5File(file), path.extname(file).slice(1), e.ctx.options.ffprobePath);
  return probe.metaData;
}

export function sizeOfAll(published: Map<string, { size: number }>, names: string[]): number {
  return names.reduce((sum, n) => sum + (published.get(n)?.size ?? 0), 0);
}
