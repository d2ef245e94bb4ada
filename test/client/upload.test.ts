/**
 * The upload client (client/node.ts) against the real upload-signature and media-status functions and
 * the VOD emulator: a full upload with progress, waiting for READY, and cancel. Resume is in
 * upload-resume.test.ts; credential renewal, retries, the UGC endpoint and typed errors in
 * upload-failures.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { updateUpload } from '#lib/upload-store';
import { FileResumeStore, VodUploadError } from '../../client/index.ts';
import type { StageEvent, UploadProgress } from '../../client/index.ts';
import { MIB, maybe, md5, stack, storedObject, uploader, useClientUploadStack } from '../support/client-upload-fixture';
import { makeFile, partPuts, ugcCalls } from './stack';

useClientUploadStack();

maybe('uploads video and cover in parallel parts with progress, commits, and waits until the backend says READY', async () => {
  const video = makeFile(stack, 'holiday.mp4', 5 * MIB + 12345, 11);
  const cover = makeFile(stack, 'holiday-cover.png', 40_000, 12);
  const client = await uploader('alice');
  const progress: UploadProgress[] = [];
  const stages: StageEvent[] = [];
  stack.maxPartsInFlight = 0;
  {
    const result = await client.upload(video, {
      cover,
      onProgress: (p) => progress.push(p),
      onStage: (e) => {
        stages.push(e);
        // The backend learns of the upload from VOD events; play that part by moving the record along.
        if (e.stage === 'processing' && e.status === 'ISSUED') {
          setTimeout(() => {
            void updateUpload(stack.testDb.db, e.uploadId!, {
              status: 'READY',
              fileId: e.fileId!,
              result: {
                renditions: [{ url: 'http://media.example/1080.mp4', definition: 100030 }],
                cover: { url: 'http://media.example/cover.jpg' },
              },
            });
          }, 100);
        }
      },
      waitForReady: { intervalMs: 50, timeoutMs: 10_000 },
    });

    expect(result).toMatchObject({
      status: 'READY',
      resumed: false,
      resumedBytes: 0,
      totalBytes: 5 * MIB + 12345 + 40_000,
      credentialRefreshes: 0,
    });
    expect(result.fileId).toMatch(/^\d+$/);
    expect(result.videoUrl).toContain(stack.vodApiUrl);
    expect(result.coverUrl).toMatch(/\.png$/);
    expect(result.upload).toMatchObject({
      status: 'READY',
      uploadId: result.uploadId,
      renditions: [{ url: 'http://media.example/1080.mp4' }],
    });

    // The wire: Apply, six 1 MiB parts (the last one short), parts in parallel, Commit.
    expect(ugcCalls(stack.requests, 'ApplyUploadUGC')).toBe(1);
    expect(ugcCalls(stack.requests, 'CommitUploadUGC')).toBe(1);
    const videoPath = new URL(result.videoUrl!).pathname.replace(/^\/media\//, '');
    const coverPath = new URL(result.coverUrl!).pathname.replace(/^\/media\//, '');
    const partsOf = (key: string) =>
      partPuts(stack.requests.filter((r) => r.url.includes(key.split('/').pop()!))).sort((a, b) => a - b);
    expect(partsOf(videoPath)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(partsOf(coverPath)).toEqual([1]);
    expect(stack.maxPartsInFlight).toBeGreaterThanOrEqual(2);
    expect(storedObject(coverPath)?.md5).toBe(md5(cover));
    expect(storedObject(videoPath)?.md5).toBe(md5(video));

    // Progress: monotonic bytes over video + cover, ending at the total; a rate once measurable.
    expect(progress.length).toBeGreaterThan(2);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.loaded).toBeGreaterThanOrEqual(progress[i - 1]!.loaded);
    expect(progress.at(-1)).toMatchObject({ loaded: result.totalBytes, total: result.totalBytes, fraction: 1 });
    expect(stages.map((s) => s.stage)).toEqual(['signature', 'apply', 'upload', 'commit', 'processing', 'processing', 'done']);
    expect(stages.filter((s) => s.stage === 'processing').map((s) => s.status)).toEqual(['ISSUED', 'READY']);
    // A finished upload leaves no resume record.
    const store = new FileResumeStore(path.join(stack.work, 'state-alice', 'resume.json'));
    expect(fs.readFileSync(store.file, 'utf8').trim()).toBe('{}');
  }
});

maybe('waitForReady: FAILED is a processing-failed error, a stuck upload a timeout', async () => {
  const client = await uploader('erin');
  const first = await client.upload(makeFile(stack, 'fails.mp4', 300_000, 3));
  expect(first.status).toBe('COMMITTED');
  await updateUpload(stack.testDb.db, first.uploadId, {
    status: 'FAILED',
    fileId: first.fileId,
    error: { code: 'TranscodeFailed', message: 'bad stream' },
  });
  await expect(client.waitForReady(first.uploadId, { intervalMs: 20 })).rejects.toMatchObject({
    kind: 'processing-failed',
    uploadId: first.uploadId,
    code: 'TranscodeFailed',
    upload: { status: 'FAILED' },
  });

  const second = await client.upload(makeFile(stack, 'stuck.mp4', 200_000, 4));
  const t0 = Date.now();
  await expect(client.waitForReady(second.uploadId, { intervalMs: 50, timeoutMs: 400 })).rejects.toMatchObject({
    kind: 'timeout',
    upload: { status: 'ISSUED' },
  });
  expect(Date.now() - t0).toBeLessThan(3000);
});

maybe('cancel: aborting mid-upload rejects with kind cancelled, sends no commit, and keeps the resume record', async () => {
  const file = makeFile(stack, 'cancel-me.mp4', 6 * MIB, 5);
  const client = await uploader('carol', { parallel: 1 });
  const controller = new AbortController();
  stack.onRequestDone = (r) => {
    if (r.method === 'PUT' && partPuts([r]).length) controller.abort();
  };
  const t0 = Date.now();
  const error = await client.upload(file, { signal: controller.signal }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(VodUploadError);
  expect(error).toMatchObject({ kind: 'cancelled' });
  expect(Date.now() - t0).toBeLessThan(5000);
  await new Promise((r) => setTimeout(r, 200));
  expect(partPuts(stack.requests).length).toBeLessThanOrEqual(2);
  expect(ugcCalls(stack.requests, 'CommitUploadUGC')).toBe(0);
  const records = JSON.parse(fs.readFileSync(path.join(stack.work, 'state-carol', 'resume.json'), 'utf8')) as Record<
    string,
    { uploadId: string }
  >;
  expect(Object.values(records)).toHaveLength(1);

  // An already-aborted signal fails before any request.
  stack.requests.length = 0;
  await expect(client.upload(file, { signal: AbortSignal.abort() })).rejects.toMatchObject({ kind: 'cancelled' });
  expect(stack.requests).toHaveLength(0);
});
