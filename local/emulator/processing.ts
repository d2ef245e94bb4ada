/**
 * Media processing (vod-protocol.md §4.3, §5.1–5.3): Procedure tasks made of subtasks (transcode,
 * snapshots, sprites, cover, GIF, adaptive HLS), run for real with ffmpeg by a bounded worker pool off
 * the request path.
 *
 * - Queue order: highest `TasksPriority` first, then submission order. Tasks and their subtask states
 *   are in the durable state document; a task in flight when the emulator stops is picked up again on
 *   the next start (its finished subtasks are kept, the others run again).
 * - Every subtask change is persisted, and announced as ProcedureStateChanged according to
 *   `TasksNotifyMode` (`Change`: each subtask start and finish, the last one folded into FINISH;
 *   `Finish`: once; `None`: never), through the normal PUSH/PULL event machinery.
 * - Outputs are objects in the media's bucket, beside the original (`<dir>/v.f100010.mp4`, …), so the
 *   `/media/...` route serves them, and DescribeMediaInfos lists them.
 * - Errors (ErrCode/ErrCodeExt) follow VOD's media-processing error list: 40000 `InvalidInput`,
 *   `InvalidInput.DefinitionNotExist`, `InvalidInput.InvalidTimeOffset`; 60000 `SourceFileError`,
 *   `SourceFileError.NoVideoMedia`; 70000 `InternalError`.
 */
import { EventEmitter } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MEDIA_PROCESS_TASK_FIELDS } from '#lib/vod-event';
import type { EmulatorContext } from './context.ts';
import { mediaUrl } from './context.ts';
import { ffmpegPath, readStreams, runFfmpeg } from './ffmpeg.ts';
import { isoTime } from './http-util.ts';
import { probeMedia } from './probe.ts';
import { objectIndexKey } from './state.ts';
import type { DerivedEntry, DerivedKind, MediaRecord, ObjectMeta, ProcessingTask, SubtaskRecord, SubtaskType } from './state.ts';
import {
  ADAPTIVE_PRESETS,
  ANIMATED_GRAPHIC_PRESETS,
  COVER_DEFINITIONS,
  findFontFile,
  IMAGE_SPRITE_PRESETS,
  SAMPLE_SNAPSHOT_PRESETS,
  SNAPSHOT_DEFINITIONS,
  TRANSCODE_PRESETS,
} from './templates.ts';
import type { TranscodePreset, WatermarkTemplate } from './templates.ts';

/** `MediaProcessResultSet[].Type` → the field holding its result (the same table the backend parses with). */
export const RESULT_FIELDS: Record<SubtaskType, string> = MEDIA_PROCESS_TASK_FIELDS;

/** `MediaProcessTask.<X>TaskSet` → subtask type. */
export const TASK_SETS: Record<string, SubtaskType> = {
  TranscodeTaskSet: 'Transcode',
  AnimatedGraphicTaskSet: 'AnimatedGraphics',
  SnapshotByTimeOffsetTaskSet: 'SnapshotByTimeOffset',
  SampleSnapshotTaskSet: 'SampleSnapshot',
  ImageSpriteTaskSet: 'ImageSprites',
  CoverBySnapshotTaskSet: 'CoverBySnapshot',
  AdaptiveDynamicStreamingTaskSet: 'AdaptiveDynamicStreaming',
};

/** A subtask failure with VOD's codes. */
export class SubtaskError extends Error {
  constructor(
    readonly errCodeExt: string,
    readonly errCode: number,
    message: string,
  ) {
    super(message);
  }
}

const invalidInput = (message: string, ext = 'InvalidInput') => new SubtaskError(ext, 40000, message);
const sourceError = (message: string, ext = 'SourceFileError') => new SubtaskError(ext, 60000, message);

/** New task id: `<appId>-procedurev2-<32 hex>t0` (ProcessMedia) or `<appId>-Procedure-…` (procedures). */
export function newTaskId(appId: number, procedure: boolean): string {
  return `${appId}-${procedure ? 'Procedure' : 'procedurev2'}-${randomBytes(16).toString('hex')}t0`;
}

export function newSubtask(type: SubtaskType, input: Record<string, unknown>): SubtaskRecord {
  return { type, input, status: 'PROCESSING', started: false, errCode: 0, errCodeExt: '', message: '', progress: 0, output: null, beginProcessTime: '', finishTime: '' };
}

// ---------------------------------------------------------------------------------------------
// Views: the ProcedureTask of events and DescribeTaskDetail, TaskSimpleInfo of DescribeTasks

function subtaskView(subtask: SubtaskRecord): Record<string, unknown> {
  const entry: Record<string, unknown> = { Type: subtask.type };
  for (const field of Object.values(RESULT_FIELDS)) entry[field] = null;
  entry[RESULT_FIELDS[subtask.type]] = {
    Status: subtask.status,
    ErrCodeExt: subtask.errCodeExt,
    ErrCode: subtask.errCode,
    Message: subtask.message,
    Input: subtask.input,
    Output: subtask.output,
    Progress: subtask.progress,
    BeginProcessTime: subtask.beginProcessTime,
    FinishTime: subtask.finishTime,
  };
  return entry;
}

