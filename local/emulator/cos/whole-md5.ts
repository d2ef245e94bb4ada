/**
 * The MD5 of a multipart object (VOD reports it as MetaData.Md5), computed while the parts arrive:
 * each part, once stored, is hashed in part-number order from the page cache by a worker thread (the
 * background lane, so part ETags never wait behind it), so
 * completing the upload does not read the whole object again on the request thread. Any doubt (a
 * part replaced after it was hashed, parts listed other than 1..K, a restart, a read error) means the
 * caller hashes the object itself.
 */
import type { EmulatorContext } from '../context.ts';
import type { FileRange } from '../objects.ts';
import type { MultipartUpload } from '../state.ts';
import { md5Append, md5Digest, md5Drop, md5Generation } from './md5-worker.ts';
import { partRange } from './part-files.ts';

interface Progress {
  /** ETags of the parts hashed so far, parts 1..n in order. */
  etags: string[];
  chain: Promise<void>;
  failed: boolean;
  generation: number;
}

const progress = new Map<string, Progress>();
const hashId = (uploadId: string) => `whole/${uploadId}`;

/** Hashes, in the background, every stored part that continues the hashed run 1..n. */
export function advanceWholeMd5(ctx: EmulatorContext, upload: MultipartUpload): void {
  const id = upload.uploadId;
  const run = progress.get(id) ?? { etags: [], chain: Promise.resolve(), failed: false, generation: md5Generation() };
  progress.set(id, run);
  run.chain = run.chain.then(async () => {
    for (;;) {
      const next = run.etags.length + 1;
      const stored = upload.parts[String(next)];
      if (run.failed || !stored || !ctx.store.doc.multipart[id]) return;
      const range: FileRange = partRange(ctx, upload, next);
      const start = range.start ?? 0;
      const error = await md5Append('background', hashId(id), range.file, start, start + stored.size - 1);
      if (error || run.generation !== md5Generation()) {
        run.failed = true;
        return;
      }
      if (!ctx.store.doc.multipart[id]) {
        md5Drop('background', hashId(id)); // aborted while this part was being hashed
        return;
      }
      run.etags.push(stored.etag);
    }
  });
  run.chain.catch(() => {
    run.failed = true;
  });
}

/** The MD5 of parts 1..K with these ETags if the background hash covers exactly them, else undefined. */
export async function wholeMd5(uploadId: string, etags: string[]): Promise<Buffer | undefined> {
  const p = progress.get(uploadId);
  if (!p) return undefined;
  await p.chain.catch(() => undefined);
  progress.delete(uploadId); // the digest ends the worker's hash: parts stored later start a new one
  const same =
    !p.failed && p.generation === md5Generation() && p.etags.length === etags.length && p.etags.every((e, i) => e === etags[i]);
  if (!same) {
    md5Drop('background', hashId(uploadId));
    return undefined;
  }
  const md5 = await md5Digest('background', hashId(uploadId)).catch(() => undefined);
  return p.generation === md5Generation() ? md5 : undefined;
}

/** Forgets an upload's background hash (completed or aborted). */
export function dropWholeMd5(uploadId: string): void {
  if (progress.delete(uploadId)) md5Drop('background', hashId(uploadId));
}
