/**
 * Object bytes on disk. Uploads stream into a temp file while their MD5 is computed and are renamed
 * into place only when complete, so a reader never sees a partial object and nothing is buffered in
 * memory (a 2 GB upload costs a 64 KB chunk at a time).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';

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

/** Copies `source` into `sink`, hashing on the way, refusing more than `maxBytes`. */
async function hashedCopy(
  source: Readable | AsyncIterable<Buffer>,
  sink: fs.WriteStream,
  maxBytes: number,
): Promise<{ size: number; md5: Buffer }> {
  const hash = createHash('md5');
  let size = 0;
  await pipeline(
    source,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        size += chunk.length;
        if (size > maxBytes) throw Object.assign(new Error('body too large'), { code: 'EntityTooLarge' });
        hash.update(chunk);
        yield chunk;
      }
    },
    sink,
  );
  return { size, md5: hash.digest() };
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
      written = await hashedCopy(source, fs.createWriteStream(tmp), maxBytes);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.renameSync(tmp, target);
    } catch (error) {
      fs.rmSync(tmp, { force: true });
      throw error;
    }
    return { file: target, ...written };
  }

  /**
   * Streams `source` into the open file `fd` from byte `position` (closing `fd` at the end) and returns
   * its size and MD5. No temp file: the caller owns that region of the file.
   */
  writeAt(source: Readable, fd: number, position: number, maxBytes: number): Promise<{ size: number; md5: Buffer }> {
    return hashedCopy(source, fs.createWriteStream('', { fd, start: position, highWaterMark: 1 << 20 }), maxBytes);
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

  /** The MD5 of the first `length` bytes of `file`, read in 1 MB chunks. */
  async md5Of(file: string, length: number): Promise<Buffer> {
    const hash = createHash('md5');
    if (length > 0) {
      for await (const chunk of fs.createReadStream(file, { end: length - 1, highWaterMark: 1 << 20 }))
        hash.update(chunk as Buffer);
    }
    return hash.digest();
  }

  remove(file: string): void {
    fs.rmSync(file, { force: true });
  }

  removeUpload(uploadId: string): void {
    fs.rmSync(this.uploadDir(uploadId), { recursive: true, force: true });
  }
}
