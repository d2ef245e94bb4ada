/**
 * The MD5 of a multipart object (VOD reports it as MetaData.Md5), computed while the parts arrive:
 * each part, once stored, is hashed in part-number order from the page cache by a worker thread, so
 * completing the upload does not read the whole object again on the request thread. Any doubt (a
 * part replaced after it was hashed, parts listed other than 1..K, a restart, a read error) means the
 * caller hashes the object itself.
 */
import { Worker } from 'node:worker_threads';
import type { EmulatorContext } from '../context.ts';
import type { FileRange } from '../objects.ts';
import type { MultipartUpload } from '../state.ts';
import { partRange } from './part-files.ts';

// Plain CommonJS so the worker runs the same under tsx, jest and node.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const hashes = new Map();
const buf = Buffer.allocUnsafe(1 << 20);
parentPort.on('message', ({ op, id, seq, file, start, end }) => {
  try {
    let hash = hashes.get(id);
    if (op !== 'append') {
      hashes.delete(id);
      return void parentPort.postMessage({ seq, md5: op === 'digest' ? hash.digest('hex') : undefined });
    }
    if (!hash) hashes.set(id, (hash = createHash('md5')));
    const fd = fs.openSync(file, 'r');
    try {
      for (let pos = start; pos <= end; ) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, end - pos + 1), pos);
        if (n === 0) throw new Error('the part is shorter than recorded');
        hash.update(buf.subarray(0, n));
        pos += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    parentPort.postMessage({ seq });
  } catch (error) {
    hashes.delete(id);
    parentPort.postMessage({ seq, error: String(error) });
  }
});`;

let worker: Worker | undefined;
/** Bumped when a worker dies: hashes it held are gone. */
let generation = 0;
let seq = 0;
const replies = new Map<number, (reply: { md5?: string; error?: string }) => void>();

function ask(message: Record<string, unknown>): Promise<{ md5?: string; error?: string }> {
  if (!worker) {
    worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (reply: { seq: number; md5?: string; error?: string }) => {
      replies.get(reply.seq)?.(reply);
      replies.delete(reply.seq);
    });
    worker.on('error', () => {
      for (const settle of replies.values()) settle({ error: 'the hashing worker failed' });
      replies.clear();
      worker = undefined;
      generation += 1;
    });
    worker.unref(); // never keeps the emulator's process alive (after the listeners: adding one refs it again)
  }
  const n = ++seq;
  const reply = new Promise<{ md5?: string; error?: string }>((resolve) => replies.set(n, resolve));
  worker.postMessage({ ...message, seq: n });
  return reply;
}

interface Progress {
  /** ETags of the parts hashed so far, parts 1..n in order. */
  etags: string[];
  chain: Promise<void>;
  failed: boolean;
  generation: number;
}

const progress = new Map<string, Progress>();

/** Hashes, in the background, every stored part that continues the hashed run 1..n. */
export function advanceWholeMd5(ctx: EmulatorContext, upload: MultipartUpload): void {
  const id = upload.uploadId;
  const run = progress.get(id) ?? { etags: [], chain: Promise.resolve(), failed: false, generation };
  progress.set(id, run);
  run.chain = run.chain.then(async () => {
    for (;;) {
      const next = run.etags.length + 1;
      const stored = upload.parts[String(next)];
      if (run.failed || !stored || !ctx.store.doc.multipart[id]) return;
      const range: FileRange = partRange(ctx, upload, next);
      const start = range.start ?? 0;
      const reply = await ask({ op: 'append', id, file: range.file, start, end: start + stored.size - 1 });
      if (reply.error || run.generation !== generation) {
        run.failed = true;
        return;
      }
      if (!ctx.store.doc.multipart[id]) {
        void ask({ op: 'drop', id }); // aborted while this part was being hashed
        return;
      }
      run.etags.push(stored.etag);
    }
  });
  run.chain.catch(() => {
    run.failed = true;
  });
}

/** The hex MD5 of parts 1..K with these ETags if the background hash covers exactly them, else undefined. */
export async function wholeMd5(uploadId: string, etags: string[]): Promise<string | undefined> {
  const p = progress.get(uploadId);
  if (!p) return undefined;
  await p.chain.catch(() => undefined);
  progress.delete(uploadId); // the digest ends the worker's hash: parts stored later start a new one
  const same =
    !p.failed && p.generation === generation && p.etags.length === etags.length && p.etags.every((e, i) => e === etags[i]);
  const reply = await ask({ op: same ? 'digest' : 'drop', id: uploadId });
  return same && p.generation === generation ? reply.md5 : undefined;
}

/** Forgets an upload's background hash (completed or aborted). */
export function dropWholeMd5(uploadId: string): void {
  if (!progress.delete(uploadId)) return;
  void ask({ op: 'drop', id: uploadId });
}
