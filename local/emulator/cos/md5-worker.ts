/**
 * MD5 off the request thread: a worker thread that hashes byte ranges of files already written (so
 * from the page cache), one running hash per id, in the order the ranges are posted. Uploads post
 * each range once its bytes are on disk and ask for the digest at the end; nothing crosses threads
 * but file names and offsets, so memory stays one 1 MB buffer whatever the upload size.
 */
import { Worker } from 'node:worker_threads';

// Plain CommonJS so the worker runs the same under tsx, jest and node. A hash that failed is kept as
// null until dropped or digested, so a later range cannot restart it from zero unnoticed.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const hashes = new Map();
const buf = Buffer.allocUnsafe(1 << 20);
parentPort.on('message', ({ op, id, seq, file, start, end }) => {
  let hash = hashes.get(id);
  if (op === 'drop') return void hashes.delete(id);
  if (op === 'digest') {
    hashes.delete(id);
    return void parentPort.postMessage(hash === null ? { seq, error: 'a range could not be read' } : { seq, md5: (hash || createHash('md5')).digest('hex') });
  }
  if (hash === null) return void parentPort.postMessage({ seq, error: 'a range could not be read' });
  if (!hash) hashes.set(id, (hash = createHash('md5')));
  try {
    const fd = fs.openSync(file, 'r');
    try {
      for (let pos = start; pos <= end; ) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, end - pos + 1), pos);
        if (n === 0) throw new Error('the file is shorter than the range');
        hash.update(buf.subarray(0, n));
        pos += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    parentPort.postMessage({ seq });
  } catch (error) {
    hashes.set(id, null);
    parentPort.postMessage({ seq, error: String(error) });
  }
});`;

interface Reply {
  md5?: string;
  error?: string;
}

/** A lane per kind of work, so hashes an answer waits for never queue behind background ones. */
export type Md5Lane = 'request' | 'background';
const workers = new Map<Md5Lane, Worker>();
/** Bumped when a worker dies: the hashes it held are gone. */
let generation = 0;
let seq = 0;
const replies = new Map<number, (reply: Reply) => void>();

function post(lane: Md5Lane, message: Record<string, unknown>): Promise<Reply> {
  let worker = workers.get(lane);
  if (!worker) {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.on('message', (reply: Reply & { seq: number }) => {
      replies.get(reply.seq)?.(reply);
      replies.delete(reply.seq);
    });
    w.on('error', () => {
      for (const settle of replies.values()) settle({ error: 'the hashing worker failed' });
      replies.clear();
      workers.delete(lane);
      generation += 1;
    });
    w.unref(); // never keeps the emulator's process alive (after the listeners: adding one refs it again)
    workers.set(lane, w);
    worker = w;
  }
  const n = ++seq;
  const reply = new Promise<Reply>((resolve) => replies.set(n, resolve));
  worker.postMessage({ ...message, seq: n });
  return reply;
}

export const md5Generation = () => generation;

/** Hashes bytes `start`..`end` (inclusive) of `file` into hash `id`; resolves with an error text if that failed. */
export async function md5Append(
  lane: Md5Lane,
  id: string,
  file: string,
  start: number,
  end: number,
): Promise<string | undefined> {
  return (await post(lane, { op: 'append', id, file, start, end })).error;
}

/** The digest of hash `id` (of nothing if nothing was appended), which ends it; throws if a range failed. */
export async function md5Digest(lane: Md5Lane, id: string): Promise<Buffer> {
  const reply = await post(lane, { op: 'digest', id });
  if (reply.error || reply.md5 === undefined) throw new Error(`MD5 worker: ${reply.error}`);
  return Buffer.from(reply.md5, 'hex');
}

export function md5Drop(lane: Md5Lane, id: string): void {
  void post(lane, { op: 'drop', id });
}
