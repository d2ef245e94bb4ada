/**
 * The emulator's durable state: one JSON document under `<dataDir>/state.json`, rewritten atomically
 * (write to a temp file, fsync, rename) after every change, so a crash or restart never sees half a
 * write. Object bytes live beside it as plain files (see objects.ts); only their metadata is here.
 * An emulator's state is small (thousands of records at most), so a whole-file rewrite is fine.
 * `update` writes before it returns; `commit` (the COS hot path: parts arrive in parallel) writes off
 * the event loop, one write in flight, and folds the changes made meanwhile into the next write.
 */
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { EventConfig } from './options.ts';
import type { MediaProcessTaskType, TaskNotifyMode } from '#contract';

export interface StoredFile {
  storagePath: string;
  name: string;
  type: string;
  size?: number;
}

/** One ApplyUploadUGC / ApplyUpload: what the client may upload and what Commit will create. */
export interface UploadSession {
  vodSessionKey: string;
  /** Effective application: the sub-application id, or the primary AppId. */
  appId: number;
  subAppId?: number;
  fileId: string;
  bucket: string;
  region: string;
  video?: StoredFile;
  cover?: StoredFile;
  /** Cover-only replacement of an existing media file. */
  coverOnlyFor?: string;
  classId: number;
  procedure?: string;
  taskPriority?: number;
  taskNotifyMode?: string;
  sourceContext?: string;
  sessionContext?: string;
  mediaExpireTime?: string;
  via: 'ugc' | 'api';
  createdAt: number;
  committedAt?: number;
  tempSecretId: string;
}

export interface TempCredential {
  secretId: string;
  secretKey: string;
  token: string;
  /** Unix seconds. */
  startTime: number;
  expiredTime: number;
  bucket: string;
  region: string;
  /** Object keys (no leading slash) this credential may write and read. */
  keys: string[];
}

export interface ObjectMeta {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  /** Hex MD5 of the whole object (differs from the ETag of a multipart object). */
  md5: string;
  contentType: string;
  lastModified: number;
  file: string;
}

export interface PartMeta {
  size: number;
  etag: string;
  lastModified: number;
}

export interface MultipartUpload {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: number;
  contentType: string;
  storageClass: string;
  parts: Record<string, PartMeta>;
}

export interface MediaRecord {
  fileId: string;
  appId: number;
  bucket: string;
  region: string;
  basicInfo: Record<string, unknown>;
  metaData: Record<string, unknown> | null;
  videoKey?: string;
  coverKey?: string;
  procedure?: string;
  procedureTaskId?: string;
  sessionContext?: string;
  taskPriority?: number;
  taskNotifyMode?: string;
  createdAt: number;
  /** Files made by processing (transcodes, snapshots, …), one entry per kind and definition. */
  derived?: DerivedEntry[];
  /**
   * ForbidMediaDistribution `forbid` (until `recover`): every media URL of it answers 403, and
   * DescribeMediaInfos shows `BasicInfo.Status` `Forbidden` (the stored basicInfo keeps `Normal`, as uploaded).
   */
  forbidden?: boolean;
}

export type DerivedKind =
  | 'transcode'
  | 'snapshotByTimeOffset'
  | 'sampleSnapshot'
  | 'imageSprite'
  | 'animatedGraphics'
  | 'adaptiveDynamicStreaming'
  | 'cover';

export interface DerivedEntry {
  kind: DerivedKind;
  definition: number;
  /** The item as DescribeMediaInfos shows it (MediaTranscodeItem, MediaImageSpriteItem, …). */
  item: Record<string, unknown>;
  /** Object keys (in the media's bucket) of its files, deleted when it is replaced or the media deleted. */
  keys: string[];
}

/** The subtask types the emulator runs: every `MediaProcessResultSet[].Type` of the contract. */
export type SubtaskType = MediaProcessTaskType;

/** One entry of a task's MediaProcessResultSet. */
export interface SubtaskRecord {
  type: SubtaskType;
  /** The request's task input, echoed as `Input`. */
  input: Record<string, unknown>;
  /** A subtask not started yet reads PROCESSING with Progress 0 (VOD has no WAITING per subtask). */
  status: 'PROCESSING' | 'SUCCESS' | 'FAIL';
  started: boolean;
  errCode: number;
  errCodeExt: string;
  message: string;
  progress: number;
  output: Record<string, unknown> | null;
  beginProcessTime: string;
  finishTime: string;
}

/** A Procedure task (ProcessMedia, ProcessMediaByProcedure, or a procedure started by an upload). */
export interface ProcessingTask {
  taskId: string;
  appId: number;
  fileId: string;
  procedureName?: string;
  /** `ABORTED`: ended without running its subtasks (fault `processing.abortNext`). */
  status: 'WAITING' | 'PROCESSING' | 'FINISH' | 'ABORTED';
  priority: number;
  notifyMode: TaskNotifyMode;
  sessionContext: string;
  sessionId: string;
  /** Submission order: ties of priority run first come, first served. */
  seq: number;
  createdAt: number;
  beginAt?: number;
  finishAt?: number;
  /** How many times a worker picked it up (> 1 after a restart interrupted it). */
  attempts: number;
  subtasks: SubtaskRecord[];
}

