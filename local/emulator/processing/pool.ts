/**
 * The worker pool of media processing (docs/vod-protocol/events.md §4.3, docs/vod-protocol/media-api.md §5.1–5.3): Procedure tasks made of
 * subtasks (transcode, snapshots, sprites, cover, GIF, adaptive HLS), run for real with ffmpeg by a
 * bounded worker pool off the request path.
 *
 * - Queue order: highest `TasksPriority` first, then submission order. Tasks and their subtask states
 *   are in the durable state document; a task in flight when the emulator stops is picked up again on
 *   the next start (its finished subtasks are kept, the others run again).
 * - Every subtask change is persisted, and announced as ProcedureStateChanged according to
 *   `TasksNotifyMode` (`Change`: each subtask start and finish, the last one folded into FINISH;
 *   `Finish`: once; `None`: never), through the normal PUSH/PULL event machinery.
 * - ffmpeg dies with the emulator: `close()` kills it, and if the process dies without closing
 *   (`kill -9`), the reaper's watcher kills it (reaper.ts).
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { EmulatorContext, NewTask, TaskQueue } from '../context.ts';
import { isoTime } from '../times.ts';
import { sleep } from '../sleep.ts';
import type { ProcessingTask, SubtaskRecord } from '../state.ts';
import type { FfmpegCommand } from './execution.ts';
import { EXECUTORS } from './executors/index.ts';
import { publish } from './publish.ts';
import { Reaper } from './reaper.ts';
import type { SubtaskResult } from './publish.ts';
import { loadSource } from './source.ts';
import { SubtaskError } from './subtask-error.ts';
import { procedureTaskView } from './task-views.ts';

export interface ProcessorEvents {
  taskStarted: [ProcessingTask];
  taskFinished: [ProcessingTask];
  subtaskChanged: [ProcessingTask, SubtaskRecord];
  /** One ffmpeg command finished (benchmarks replay them): its arguments, folder and wall time. */
  command: [FfmpegCommand];
}

export class Processor extends EventEmitter<ProcessorEvents> implements TaskQueue {
  private readonly running = new Map<string, { promise: Promise<void>; abort: AbortController }>();
  private paused: boolean;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly reaper: Reaper;

  constructor(private readonly ctx: EmulatorContext) {
    super();
    this.reaper = new Reaper(ctx.options.log);
    this.paused = ctx.options.processing.startPaused;
  }

  /** Puts tasks that were in flight when the emulator stopped back in the queue, and starts work. */
  start(): void {
    const interrupted = Object.values(this.ctx.store.doc.tasks).filter((t) => t.status === 'PROCESSING');
    if (interrupted.length > 0) {
      this.ctx.store.update(() => {
        for (const task of interrupted) {
          task.status = 'WAITING';
          for (const s of task.subtasks) {
            if (s.status === 'PROCESSING') Object.assign(s, { started: false, progress: 0, beginProcessTime: '' });
          }
        }
      });
      this.ctx.options.log(`processing: ${interrupted.length} interrupted task(s) queued again`);
    }
    this.pump();
  }

  /** Queues a new task (already validated) and persists it before returning. */
  submit(task: NewTask, sessionKey?: string): ProcessingTask {
    const full = this.ctx.store.update((doc) => {
      const record: ProcessingTask = { ...task, seq: ++doc.taskSeq, status: 'WAITING', attempts: 0, createdAt: this.ctx.now() };
      doc.tasks[record.taskId] = record;
      if (sessionKey) doc.sessionIds[sessionKey] = { taskId: record.taskId, usedAt: this.ctx.now() };
      this.purgeOld(doc.tasks, doc.sessionIds);
      return record;
    });
    // Off the request path: the reply goes out before any work starts.
    setImmediate(() => this.pump());
    return full;
  }

