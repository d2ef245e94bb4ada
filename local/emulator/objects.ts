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

  partPath(uploadId: string, partNumber: number): string {
    return path.join(this.partsDir, uploadId, String(partNumber));
  }

  tempPath(): string {
    return path.join(this.tmpDir, randomBytes(12).toString('hex'));
  }

  /** Streams `source` into `target` (atomically) and returns its size and MD5. */
  async writeStream(source: Readable | AsyncIterable<Buffer>, target: string, maxBytes = Infinity): Promise<WrittenFile> {
    const tmp = this.tempPath();
    const hash = createHash('md5');
    let size = 0;
    try {
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
        fs.createWriteStream(tmp),
      );
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.renameSync(tmp, target);
    } catch (error) {
      fs.rmSync(tmp, { force: true });
      throw error;
    }
    return { file: target, size, md5: hash.digest() };
  }

  /** Concatenates files into `target` (atomically), returning the MD5 of the result. */
  async concat(files: string[], target: string): Promise<WrittenFile> {
    async function* all() {
      for (const file of files) {
        for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
      }
    }
    return this.writeStream(all(), target);
  }

  remove(file: string): void {
    fs.rmSync(file, { force: true });
  }

  removeUpload(uploadId: string): void {
    fs.rmSync(path.join(this.partsDir, uploadId), { recursive: true, force: true });
  }
}
