/**
 * The upload client (client/node.ts) resuming against the real functions and the VOD emulator: an
 * interrupted upload continues from the parts COS kept (only the missing parts are sent again), a stale
 * resume record is dropped, two uploads of one file keep separate records, and the resume store's lock.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { updateUpload } from '#lib/upload-store';
import { FileResumeStore, MemoryResumeStore } from '../../client/index.ts';
import type { StageEvent, UploadProgress } from '../../client/index.ts';
import { MIB, maybe, md5, stack, storedObject, uploader, useClientUploadStack } from '../support/client-upload-fixture';
import { makeFile, multipartInits, partPuts, startCosProxy, ugcCalls } from './stack';

useClientUploadStack();

const pendingMultipart = () => Object.values(stack.t.emulator.context.store.doc.multipart);

maybe('resume: an upload killed after a few parts continues from the parts COS kept, not from zero', async () => {
  const size = 10 * MIB + 4321;
  const totalParts = 11;
  const file = makeFile(stack, 'long-take.mp4', size, 6);
  const stateDir = path.join(stack.work, 'state-dave');

  const proxy = await startCosProxy(stack.t.emulator.port); // counts the part bytes COS receives
  const before = new Set(pendingMultipart().map((u) => u.uploadId));
  const ours = () => pendingMultipart().filter((u) => !before.has(u.uploadId));

  // Run 1: killed after 4 parts have arrived.
  const controller = new AbortController();
  let finishedParts = 0;
  stack.onRequestDone = (r) => {
    if (partPuts([r]).length && ++finishedParts === 4) controller.abort();
  };
  const first = await (await uploader('dave', { parallel: 2, stateDir, cosDomain: proxy.domain }))
    .upload(file, { signal: controller.signal })
    .catch((e: unknown) => e);
  expect(first).toMatchObject({ kind: 'cancelled' });
  stack.onRequestDone = undefined;
  await new Promise((r) => setTimeout(r, 300)); // let the connections of the killed parts settle
  const pending = ours();
  expect(pending).toHaveLength(1);
  const kept = Object.keys(pending[0]!.parts).map(Number);
  expect(kept.length).toBeGreaterThanOrEqual(4);
  expect(kept.length).toBeLessThan(totalParts);
  const run1Applies = ugcCalls(stack.requests, 'ApplyUploadUGC');
  expect(run1Applies).toBe(1);

  const run1Bytes = proxy.partBytes;
  expect(run1Bytes).toBeGreaterThanOrEqual(kept.length * MIB);

  // Run 2: a new client object (as after a restart), same state folder.
  stack.requests.length = 0;
  proxy.partBytes = 0;
  const progress: UploadProgress[] = [];
  const stages: StageEvent[] = [];
  const result = await (await uploader('dave', { parallel: 2, stateDir, cosDomain: proxy.domain })).upload(file, {
    onProgress: (p) => progress.push(p),
    onStage: (e) => stages.push(e),
  });
  await proxy.close();
  expect(result.resumed).toBe(true);
  expect(stages.find((s) => s.stage === 'apply')).toMatchObject({ resumed: true });

  // Only the missing parts went over the wire: no new multipart upload, none of the kept parts again.
  const sent = partPuts(stack.requests).sort((a, b) => a - b);
  const missing = Array.from({ length: totalParts }, (_, i) => i + 1).filter((n) => !kept.includes(n));
  expect(sent).toEqual(missing);
  expect(multipartInits(stack.requests)).toHaveLength(0);
  // …because the SDK found it: ListMultipartUploads, then ListParts of that upload.
  expect(stack.requests.some((r) => r.method === 'GET' && /\?uploads(=|&|$)/.test(r.url) && r.url.includes('prefix='))).toBe(
    true,
  );
  expect(stack.requests.some((r) => r.method === 'GET' && r.url.includes(`uploadId=${pending[0]!.uploadId}`))).toBe(true);
  // Bytes COS received in run 2: exactly the file minus the parts it kept, not the whole file again.
  expect(proxy.partBytes).toBe(size - kept.length * MIB);
  expect(proxy.partBytes).toBeLessThan(size);
  expect(result.resumedBytes).toBe(kept.length * MIB);
  expect(progress[0]!.loaded).toBeGreaterThanOrEqual(kept.length * MIB); // progress starts where run 1 stopped

  // The same VOD session and upload id; the object is whole.
  expect(ugcCalls(stack.requests, 'ApplyUploadUGC')).toBe(1);
  const videoPath = new URL(result.videoUrl!).pathname.replace(/^\/media\//, '');
  expect(storedObject(videoPath)?.md5).toBe(md5(file));
  expect(ours()).toHaveLength(0);
});

maybe('a resume record whose upload has moved on is dropped and the upload starts over', async () => {
  const file = makeFile(stack, 'stale.mp4', 100_000, 8);
  const store = new MemoryResumeStore();
  const keys: string[] = [];
  const client = await uploader('frank', {
    resumeStore: {
      get: (k) => store.get(k),
      set: (k, r) => {
        keys.push(k);
        store.set(k, r);
      },
      delete: (k) => store.delete(k),
    },
  });
  const done = await client.upload(file);
  // Pretend the previous run died between commit and clearing its record.
  const key = keys[0]!;
  store.set(key, { uploadId: done.uploadId, vodSessionKey: 'gone', savedAt: Date.now() });
  await updateUpload(stack.testDb.db, done.uploadId, { status: 'UPLOADED' });
  const again = await client.upload(file);
  expect(again.resumed).toBe(false);
  expect(again.uploadId).not.toBe(done.uploadId);
  expect(store.get(key)).toBeUndefined();
});

maybe('two uploads of the same file at once do not share a resume record: both commit, as two uploads', async () => {
  const video = makeFile(stack, 'twice.mp4', 2 * MIB + 7, 21);
  const [a, b] = await Promise.all([(await uploader('henry')).upload(video), (await uploader('henry')).upload(video)]);
  expect(a.uploadId).not.toBe(b.uploadId);
  expect(a.fileId).not.toBe(b.fileId);
  // Both finished, so no record and no lock is left behind.
  const store = new FileResumeStore(path.join(stack.work, 'state-henry', 'resume.json'));
  const release = store.lock(`${stack.apiUrl}|x`);
  expect(release).toBeDefined();
  release!();
  expect(fs.readdirSync(path.join(stack.work, 'state-henry')).filter((f) => f.endsWith('.lock'))).toEqual([]);
});

test('a lock left by a process that died is taken over; one held by a live process is not', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vub-lock-'));
  try {
    const store = new FileResumeStore(path.join(dir, 'resume.json'));
    const first = store.lock('k');
    expect(first).toBeDefined();
    expect(store.lock('k')).toBeUndefined(); // held by this (live) process
    first!();
    // A crashed owner: a pid that is not running.
    const lockFile = fs.readdirSync(dir).find((f) => f.endsWith('.lock'));
    expect(lockFile).toBeUndefined();
    const again = store.lock('k')!;
    const written = fs.readdirSync(dir).find((f) => f.endsWith('.lock'))!;
    fs.writeFileSync(path.join(dir, written), '999999999');
    expect(store.lock('k')).toBeDefined();
    again();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
