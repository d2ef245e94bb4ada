/**
 * Object bytes on disk. Uploads stream into a temp file (multipart parts: into their slot, see
 * cos/part-files.ts) while a worker thread hashes what is written, and objects are renamed into place
 * only when complete, so a reader never sees a partial object, and memory stays bounded (a
 * 2 GB upload costs at most about 1 MB queued for the disk here and a 1 MB buffer in the worker).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { md5Append, md5Digest, md5Drop } from './cos/md5-worker.ts';

export interface WrittenFile {
  file: string;
  size: number;
  md5: Buffer;
}

/** Bytes `start`..`end` (inclusive; the whole file when absent) of a file. */
export interface FileRange {
  file: string;
  start?: number;
  end?: number;
}

/** How far the worker's MD5 may trail the writer (bytes not yet handed to it). */
const HASH_STEP = 1 << 20;

/** Bytes a file being written may queue while a write is in flight: many socket chunks then go to disk in one writev. */
const WRITE_BUFFER = 1 << 20;

/**
 * Copies `source` into `sink` (which writes `file` from byte `position`), refusing more than
 * `maxBytes`. The MD5 is made off this thread (cos/md5-worker.ts) from the bytes once written, at
 * most HASH_STEP behind the writer, so hashing overlaps the transfer.
 */
async function hashedCopy(
  source: Readable | AsyncIterable<Buffer>,
  sink: fs.WriteStream,
  file: string,
  position: number,
  maxBytes: number,
): Promise<{ size: number; md5: Buffer }> {
  const id = randomBytes(12).toString('hex');
  let size = 0;
  let handed = 0;
  const hashUpTo = (bytes: number) => {
    if (bytes > handed) void md5Append('request', id, file, position + handed, position + bytes - 1);
    handed = Math.max(handed, bytes);
  };
  try {
    await pipeline(
      source,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          size += chunk.length;
          if (size > maxBytes) throw Object.assign(new Error('body too large'), { code: 'EntityTooLarge' });
          if (sink.bytesWritten - handed >= HASH_STEP) hashUpTo(sink.bytesWritten);
          yield chunk;
        }
      },
      sink,
    );
    hashUpTo(size);
    return { size, md5: await md5Digest('request', id) };
  } catch (error) {
    md5Drop('request', id);
    throw error;
  }
}

export class ObjectFiles {
  readonly objectsDir: string;
  readonly partsDir: string;
  readonly tmpDir: string;

  constructor(dataDir: string) {
    this.objectsDir = path.join(dataDir, 'objects');
    this.partsDir = path.join(dataDir, 'multipart');
    this.tmpDir = path.join(dataDir, 'tmp');
    for (const dir of [this.objectsDir, this.partsDir, this.tmpDir]) fs.mkdirSync(dir, { recursive: true });
    // Leftovers of uploads interrupted by a crash are garbage.
    for (const name of fs.readdirSync(this.tmpDir)) fs.rmSync(path.join(this.tmpDir, name), { force: true });
  }

  /** File name of an object: keys can be long and contain anything, so they are hashed. */
  objectPath(bucket: string, key: string): string {
    const digest = createHash('sha256').update(`${bucket}\n${key}`).digest('hex');
    return path.join(this.objectsDir, digest.slice(0, 2), digest);
  }

  /** Where the parts of a multipart upload are kept (cos/part-files.ts decides the layout inside). */
  uploadDir(uploadId: string): string {
    return path.join(this.partsDir, uploadId);
  }

  tempPath(): string {
    return path.join(this.tmpDir, randomBytes(12).toString('hex'));
  }

  /** Streams `source` into `target` (atomically) and returns its size and MD5. */
  async writeStream(source: Readable | AsyncIterable<Buffer>, target: string, maxBytes = Infinity): Promise<WrittenFile> {
    const tmp = this.tempPath();
    let written: { size: number; md5: Buffer };
    try {
      written = await hashedCopy(source, fs.createWriteStream(tmp, { highWaterMark: WRITE_BUFFER }), tmp, 0, maxBytes);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.renameSync(tmp, target);
    } catch (error) {
      fs.rmSync(tmp, { force: true });
      throw error;
    }
    return { file: target, ...written };
  }

  /**
   * Streams `source` into `file`, open as `fd`, from byte `position` (closing `fd` at the end) and returns
   * its size and MD5. No temp file: the caller owns that region of the file.
   */
  writeAt(
    source: Readable,
    file: string,
    fd: number,
    position: number,
    maxBytes: number,
  ): Promise<{ size: number; md5: Buffer }> {
    return hashedCopy(
      source,
      fs.createWriteStream('', { fd, start: position, highWaterMark: WRITE_BUFFER }),
      file,
      position,
      maxBytes,
    );
  }

  /** Concatenates files or byte ranges of files (`end` inclusive) into `target` (atomically), returning the MD5 of the result. */
  async concat(pieces: (string | FileRange)[], target: string): Promise<WrittenFile> {
    async function* all() {
      for (const piece of pieces) {
        const range = typeof piece === 'string' ? { file: piece } : piece;
        if (range.end !== undefined && range.end < (range.start ?? 0)) continue; // an empty range
        const stream = fs.createReadStream(range.file, { start: range.start, end: range.end, highWaterMark: 1 << 20 });
        for await (const chunk of stream) yield chunk as Buffer;
      }
    }
    return this.writeStream(all(), target);
  }

  /** The MD5 of the first `length` bytes of `file` (hashed by the worker, off this thread). */
  async md5Of(file: string, length: number): Promise<Buffer> {
    const id = randomBytes(12).toString('hex');
    if (length > 0) void md5Append('request', id, file, 0, length - 1);
    return md5Digest('request', id);
  }

  remove(file: string): void {
    fs.rmSync(file, { force: true });
  }

  removeUpload(uploadId: string): void {
    fs.rmSync(this.uploadDir(uploadId), { recursive: true, force: true });
  }
}
