/**
 * Node entry of the upload client: files are paths, COS is `cos-nodejs-sdk-v5`, resume records live in a
 * JSON file (default `~/.config/vod-upload/resume.json`, or `$XDG_CONFIG_HOME/vod-upload/…`).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import COS from 'cos-nodejs-sdk-v5';
import { VodUploadError } from './errors.ts';
import type { UploadCallOptions, UploadResult, VodUploaderOptions } from './options.ts';
import type { CosLike, Platform, UploadSource } from './platform.ts';
import { isResumeRecord } from './resume-store.ts';
import type { ResumeRecord, ResumeStore } from './resume-store.ts';
import { VodUploaderCore } from './uploader.ts';

export * from './cli/exit-codes.ts';
export { classifyCosError } from './cos-transfer.ts';
export * from './errors.ts';
export type * from './library-api.ts';
export * from './options.ts';
export * from './platform.ts';
export * from './resume-store.ts';
export { DEFAULT_VOD_API_URL } from './ugc-api.ts';
export type { UploadStatus, UploadView } from '#contract';
export { VodUploaderCore } from './uploader.ts';

/** A file to upload from Node: a path, or `{ path }`. */
export type NodeFile = string | { path: string };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `~/.config/vod-upload` (or `$XDG_CONFIG_HOME/vod-upload`). */
export function defaultStateDir(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'vod-upload');
}

/** Resume records in one JSON file, written atomically (temp file + rename). */
export class FileResumeStore implements ResumeStore {
  constructor(readonly file: string) {}

  private read(): Record<string, ResumeRecord> {
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(this.file, 'utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
      const out: Record<string, ResumeRecord> = {};
      for (const [k, v] of Object.entries(parsed)) if (isResumeRecord(v)) out[k] = v;
      return out;
    } catch {
      return {};
    }
  }

  private write(records: Record<string, ResumeRecord>): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(records, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }

  get(key: string): ResumeRecord | undefined {
    return this.read()[key];
  }
  set(key: string, record: ResumeRecord): void {
    const records = this.read();
    records[key] = record;
    this.write(records);
  }
  /**
   * A lock file per record holding the owner's pid; a lock whose process is gone (killed) is taken over.
   * Uploads in one process share the pid, which counts as alive: they do not share a record either.
   */
  lock(key: string): (() => void) | undefined {
    const lockFile = `${this.file}.${createHash('sha256').update(key).digest('hex').slice(0, 16)}.lock`;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx', mode: 0o600 });
        return () => fs.rmSync(lockFile, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
        let owner: number;
        try {
          owner = Number(fs.readFileSync(lockFile, 'utf8'));
        } catch {
          continue; // released meanwhile: try again
        }
        // Empty (being written) or held by a live process: not ours.
        if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) return undefined;
        fs.rmSync(lockFile, { force: true }); // stale: its process died
      }
    }
    return undefined;
  }

  delete(key: string): void {
    const records = this.read();
    if (!(key in records)) return;
    delete records[key];
    this.write(records);
  }
}

export interface NodeUploaderOptions extends VodUploaderOptions {
  /** Folder for the resume file and the COS SDK's upload-id cache. Default `defaultStateDir()`. */
  stateDir?: string;
}

function nodePlatform(options: NodeUploaderOptions): Platform {
  const stateDir = options.stateDir ?? defaultStateDir();
  return {
    async describe(file: unknown, role): Promise<UploadSource> {
      const filePath = typeof file === 'string' ? file : (file as { path?: unknown } | null)?.path;
      if (typeof filePath !== 'string' || !filePath) {
        throw new VodUploadError('bad-input', `the ${role} must be a file path (string) or { path }`);
      }
      const absolute = path.resolve(filePath);
      let stat: fs.Stats;
      try {
        stat = await fs.promises.stat(absolute);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new VodUploadError(
          'bad-input',
          code === 'ENOENT' ? `${role} file not found: ${filePath}` : `cannot read the ${role} file ${filePath} (${code})`,
          {
            cause: error,
          },
        );
      }
      if (!stat.isFile()) throw new VodUploadError('bad-input', `the ${role} is not a regular file: ${filePath}`);
      try {
        await fs.promises.access(absolute, fs.constants.R_OK);
      } catch (error) {
        throw new VodUploadError('bad-input', `the ${role} file is not readable: ${filePath}`, { cause: error });
      }
      return {
        name: path.basename(absolute),
        size: stat.size,
        identity: `${absolute}:${stat.size}:${Math.round(stat.mtimeMs)}`,
        cosParams: { FilePath: absolute },
      };
    },
    createCos(cosOptions) {
      fs.mkdirSync(path.join(stateDir, 'cos'), { recursive: true });
      return new COS({ ConfCwd: path.join(stateDir, 'cos'), ...cosOptions } as ConstructorParameters<
        typeof COS
      >[0]) as unknown as CosLike;
    },
    signCos(signOptions) {
      return COS.getAuthorization(signOptions as unknown as Parameters<typeof COS.getAuthorization>[0]);
    },
    defaultResumeStore() {
      return new FileResumeStore(path.join(stateDir, 'resume.json'));
    },
  };
}

/**
 * The upload client for Node.
 *
 * ```ts
 * const uploader = new VodUploader({ apiBaseUrl: 'http://127.0.0.1:8080', token });
 * const result = await uploader.upload('clip.mp4', { onProgress, waitForReady: true });
 * ```
 */
export class VodUploader extends VodUploaderCore {
  constructor(options: NodeUploaderOptions) {
    super(nodePlatform(options), options);
  }

  override upload(file: NodeFile, call?: UploadCallOptions & { cover?: NodeFile }): Promise<UploadResult> {
    return super.upload(file, call);
  }
}

/** One-shot upload: `new VodUploader(options).upload(file, options)`. */
export function uploadVideo(
  file: NodeFile,
  options: NodeUploaderOptions & UploadCallOptions & { cover?: NodeFile },
): Promise<UploadResult> {
  return new VodUploader(options).upload(file, options);
}