/** `ProcedureTask` (same shape in ProcedureStateChanged and DescribeTaskDetail). */
export function procedureTaskView(ctx: EmulatorContext, task: ProcessingTask, forEvent: boolean): Record<string, unknown> {
  const media = ctx.store.doc.media[task.fileId];
  const status = task.status === 'FINISH' ? 'FINISH' : forEvent ? 'PROCESSING' : task.status;
  return {
    TaskId: task.taskId,
    Status: status,
    ErrCode: 0,
    Message: '',
    FileId: task.fileId,
    FileName: media ? String(media.basicInfo.Name ?? '') : '',
    FileUrl: media ? String(media.basicInfo.MediaUrl ?? '') : '',
    MetaData: media?.metaData ?? null,
    MediaProcessResultSet: task.subtasks.map(subtaskView),
    AiContentReviewResultSet: [],
    AiAnalysisResultSet: [],
    AiRecognitionResultSet: [],
    TasksPriority: task.priority,
    TasksNotifyMode: task.notifyMode,
    SessionContext: task.sessionContext,
    SessionId: task.sessionId,
    Operator: '',
    OperationType: '',
  };
}

const timeOrEmpty = (ms: number | undefined) => (ms === undefined ? '' : isoTime(ms));

export function taskTimes(task: ProcessingTask) {
  return { CreateTime: isoTime(task.createdAt), BeginProcessTime: timeOrEmpty(task.beginAt), FinishTime: timeOrEmpty(task.finishAt) };
}

export function taskSimpleInfo(task: ProcessingTask): Record<string, unknown> {
  return { TaskId: task.taskId, Status: task.status, FileId: task.fileId, TaskType: 'Procedure', ...taskTimes(task), SessionId: task.sessionId, SessionContext: task.sessionContext };
}

// ---------------------------------------------------------------------------------------------
// The worker pool

export interface ProcessorEvents {
  taskStarted: [ProcessingTask];
  taskFinished: [ProcessingTask];
  subtaskChanged: [ProcessingTask, SubtaskRecord];
  /** One ffmpeg command finished (benchmarks replay them): its arguments, folder and wall time. */
  command: [{ args: string[]; cwd: string; ms: number; ok: boolean }];
}