  private purgeOld(tasks: Record<string, ProcessingTask>, sessionIds: Record<string, { usedAt: number }>): void {
    const { taskRetentionMs, sessionIdWindowMs, procedureSessionIdWindowMs } = this.ctx.options.processing;
    const now = this.ctx.now();
    for (const [id, t] of Object.entries(tasks))
      if ((t.status === 'FINISH' || t.status === 'ABORTED') && now - t.createdAt > taskRetentionMs) delete tasks[id];
    const window = Math.max(sessionIdWindowMs, procedureSessionIdWindowMs);
    for (const [key, s] of Object.entries(sessionIds)) if (now - s.usedAt > window) delete sessionIds[key];
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  /** Resolves when no task is waiting or running (tests). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return (
      this.running.size === 0 &&
      (this.paused || this.closed || !Object.values(this.ctx.store.doc.tasks).some((t) => t.status === 'WAITING'))
    );
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private next(): ProcessingTask | undefined {
    let best: ProcessingTask | undefined;
    for (const t of Object.values(this.ctx.store.doc.tasks)) {
      if (t.status !== 'WAITING' || this.running.has(t.taskId)) continue;
      if (!best || t.priority > best.priority || (t.priority === best.priority && t.seq < best.seq)) best = t;
    }
    return best;
  }

  private pump(): void {
    while (!this.closed && !this.paused && this.running.size < this.ctx.options.processing.concurrency) {
      const task = this.next();
      if (!task) break;
      const abort = new AbortController();
      const promise = this.run(task, abort.signal)
        .catch((error: unknown) => {
          this.ctx.options.log(`processing ${task.taskId} crashed: ${error instanceof Error ? error.stack : String(error)}`);
          if (!abort.signal.aborted) this.failTask(task, error);
        })
        .finally(() => {
          this.running.delete(task.taskId);
          this.pump();
          this.checkIdle();
        });
      this.running.set(task.taskId, { promise, abort });
    }
    this.checkIdle();
  }

  /** Stops the pool: running ffmpeg commands are killed; their tasks stay PROCESSING and rerun on the next start. */
  async close(): Promise<void> {
    this.closed = true;
    for (const { abort } of this.running.values()) abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.promise));
    this.reaper.close();
    this.checkIdle();
  }

  /** An unexpected error: whatever had not finished fails, and the task finishes (never stuck). */
  private failTask(task: ProcessingTask, error: unknown): void {
    this.ctx.store.update(() => {
      for (const s of task.subtasks) {
        if (s.status !== 'PROCESSING') continue;
        Object.assign(s, {
          status: 'FAIL',
          errCode: 70000,
          errCodeExt: 'InternalError',
          message: `emulator error: ${error instanceof Error ? error.message : String(error)}`,
          progress: 0,
          finishTime: isoTime(this.ctx.now()),
        });
      }
      task.status = 'FINISH';
      task.finishAt = this.ctx.now();
    });
    this.notify(task, 'finish');
    this.emit('taskFinished', task);
  }

  private notify(task: ProcessingTask, change: 'subtask' | 'finish'): void {
    if (task.notifyMode === 'None') return;
    if (task.notifyMode === 'Finish' && change !== 'finish') return;
    this.ctx.events.emitVodEvent(
      task.appId,
      'ProcedureStateChanged',
      'ProcedureStateChangeEvent',
      procedureTaskView(this.ctx, task, true),
    );
  }

  private async run(task: ProcessingTask, signal: AbortSignal): Promise<void> {
    const ctx = this.ctx;
    if (ctx.faults.abortTask()) {
      ctx.store.update(() => {
        task.status = 'ABORTED';
        task.beginAt ??= ctx.now();
        task.finishAt = ctx.now();
      });
      ctx.options.log(`processing ${task.taskId} aborted (injected fault)`);
      this.emit('taskFinished', task);
      return;
    }
    ctx.store.update(() => {
      task.status = 'PROCESSING';
      task.beginAt ??= ctx.now();
      task.attempts += 1;
    });
    this.emit('taskStarted', task);
    const workDir = path.join(ctx.options.dataDir, 'processing', task.taskId);
    fs.rmSync(workDir, { recursive: true, force: true });
    fs.mkdirSync(workDir, { recursive: true });
    try {
      const source = await loadSource(ctx, task.fileId);
      for (const subtask of task.subtasks) {
        if (signal.aborted) return;
        if (subtask.status !== 'PROCESSING') continue;
        ctx.store.update(() => {
          subtask.started = true;
          subtask.beginProcessTime = isoTime(ctx.now());
          subtask.progress = 0;
        });
        this.emit('subtaskChanged', task, subtask);
        this.notify(task, 'subtask');
        const definition = typeof subtask.input.Definition === 'number' ? subtask.input.Definition : undefined;
        let lastSaved = 0;
        const onProgress = (fraction: number) => {
          const progress = Math.min(99, Math.floor(fraction * 100));
          if (progress <= subtask.progress || Date.now() - lastSaved < 1000) return;
          lastSaved = Date.now();
          ctx.store.update(() => {
            subtask.progress = progress;
          });
        };
        let result: SubtaskResult | undefined;
        let failure: SubtaskError | undefined;
        const subDir = path.join(workDir, String(task.subtasks.indexOf(subtask)));
        fs.mkdirSync(subDir, { recursive: true });
        try {
          const fault = ctx.faults.forSubtask(subtask.type, definition);
          if (fault.delayMs > 0) await sleep(fault.delayMs, signal);
          if (fault.fail)
            throw new SubtaskError('InternalError', 70000, `injected fault: ${subtask.type} definition ${definition} fails`);
          if (source instanceof SubtaskError) throw source;
          this.reaper.ready();
          result = await EXECUTORS[subtask.type]({
            ctx,
            source,
            input: subtask.input,
            dir: subDir,
            signal,
            onProgress,
            onCommand: (c) => this.emit('command', c),
            onSpawn: (child) => this.reaper.watch(child),
          });
        } catch (error) {
          if (signal.aborted) return;
          failure =
            error instanceof SubtaskError
              ? error
              : new SubtaskError('InternalError', 70000, error instanceof Error ? error.message : String(error));
        }
        if (signal.aborted) return;
        const last = task.subtasks.filter((s) => s.status === 'PROCESSING').length === 1;
        let published: Record<string, unknown> | undefined;
        if (result && !(source instanceof SubtaskError)) {
          try {
            published = publish(ctx, source.media, result);
          } catch (error) {
            failure =
              error instanceof SubtaskError
                ? error
                : new SubtaskError(
                    'InternalError',
                    70000,
                    `storing the output failed: ${error instanceof Error ? error.message : String(error)}`,
                  );
          }
        }
        if (published) {
          ctx.store.update(() => {
            Object.assign(subtask, {
              status: 'SUCCESS',
              errCode: 0,
              errCodeExt: '',
              message: 'SUCCESS',
              progress: 100,
              output: published,
              finishTime: isoTime(ctx.now()),
            });
          });
        } else {
          const f = failure ?? new SubtaskError('InternalError', 70000, 'no result');
          ctx.options.log(`processing ${task.taskId} ${subtask.type} ${definition} failed: ${f.errCodeExt}: ${f.message}`);
          ctx.store.update(() => {
            Object.assign(subtask, {
              status: 'FAIL',
              errCode: f.errCode,
              errCodeExt: f.errCodeExt,
              message: f.message,
              progress: 0,
              output: null,
              finishTime: isoTime(ctx.now()),
            });
          });
        }
        fs.rmSync(subDir, { recursive: true, force: true });
        this.emit('subtaskChanged', task, subtask);
        if (!last) this.notify(task, 'subtask');
      }
      if (signal.aborted) return;
      ctx.store.update(() => {
        task.status = 'FINISH';
        task.finishAt = ctx.now();
      });
      this.notify(task, 'finish');
      this.emit('taskFinished', task);
    } finally {
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  }
}