export interface QueuedEvent {
  id: string;
  appId: number;
  /** The full reliable-callback form minus EventHandle. */
  content: Record<string, unknown>;
  createdAt: number;
  /** Clock time from which PullEvents may hand it out. */
  visibleAt: number;
  /** The handle of the latest delivery and when it was issued. */
  handle?: string;
  handedOutAt?: number;
  deliveries: number;
}

export interface PendingPush {
  id: string;
  appId: number;
  url: string;
  content: Record<string, unknown>;
  signKey: string;
  createdAt: number;
}

export interface StateDocument {
  version: 1;
  nextFileId: string;
  media: Record<string, MediaRecord>;
  sessions: Record<string, UploadSession>;
  /** sha256(signature) → expireTime (s) of one-time signatures already used. */
  usedSignatures: Record<string, number>;
  tempCredentials: Record<string, TempCredential>;
  objects: Record<string, ObjectMeta>;
  multipart: Record<string, MultipartUpload>;
  eventConfigs: Record<string, EventConfig>;
  events: QueuedEvent[];
  pushOutbox: PendingPush[];
  tasks: Record<string, ProcessingTask>;
  taskSeq: number;
  /** `<appId>/<SessionId>` → when it was used and by which task (de-dup window). */
  sessionIds: Record<string, { taskId: string; usedAt: number }>;
}

/**
 * VOD file ids are 19-digit decimal strings (e.g. 5285890784246869930). The first one is a fixed prefix
 * and 12 random digits, drawn as an integer: every digit is random, none is padding from float rounding.
 */
export function firstFileId(): string {
  return `5285890${String(randomInt(0, 1_000_000_000_000)).padStart(12, '0')}`;
}

function emptyState(): StateDocument {
  return {
    version: 1,
    nextFileId: firstFileId(),
    media: {},
    sessions: {},
    usedSignatures: {},
    tempCredentials: {},
    objects: {},
    multipart: {},
    eventConfigs: {},
    events: [],
    pushOutbox: [],
    tasks: {},
    taskSeq: 0,
    sessionIds: {},
  };
}

interface Waiter {
  version: number;
  resolve(): void;
  reject(error: unknown): void;
}

export class StateStore {
  readonly file: string;
  doc: StateDocument;
  /** Bumped by every change; `durable` is the highest version on disk. */
  private version = 0;
  private durable = 0;
  private waiters: Waiter[] = [];
  private writing: Promise<void> | undefined;
  /** Documents written to state.json so far (what `commit` saves by folding changes together). */
  diskWrites = 0;

  constructor(readonly dataDir: string) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.file = path.join(dataDir, 'state.json');
    this.doc = fs.existsSync(this.file)
      ? { ...emptyState(), ...(JSON.parse(fs.readFileSync(this.file, 'utf8')) as StateDocument) }
      : emptyState();
  }

  /** Applies `change` and persists before returning, so a reply is only sent for durable state. */
  update<T>(change: (doc: StateDocument) => T): T {
    const result = change(this.doc);
    this.version += 1;
    this.save();
    return result;
  }

  save(): void {
    const version = this.version;
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, JSON.stringify(this.doc));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    this.diskWrites += 1;
    this.settle(version);
  }

  /**
   * Applies `change` at once (later requests see it) and resolves once it is on disk, so a reply that
   * waits for it is only sent for durable state. Rejects if that write failed.
   */
  commit<T>(change: (doc: StateDocument) => T): Promise<T> {
    const result = change(this.doc);
    this.version += 1;
    const version = this.version;
    return new Promise<T>((resolve, reject) => {
      this.waiters.push({ version, resolve: () => resolve(result), reject });
      this.writeSoon();
    });
  }

  /** Resolves once every change made so far is on disk. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.durable < this.version) await this.commit(() => undefined);
  }

  private writeSoon(): void {
    if (this.writing || this.waiters.length === 0) return;
    this.writing = this.writeOnce().finally(() => {
      this.writing = undefined;
      this.writeSoon();
    });
  }

  /** One write of the document as it is now; `update`'s writes may overtake it (then it is dropped). */
  private async writeOnce(): Promise<void> {
    const version = this.version;
    const text = JSON.stringify(this.doc);
    const tmp = `${this.file}.${process.pid}.commit.tmp`;
    try {
      const handle = await fs.promises.open(tmp, 'w');
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      // Synchronous, so no `save` runs between the check and the rename and an older document never replaces a newer one.
      if (this.durable < version) {
        fs.renameSync(tmp, this.file);
        this.diskWrites += 1;
      } else fs.rmSync(tmp, { force: true });
      this.settle(version);
    } catch (error) {
      const failed = this.waiters.filter((w) => w.version <= version);
      this.waiters = this.waiters.filter((w) => w.version > version);
      for (const w of failed) w.reject(error);
    }
  }

  private settle(version: number): void {
    this.durable = Math.max(this.durable, version);
    if (this.waiters.length === 0) return;
    const done = this.waiters.filter((w) => w.version <= this.durable);
    this.waiters = this.waiters.filter((w) => w.version > this.durable);
    for (const w of done) w.resolve();
  }

  allocateFileId(): string {
    const id = this.doc.nextFileId;
    this.doc.nextFileId = String(BigInt(id) + BigInt(randomInt(1, 8)));
    return id;
  }
}

export const objectIndexKey = (bucket: string, key: string) => `${bucket}/${key}`;