export class Processor extends EventEmitter<ProcessorEvents> {
  private readonly running = new Map<string, { promise: Promise<void>; abort: AbortController }>();
  private paused: boolean;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly ctx: EmulatorContext) {
    super();
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
  submit(task: Omit<ProcessingTask, 'seq' | 'status' | 'attempts' | 'createdAt'>, sessionKey?: string): ProcessingTask {
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
    for (const [id, t] of Object.entries(tasks)) if (t.status === 'FINISH' && now - t.createdAt > taskRetentionMs) delete tasks[id];
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
    return this.running.size === 0 && (this.paused || this.closed || !Object.values(this.ctx.store.doc.tasks).some((t) => t.status === 'WAITING'));
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
    this.checkIdle();
  }

  /** An unexpected error: whatever had not finished fails, and the task finishes (never stuck). */
  private failTask(task: ProcessingTask, error: unknown): void {
    this.ctx.store.update(() => {
      for (const s of task.subtasks) {
        if (s.status !== 'PROCESSING') continue;
        Object.assign(s, { status: 'FAIL', errCode: 70000, errCodeExt: 'InternalError', message: `emulator error: ${error instanceof Error ? error.message : String(error)}`, progress: 0, finishTime: isoTime(this.ctx.now()) });
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
    this.ctx.events.emitVodEvent(task.appId, 'ProcedureStateChanged', 'ProcedureStateChangeEvent', procedureTaskView(this.ctx, task, true));
  }

  private async run(task: ProcessingTask, signal: AbortSignal): Promise<void> {
    const ctx = this.ctx;
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
          if (fault.fail) throw new SubtaskError('InternalError', 70000, `injected fault: ${subtask.type} definition ${definition} fails`);
          if (source instanceof SubtaskError) throw source;
          result = await EXECUTORS[subtask.type]({ ctx, source, input: subtask.input, dir: subDir, signal, onProgress });
        } catch (error) {
          if (signal.aborted) return;
          failure = error instanceof SubtaskError ? error : new SubtaskError('InternalError', 70000, error instanceof Error ? error.message : String(error));
        }
        if (signal.aborted) return;
        const last = task.subtasks.filter((s) => s.status === 'PROCESSING').length === 1;
        let published: Record<string, unknown> | undefined;
        if (result && !(source instanceof SubtaskError)) {
          try {
            published = publish(ctx, source.media, result);
          } catch (error) {
            failure = error instanceof SubtaskError ? error : new SubtaskError('InternalError', 70000, `storing the output failed: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
        if (published) {
          ctx.store.update(() => {
            Object.assign(subtask, { status: 'SUCCESS', errCode: 0, errCodeExt: '', message: 'SUCCESS', progress: 100, output: published, finishTime: isoTime(ctx.now()) });
          });
        } else {
          const f = failure ?? new SubtaskError('InternalError', 70000, 'no result');
          ctx.options.log(`processing ${task.taskId} ${subtask.type} ${definition} failed: ${f.errCodeExt}: ${f.message}`);
          ctx.store.update(() => {
            Object.assign(subtask, { status: 'FAIL', errCode: f.errCode, errCodeExt: f.errCodeExt, message: f.message, progress: 0, output: null, finishTime: isoTime(ctx.now()) });
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

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

// ---------------------------------------------------------------------------------------------
// The source

interface Source {
  media: MediaRecord;
  file: string;
  /** Displayed size (rotation applied). */
  width: number;
  height: number;
  duration: number;
  fps: number;
  hasAudio: boolean;
  /** Folder of the original's key: outputs go beside it. */
  dir: string;
}

async function loadSource(ctx: EmulatorContext, fileId: string): Promise<Source | SubtaskError> {
  const media = ctx.store.doc.media[fileId];
  if (!media) return sourceError(`the media ${fileId} no longer exists`);
  if (!media.videoKey) return sourceError('the original file was deleted (DeleteMedia OriginalFiles); it cannot be processed');
  const meta = ctx.store.doc.objects[objectIndexKey(media.bucket, media.videoKey)];
  if (!meta || !fs.existsSync(meta.file)) return sourceError('the original file is missing from storage');
  const probe = await probeMedia(meta.file, meta.size, meta.md5, String(media.basicInfo.Type ?? ''), ctx.options.ffprobePath);
  const m = probe.metaData as { Width: number; Height: number; Rotate: number; Duration: number; VideoStreamSet: { Fps: number }[]; AudioStreamSet: unknown[] };
  if (m.VideoStreamSet.length === 0 && m.AudioStreamSet.length === 0) {
    return sourceError('the source file is not a media file ffmpeg can read (no audio or video stream found); it may be corrupt or of another type');
  }
  if (m.VideoStreamSet.length === 0 || !m.Width || !m.Height) return sourceError('the source file has no video stream', 'SourceFileError.NoVideoMedia');
  const rotated = m.Rotate % 180 === 90;
  return {
    media,
    file: meta.file,
    width: rotated ? m.Height : m.Width,
    height: rotated ? m.Width : m.Height,
    duration: m.Duration > 0 ? m.Duration : 0,
    fps: m.VideoStreamSet[0]?.Fps || 25,
    hasAudio: m.AudioStreamSet.length > 0,
    dir: path.posix.dirname(media.videoKey),
  };
}

// ---------------------------------------------------------------------------------------------
// Publishing outputs

interface OutputFile {
  /** Local file in the work dir. */
  local: string;
  /** File name beside the original. */
  name: string;
}

interface SubtaskResult {
  kind: DerivedKind;
  definition: number;
  files: OutputFile[];
  /** Builds the Output (and the DescribeMediaInfos item) from the published files' URLs and metadata. */
  output: (published: Map<string, ObjectMeta & { url: string }>) => Record<string, unknown>;
  /** The item listed in DescribeMediaInfos; default the Output. */
  item?: (output: Record<string, unknown>) => Record<string, unknown>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.vtt': 'text/vtt',
};

function md5File(file: string): string {
  return createHash('md5').update(fs.readFileSync(file)).digest('hex');
}

/** Moves the outputs into object storage, records them on the media and returns the subtask Output. */
function publish(ctx: EmulatorContext, media: MediaRecord, result: SubtaskResult): Record<string, unknown> {
  if (!ctx.store.doc.media[media.fileId]) throw sourceError('the media was deleted while it was being processed');
  const published = new Map<string, ObjectMeta & { url: string }>();
  const metas: ObjectMeta[] = [];
  for (const f of result.files) {
    const key = `${path.posix.dirname(media.videoKey ?? `${media.fileId}/x`)}/${f.name}`;
    const target = ctx.files.objectPath(media.bucket, key);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const md5 = md5File(f.local);
    const size = fs.statSync(f.local).size;
    fs.renameSync(f.local, target);
    const meta: ObjectMeta = {
      bucket: media.bucket,
      key,
      size,
      etag: `"${md5}"`,
      md5,
      contentType: CONTENT_TYPES[path.extname(f.name)] ?? 'application/octet-stream',
      lastModified: ctx.now(),
      file: target,
    };
    metas.push(meta);
    published.set(f.name, { ...meta, url: mediaUrl(ctx, `/${key}`) });
  }
  const output = result.output(published);
  // `output` may have written a file (the sprite's WebVTT names the published URLs).
  for (const meta of metas) {
    const size = fs.statSync(meta.file).size;
    if (size !== meta.size || meta.size === 0) Object.assign(meta, { size, md5: md5File(meta.file), etag: `"${md5File(meta.file)}"` });
  }
  const item = result.item ? result.item(output) : output;
  const keys = metas.map((m) => m.key);
  const stale: string[] = [];
  ctx.store.update((doc) => {
    for (const meta of metas) doc.objects[objectIndexKey(meta.bucket, meta.key)] = meta;
    const current = doc.media[media.fileId];
    if (!current) return;
    const derived = (current.derived ??= []);
    const previous = derived.findIndex((d) => d.kind === result.kind && d.definition === result.definition);
    const entry: DerivedEntry = { kind: result.kind, definition: result.definition, item, keys };
    if (previous >= 0) {
      for (const key of derived[previous]!.keys) if (!keys.includes(key)) stale.push(key);
      derived[previous] = entry;
    } else {
      derived.push(entry);
    }
    for (const key of stale) {
      const meta = doc.objects[objectIndexKey(current.bucket, key)];
      if (meta) ctx.files.remove(meta.file);
      delete doc.objects[objectIndexKey(current.bucket, key)];
    }
    if (result.kind === 'cover' && typeof output.CoverUrl === 'string') {
      current.basicInfo.CoverUrl = output.CoverUrl;
      current.basicInfo.UpdateTime = isoTime(ctx.now());
    }
  });
  return output;
}

/** Removes derived files (all, or those of some kinds/definitions) of a media. */
export function deleteDerived(ctx: EmulatorContext, media: MediaRecord, match: (entry: DerivedEntry) => boolean): DerivedEntry[] {
  const removed = (media.derived ?? []).filter(match);
  if (removed.length === 0) return [];
  ctx.store.update((doc) => {
    media.derived = (media.derived ?? []).filter((e) => !match(e));
    for (const entry of removed) {
      for (const key of entry.keys) {
        const meta = doc.objects[objectIndexKey(media.bucket, key)];
        if (meta) ctx.files.remove(meta.file);
        delete doc.objects[objectIndexKey(media.bucket, key)];
      }
    }
  });
  return removed;
}

// ---------------------------------------------------------------------------------------------
// ffmpeg building blocks

interface ExecContext {
  ctx: EmulatorContext;
  source: Source;
  input: Record<string, unknown>;
  dir: string;
  signal: AbortSignal;
  onProgress: (fraction: number) => void;
}

type Executor = (e: ExecContext) => Promise<SubtaskResult>;

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/** Output size for a preset: short side = min(preset, source) (never upscale), aspect ratio kept. */
export function fitShortSide(width: number, height: number, shortSide: number): { width: number; height: number } {
  const sourceShort = Math.min(width, height);
  const target = Math.min(shortSide, sourceShort);
  const scale = target / sourceShort;
  return { width: even(width * scale), height: even(height * scale) };
}

/** Pixels from `12` or `'5%'` (of `base`). */
function px(value: number | string | undefined, base: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return Math.round(value);
  const m = /^(\d+(?:\.\d+)?)(%|px)?$/.exec(value.trim());
  if (!m) return fallback;
  return m[2] === '%' ? Math.round((Number(m[1]) / 100) * base) : Math.round(Number(m[1]));
}

interface GraphInput {
  /** Extra `-i` inputs (after the source, which is input 0). */
  args: string[];
  /** Filter chains, ending in `[vout]`. */
  graph: string;
}

/**
 * The filter graph for the source video: optional scale, then each watermark of `WatermarkSet`
 * (image templates overlay their PNG; text templates drawtext), ending in `[vout]`. Files the graph
 * needs are linked into `dir`, which ffmpeg runs in, so their names need no escaping.
 */
function videoGraph(e: ExecContext, size: { width: number; height: number } | undefined, extra: string[] = [], seekSeconds = 0): GraphInput {
  const chains: string[] = [];
  const args: string[] = [];
  let label = '0:v';
  let n = 0;
  const next = () => `v${n++}`;
  const width = size?.width ?? e.source.width;
  const height = size?.height ?? e.source.height;
  if (size) {
    const out = next();
    chains.push(`[${label}]scale=${size.width}:${size.height}:flags=bicubic,setsar=1[${out}]`);
    label = out;
  }
  const watermarks = Array.isArray(e.input.WatermarkSet) ? (e.input.WatermarkSet as Record<string, unknown>[]) : [];
  watermarks.forEach((w, i) => {
    const definition = Number(w.Definition);
    const template: WatermarkTemplate | undefined = e.ctx.options.watermarkTemplates[definition];
    if (!template) throw invalidInput(`the watermark template ${definition} does not exist`, 'InvalidInput.DefinitionNotExist');
    const start = typeof w.StartTimeOffset === 'number' ? w.StartTimeOffset : undefined;
    const end = typeof w.EndTimeOffset === 'number' && w.EndTimeOffset > 0 ? w.EndTimeOffset : undefined;
    // Input seeking (`-ss` before `-i`) restarts timestamps at 0: shift the window by the seek.
    const enable = start !== undefined || end !== undefined ? `:enable=between(t\\,${(start ?? 0) - seekSeconds}\\,${(end ?? 1e9) - seekSeconds})` : '';
    const origin = template.origin ?? 'TopLeft';
    const x = px(template.x, width, 0);
    const y = px(template.y, height, 0);
    const out = next();
    if (template.type === 'image') {
      const image = template.imageFile;
      if (!image || !fs.existsSync(image)) throw new SubtaskError('InternalError', 70000, `the image of watermark template ${definition} is missing (${image ?? 'none'})`);
      const name = `wm${i}.png`;
      linkInto(image, path.join(e.dir, name));
      args.push('-i', name);
      const inputIndex = args.filter((a) => a === '-i').length;
      const wmWidth = even(px(template.width, width, Math.round(width * 0.2)));
      const ox = origin.endsWith('Right') ? `main_w-overlay_w-${x}` : `${x}`;
      const oy = origin.startsWith('Bottom') ? `main_h-overlay_h-${y}` : `${y}`;
      const wm = `w${i}`;
      chains.push(`[${inputIndex}:v]scale=${wmWidth}:-1,format=rgba[${wm}]`);
      chains.push(`[${label}][${wm}]overlay=x=${ox}:y=${oy}:format=auto${enable}[${out}]`);
    } else {
      const font = findFontFile(e.ctx.options.fontFile);
      if (!font || !fs.existsSync(font)) {
        throw new SubtaskError('InternalError', 70000, 'text watermarks need a font file: none of the usual system fonts was found; set the emulator option fontFile');
      }
      const text = typeof w.TextContent === 'string' && w.TextContent !== '' ? w.TextContent : (template.text ?? '');
      linkInto(font, path.join(e.dir, `font${i}${path.extname(font)}`));
      fs.writeFileSync(path.join(e.dir, `text${i}.txt`), text.replace(/\r?\n/g, ' '));
      const size = Math.max(8, px(template.fontSize ?? '6%', height, Math.round(height * 0.06)));
      const alpha = template.fontAlpha ?? 0.9;
      const tx = origin.endsWith('Right') ? `w-text_w-${x}` : `${x}`;
      const ty = origin.startsWith('Bottom') ? `h-text_h-${y}` : `${y}`;
      chains.push(
        `[${label}]drawtext=fontfile=font${i}${path.extname(font)}:textfile=text${i}.txt:expansion=none:fontsize=${size}:fontcolor=${template.fontColor ?? 'white'}@${alpha}:x=${tx}:y=${ty}${enable}[${out}]`,
      );
    }
    label = out;
  });
  chains.push(`[${label}]${[...extra, 'null'].join(',')}[vout]`);
  return { args, graph: chains.join(';') };
}

function linkInto(file: string, target: string): void {
  fs.rmSync(target, { force: true });
  try {
    fs.symlinkSync(path.resolve(file), target);
  } catch {
    fs.copyFileSync(file, target);
  }
}

function run(e: ExecContext, args: string[], durationSeconds?: number, onProgress?: (f: number) => void): Promise<void> {
  const started = performance.now();
  const report = (ok: boolean) => e.ctx.processing.emit('command', { args, cwd: e.dir, ms: performance.now() - started, ok });
  return runFfmpeg(args, {
    binary: ffmpegPath(e.ctx.options.ffmpegPath),
    signal: e.signal,
    cwd: e.dir,
    durationSeconds,
    onProgress,
    threads: e.ctx.options.processing.threads,
    timeoutMs: e.ctx.options.processing.commandTimeoutMs,
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

function definitionOf(input: Record<string, unknown>): number {
  return Number(input.Definition);
}

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
  if (!(end > start)) throw invalidInput(`EndTimeOffset must be after StartTimeOffset (${start} s – ${end} s of a ${duration} s video)`, 'InvalidInput.InvalidTimeOffset');
  return { start, end };
}

/** Encodes one rendition (MP4 file or HLS playlist + segments) into `e.dir`. */
async function encode(e: ExecContext, preset: TranscodePreset, baseName: string, onProgress: (f: number) => void): Promise<{ files: OutputFile[]; width: number; height: number }> {
  const s = e.source;
  const playlist = preset.package === 'hls';
  const outName = `${baseName}.${playlist ? 'm3u8' : 'mp4'}`;
  const container = playlist ? ['-f', 'hls', '-hls_time', '10', '-hls_list_size', '0', '-hls_playlist_type', 'vod', '-hls_segment_filename', `${baseName}_%03d.ts`] : ['-movflags', '+faststart'];
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
    const trim = [...(range.start > 0 ? ['-ss', range.start.toFixed(3)] : []), ...(range.end < s.duration ? ['-t', (range.end - range.start).toFixed(3)] : [])];
    await run(
      e,
      [
        ...trim, '-i', s.file, ...graph.args,
        '-filter_complex', graph.graph,
        '-map', '[vout]', '-map', '0:a:0?',
        '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-r', String(fps), '-g', String(fps * 2),
        '-b:v', `${preset.videoKbps}k`, '-maxrate', `${Math.round(preset.videoKbps * 1.5)}k`, '-bufsize', `${preset.videoKbps * 2}k`,
        ...audio, ...container, outName,
      ],
      range.end - range.start,
      onProgress,
    );
  }
  const files: OutputFile[] = [{ local: path.join(e.dir, outName), name: outName }];
  if (playlist) {
    for (const name of fs.readdirSync(e.dir).filter((f) => f.startsWith(`${baseName}_`) && f.endsWith('.ts')).sort()) files.push({ local: path.join(e.dir, name), name });
  }
  if (!fs.existsSync(files[0]!.local)) throw new SubtaskError('InternalError', 70000, `ffmpeg produced no ${outName}`);
  return { files, ...size };
}

async function probeOutput(e: ExecContext, file: string): Promise<Record<string, unknown>> {
  const size = fs.statSync(file).size;
  const probe = await probeMedia(file, size, md5File(file), path.extname(file).slice(1), e.ctx.options.ffprobePath);
  return probe.metaData;
}

async function describeHls(e: ExecContext, playlist: string, preset: TranscodePreset): Promise<Record<string, unknown>> {
  const info = await readStreams(ffmpegPath(e.ctx.options.ffmpegPath), playlist);
  const duration = playlistDuration(playlist);
  return {
    Width: info.video?.width ?? 0,
    Height: info.video?.height ?? 0,
    Duration: duration,
    Container: 'hls',
    Bitrate: 0,
    VideoStreamSet: info.video ? [{ Bitrate: preset.videoKbps * 1000, Height: info.video.height, Width: info.video.width, Codec: info.video.codec, Fps: info.video.fps, CodecTag: '' }] : [],
    AudioStreamSet: info.audio ? [{ Bitrate: preset.audioKbps * 1000, SamplingRate: info.audio.sampleRate, Codec: info.audio.codec }] : [],
  };
}

function playlistDuration(file: string): number {
  let total = 0;
  for (const m of fs.readFileSync(file, 'utf8').matchAll(/^#EXTINF:([\d.]+)/gm)) total += Number(m[1]);
  return Math.round(total * 1000) / 1000;
}

function sizeOfAll(published: Map<string, { size: number }>, names: string[]): number {
  return names.reduce((sum, n) => sum + (published.get(n)?.size ?? 0), 0);
}

// ---------------------------------------------------------------------------------------------
// Executors

const transcode: Executor = async (e) => {
  const definition = definitionOf(e.input);
  const preset = TRANSCODE_PRESETS[definition];
  if (!preset) throw invalidInput(`the transcode template ${definition} does not exist (presets: ${Object.keys(TRANSCODE_PRESETS).join(', ')})`, 'InvalidInput.DefinitionNotExist');
  const base = `v.f${definition}`;
  const { files } = await encode(e, preset, base, e.onProgress);
  const hls = preset.package === 'hls';
  // The packaged ffprobe crashes on MPEG-TS: an HLS rendition is described by ffmpeg's own reading.
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
        Bitrate: hls ? Math.round((sizeOfAll(published, files.map((f) => f.name)) * 8) / Math.max(0.001, Number(meta.Duration))) : meta.Bitrate,
        Height: meta.Height,
        Width: meta.Width,
        Size: hls ? sizeOfAll(published, files.map((f) => f.name)) : main.size,
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

/** `"3.5s"` / `"10%"` → seconds. */
function offsetSeconds(value: string, duration: number): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|%)\s*$/.exec(value);
  if (!m) throw invalidInput(`the time offset ${JSON.stringify(value)} is not like "3.5s" or "10%"`, 'InvalidInput.InvalidTimeOffset');
  return m[2] === '%' ? (Number(m[1]) / 100) * duration : Number(m[1]);
}

/** Last seekable moment: a frame at or after the duration does not exist. */
const clampTime = (t: number, duration: number) => Math.max(0, duration > 0 ? Math.min(t, Math.max(0, duration - 0.1)) : t);

async function snapshot(e: ExecContext, seconds: number, name: string, extra: string[] = []): Promise<OutputFile> {
  const at = clampTime(seconds, e.source.duration);
  const graph = videoGraph(e, undefined, extra, at);
  await run(e, ['-ss', at.toFixed(3), '-i', e.source.file, ...graph.args, '-filter_complex', graph.graph, '-map', '[vout]', '-frames:v', '1', '-q:v', '2', name]);
  const local = path.join(e.dir, name);
  if (!fs.existsSync(local)) throw invalidInput(`no frame at ${seconds} s`, 'InvalidInput.InvalidTimeOffset');
  return { local, name };
}

const snapshotByTimeOffset: Executor = async (e) => {
  const definition = definitionOf(e.input);
  if (!SNAPSHOT_DEFINITIONS.has(definition)) throw invalidInput(`the snapshot template ${definition} does not exist`, 'InvalidInput.DefinitionNotExist');
  const times: number[] = [];
  for (const v of (e.input.ExtTimeOffsetSet as string[] | undefined) ?? []) times.push(offsetSeconds(v, e.source.duration));
  for (const ms of (e.input.TimeOffsetSet as number[] | undefined) ?? []) times.push(ms / 1000);
  if (times.length === 0) throw invalidInput('give ExtTimeOffsetSet or TimeOffsetSet', 'InvalidInput.InvalidTimeOffset');
  const files: OutputFile[] = [];
  for (const [i, t] of times.entries()) {
    files.push(await snapshot(e, t, `snapshotByTimeOffset.${definition}_${i}_${Math.round(t * 1000)}.jpg`));
    e.onProgress((i + 1) / times.length);
  }
  const watermarks = watermarkDefinitions(e.input);
  return {
    kind: 'snapshotByTimeOffset',
    definition,
    files,
    output: (published) => ({
      Definition: definition,
      PicInfoSet: files.map((f, i) => ({ TimeOffset: Math.round(times[i]! * 1000), Url: published.get(f.name)!.url, WaterMarkDefinition: watermarks })),
    }),
  };
};

function watermarkDefinitions(input: Record<string, unknown>): number[] {
  return Array.isArray(input.WatermarkSet) ? (input.WatermarkSet as { Definition: number }[]).map((w) => w.Definition) : [];
}

const sampleSnapshot: Executor = async (e) => {
  const definition = definitionOf(e.input);
  const preset = SAMPLE_SNAPSHOT_PRESETS[definition];
  if (!preset) throw invalidInput(`the sample snapshot template ${definition} does not exist`, 'InvalidInput.DefinitionNotExist');
  const d = e.source.duration;
  const times: number[] = [];
  if (preset.sampleType === 'Percent') for (let p = 0; p < 100; p += preset.interval) times.push((p / 100) * d);
  else for (let t = 0; t < Math.max(d, 0.001); t += preset.interval) times.push(t);
  const files: OutputFile[] = [];
  for (const [i, t] of times.entries()) {
    files.push(await snapshot(e, t, `sampleSnapshot.${definition}_${i}.jpg`));
    e.onProgress((i + 1) / times.length);
  }
  const watermarks = watermarkDefinitions(e.input);
  return {
    kind: 'sampleSnapshot',
    definition,
    files,
    output: (published) => ({
      Definition: definition,
      SampleType: preset.sampleType,
      Interval: preset.interval,
      ImageUrlSet: files.map((f) => published.get(f.name)!.url),
      WaterMarkDefinition: watermarks,
    }),
  };
};

const vttTime = (s: number) => {
  const ms = Math.round(s * 1000);
  const h = Math.floor(ms / 3600_000);
  const m = Math.floor((ms % 3600_000) / 60_000);
  const sec = Math.floor((ms % 60_000) / 1000);
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')}`;
};

const imageSprite: Executor = async (e) => {
  const definition = definitionOf(e.input);
  const p = IMAGE_SPRITE_PRESETS[definition];
  if (!p) throw invalidInput(`the image sprite template ${definition} does not exist`, 'InvalidInput.DefinitionNotExist');
  const base = `imageSprite.${definition}`;
  const select = `select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,${p.intervalSeconds})'`;
  const vf = `${select},scale=${p.width}:${p.height}:force_original_aspect_ratio=decrease,pad=${p.width}:${p.height}:(ow-iw)/2:(oh-ih)/2,setsar=1,tile=${p.columns}x${p.rows}`;
  await run(e, ['-i', e.source.file, '-an', '-vf', vf, '-vsync', '0', '-q:v', '3', `${base}_%d.jpg`], e.source.duration, e.onProgress);
  const images = fs
    .readdirSync(e.dir)
    .filter((f) => f.startsWith(`${base}_`) && f.endsWith('.jpg'))
    .sort((a, b) => Number(/_(\d+)\.jpg$/.exec(a)![1]) - Number(/_(\d+)\.jpg$/.exec(b)![1]));
  if (images.length === 0) throw new SubtaskError('InternalError', 70000, 'ffmpeg produced no sprite image');
  const perImage = p.rows * p.columns;
  const total = Math.min(Math.max(1, Math.ceil(e.source.duration / p.intervalSeconds)), images.length * perImage);
  const files: OutputFile[] = images.map((name) => ({ local: path.join(e.dir, name), name }));
  const vttName = `${base}.vtt`;
  files.push({ local: path.join(e.dir, vttName), name: vttName });
  // The WebVTT names the published image URLs, so it is written by `output` once they are known.
  fs.writeFileSync(path.join(e.dir, vttName), '');
  return {
    kind: 'imageSprite',
    definition,
    files,
    output: (published) => {
      const lines = ['WEBVTT', ''];
      for (let i = 0; i < total; i++) {
        const image = published.get(images[Math.floor(i / perImage)]!)!;
        const cell = i % perImage;
        const x = (cell % p.columns) * p.width;
        const y = Math.floor(cell / p.columns) * p.height;
        const start = i * p.intervalSeconds;
        const end = Math.min(e.source.duration, (i + 1) * p.intervalSeconds);
        lines.push(`${vttTime(start)} --> ${vttTime(Math.max(end, start + 0.001))}`, `${image.url}#xywh=${x},${y},${p.width},${p.height}`, '');
      }
      const vtt = published.get(vttName)!;
      fs.writeFileSync(vtt.file, lines.join('\n'));
      return {
        Definition: definition,
        Height: p.height,
        Width: p.width,
        TotalCount: total,
        ImageUrlSet: images.map((name) => published.get(name)!.url),
        WebVttUrl: vtt.url,
      };
    },
  };
};

const coverBySnapshot: Executor = async (e) => {
  const definition = definitionOf(e.input);
  if (!COVER_DEFINITIONS.has(definition)) throw invalidInput(`the snapshot template ${definition} does not exist`, 'InvalidInput.DefinitionNotExist');
  const type = e.input.PositionType;
  const value = Number(e.input.PositionValue ?? 0);
  const seconds = type === 'Percent' ? (value / 100) * e.source.duration : value;
  const file = await snapshot(e, seconds, `cover.${definition}_${randomBytes(4).toString('hex')}.jpg`);
  return { kind: 'cover', definition, files: [file], output: (published) => ({ CoverUrl: published.get(file.name)!.url }) };
};

const animatedGraphic: Executor = async (e) => {
  const definition = definitionOf(e.input);
  const preset = ANIMATED_GRAPHIC_PRESETS[definition];
  if (!preset) throw invalidInput(`the animated graphic template ${definition} does not exist`, 'InvalidInput.DefinitionNotExist');
  const start = Number(e.input.StartTimeOffset ?? 0);
  const requestedEnd = Number(e.input.EndTimeOffset ?? 0);
  const end = e.source.duration > 0 ? Math.min(requestedEnd, e.source.duration) : requestedEnd;
  if (!(end > start) || start < 0) throw invalidInput(`EndTimeOffset (${requestedEnd}) must be after StartTimeOffset (${start}) and within the video`, 'InvalidInput.InvalidTimeOffset');
  const name = `animatedGraphic.${definition}_${start}_${end}.${preset.format}`;
  const graph = `[0:v]fps=${preset.fps},split[a][b];[a]palettegen[p];[b][p]paletteuse[vout]`;
  await run(e, ['-ss', String(start), '-t', String(end - start), '-i', e.source.file, '-filter_complex', graph, '-map', '[vout]', '-loop', '0', name], end - start, e.onProgress);
  const local = path.join(e.dir, name);
  const meta = await probeOutput(e, local);
  return {
    kind: 'animatedGraphics',
    definition,
    files: [{ local, name }],
    output: (published) => {
      const f = published.get(name)!;
      return {
        Url: f.url,
        Definition: definition,
        Container: preset.format,
        Height: meta.Height,
        Width: meta.Width,
        Bitrate: Math.round((f.size * 8) / Math.max(0.001, end - start)),
        Size: f.size,
        Md5: f.md5,
        StartTimeOffset: start,
        EndTimeOffset: end,
      };
    },
  };
};

const adaptiveStreaming: Executor = async (e) => {
  const definition = definitionOf(e.input);
  const preset = ADAPTIVE_PRESETS[definition];
  if (!preset) throw invalidInput(`the adaptive streaming template ${definition} does not exist (preset: 10)`, 'InvalidInput.DefinitionNotExist');
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
    streams.push({ name: result.files[0]!.name, names: result.files.map((f) => f.name), width: result.width, height: result.height, bandwidth: (p.videoKbps + (e.source.hasAudio ? p.audioKbps : 0)) * 1000 });
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
      Size: sizeOfAll(published, files.map((f) => f.name)),
      DigitalWatermarkType: 'None',
      SubStreamSet: streams.map((s) => ({ Type: 'video', Width: s.width, Height: s.height, Size: sizeOfAll(published, s.names) })),
      CopyRightWatermarkText: '',
      BlindWatermarkDefinition: 0,
      SubtitleSet: [],
      DefaultSubtitleId: '',
      DrmEncryptType: '',
    }),
  };
};

const EXECUTORS: Record<SubtaskType, Executor> = {
  Transcode: transcode,
  SnapshotByTimeOffset: snapshotByTimeOffset,
  SampleSnapshot: sampleSnapshot,
  ImageSprites: imageSprite,
  CoverBySnapshot: coverBySnapshot,
  AnimatedGraphics: animatedGraphic,
  AdaptiveDynamicStreaming: adaptiveStreaming,
};
