/**
 * The upload client (client/node.ts) against the real upload-signature and media-status functions and
 * the VOD emulator: a full upload with progress, waiting for READY, cancel, resume of an interrupted
 * upload (only the missing parts are sent again), credential renewal before expiry, retries, and typed
 * errors for a refused token, the rate limit, bad input and an unreachable server.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { updateUpload } from '#lib/upload-store';
import { FileResumeStore, VodUploader, VodUploadError, MemoryResumeStore } from '../../client/index.ts';
import type { NodeUploaderOptions, StageEvent, UploadProgress } from '../../client/index.ts';
import { userToken } from '../support/jwt';
import { makeFile, multipartInits, partPuts, stackUsable, startClientStack, startCosProxy, ugcCalls } from './stack';
import type { ClientStack } from './stack';

const maybe = stackUsable ? test : test.skip;
if (!stackUsable)
  console.warn('client upload tests skipped: run them with `npm run test:jest` (PGlite needs --experimental-vm-modules)');

const MIB = 1024 * 1024;
let stack: ClientStack;

beforeAll(async () => {
  if (!stackUsable) return;
  stack = await startClientStack({ limitedSignatures: 2 });
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

beforeEach(() => {
  if (!stackUsable) return;
  stack.requests.length = 0;
  stack.onRequestDone = undefined;
  stack.t.emulator.setFaults({});
});

async function uploader(user: string, extra: Partial<NodeUploaderOptions> = {}): Promise<VodUploader> {
  return new VodUploader({
    apiBaseUrl: stack.apiUrl,
    token: await userToken(user),
    vodApiUrl: stack.vodApiUrl,
    cosDomain: stack.cosDomain,
    chunkSize: MIB,
    parallel: 3,
    stateDir: path.join(stack.work, `state-${user}`),
    retry: { retries: 3, minDelayMs: 20, maxDelayMs: 100 },
    ...extra,
  });
}

const md5 = (file: string) => createHash('md5').update(fs.readFileSync(file)).digest('hex');
const storedObject = (key: string) => Object.values(stack.t.emulator.context.store.doc.objects).find((o) => o.key === key);
const pendingMultipart = () => Object.values(stack.t.emulator.context.store.doc.multipart);

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

maybe(
  'renews the temporary COS credential before it expires (fresh signature + ApplyUploadUGC with the session key)',
  async () => {
    const ttl = 600;
    const t = stack.t;
    const file = makeFile(stack, 'slow.mp4', 6 * MIB, 9);
    const refreshed: number[] = [];
    let parts = 0;
    stack.onRequestDone = (r) => {
      // After two parts, 95 % of the credential's life passes (on the emulator's and the client's clock);
      // after the third, the first credential is past its expiry.
      if (!partPuts([r]).length) return;
      parts += 1;
      if (parts === 2) t.clock.advance(0.95 * ttl * 1000);
      if (parts === 3) t.clock.advance(0.1 * ttl * 1000);
    };
    const saved = t.emulator.context.options.tempCredentialTtlSeconds;
    t.emulator.context.options.tempCredentialTtlSeconds = ttl;
    try {
      const client = await uploader('grace', { parallel: 1, clock: t.clock.now });
      const result = await client.upload(file, { onCredentialsRefreshed: (info) => refreshed.push(info.expiredTime) });
      expect(result.credentialRefreshes).toBe(1);
      expect(refreshed).toHaveLength(1);
      expect(ugcCalls(stack.requests, 'ApplyUploadUGC')).toBe(2); // the start, and one renewal
      expect(partPuts(stack.requests)).toHaveLength(6); // no part failed with an expired credential
      const videoPath = new URL(result.videoUrl!).pathname.replace(/^\/media\//, '');
      expect(storedObject(videoPath)?.md5).toBe(md5(file));
    } finally {
      t.emulator.context.options.tempCredentialTtlSeconds = saved;
    }
  },
);

maybe('retries Apply and Commit through injected InternalErrors with backoff, each time with a fresh signature', async () => {
  stack.t.emulator.setFaults({ seed: 3, api: { internalErrorRate: 0.5, actions: ['ApplyUploadUGC', 'CommitUploadUGC'] } });
  const client = await uploader('heidi', { retry: { retries: 6, minDelayMs: 10, maxDelayMs: 40 } });
  const result = await client.upload(makeFile(stack, 'flaky.mp4', 150_000, 10));
  expect(result.fileId).toMatch(/^\d+$/);
  expect(ugcCalls(stack.requests, 'ApplyUploadUGC') + ugcCalls(stack.requests, 'CommitUploadUGC')).toBeGreaterThan(2);

  stack.t.emulator.setFaults({ api: { internalErrorRate: 1, actions: ['ApplyUploadUGC'] } });
  await expect(client.upload(makeFile(stack, 'broken.mp4', 1000, 11))).rejects.toMatchObject({
    kind: 'apply-failed',
    code: 10001,
  });
});

maybe(
  'a COS failure that outlasts the per-part retries restarts the task after a backoff, keeping the parts already sent',
  async () => {
    const failures: number[] = [];
    const proxy = await startCosProxy(stack.t.emulator.port, (req) => {
      const part = partPuts([{ ...req, done: false }])[0];
      // Part 3 fails twice (503): once is all the SDK retries here, so the task fails and is restarted.
      if (part === 3 && failures.filter((p) => p === 3).length < 2) {
        failures.push(part);
        return 503;
      }
      return undefined;
    });
    try {
      const file = makeFile(stack, 'flaky-cos.mp4', 5 * MIB, 16);
      const client = await uploader('ivy', { cosDomain: proxy.domain, parallel: 1, chunkRetries: 1 });
      const result = await client.upload(file);
      expect(failures).toEqual([3, 3]);
      // Parts 1 and 2 went once; 3 twice refused and once accepted; none started over.
      expect(partPuts(stack.requests).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
      expect(multipartInits(stack.requests)).toHaveLength(1);
      const videoPath = new URL(result.videoUrl!).pathname.replace(/^\/media\//, '');
      expect(storedObject(videoPath)?.md5).toBe(md5(file));

      // COS answering 503 every time: retried, then an upload-failed error with the status.
      const always = await startCosProxy(stack.t.emulator.port, (req) =>
        partPuts([{ ...req, done: false }]).length ? 503 : undefined,
      );
      try {
        const failing = await uploader('ivy', {
          cosDomain: always.domain,
          chunkRetries: 0,
          retry: { retries: 1, minDelayMs: 5, maxDelayMs: 5 },
        });
        await expect(failing.upload(makeFile(stack, 'never.mp4', 2 * MIB, 17))).rejects.toMatchObject({
          kind: 'upload-failed',
          status: 503,
        });
      } finally {
        await always.close();
      }
      // COS unreachable: a network error.
      const unreachable = await uploader('ivy', {
        cosDomain: '127.0.0.1:9/cos/{Bucket}/{Region}',
        chunkRetries: 0,
        retry: { retries: 1, minDelayMs: 5, maxDelayMs: 5 },
      });
      await expect(unreachable.upload(makeFile(stack, 'nowhere.mp4', 2 * MIB, 18))).rejects.toMatchObject({ kind: 'network' });
    } finally {
      await proxy.close();
    }
  },
);

maybe(
  'default UGC endpoint: vod2.qcloud.com, switching to vod2.dnsv1.com after a failed request (as vod-js-sdk-v6)',
  async () => {
    const hosts: string[] = [];
    // Stand-in for DNS: the main host is unreachable, the backup host is the emulator.
    const routedFetch: typeof fetch = (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.startsWith('https://vod2.')) hosts.push(new URL(url).host);
      if (url.startsWith('https://vod2.qcloud.com/')) return Promise.reject(new TypeError('fetch failed'));
      return fetch(url.replace('https://vod2.dnsv1.com', stack.vodApiUrl), init);
    };
    const client = await uploader('leo', { vodApiUrl: undefined, cosProtocol: 'http:', fetch: routedFetch });
    const result = await client.upload(makeFile(stack, 'backup-host.mp4', 100_000, 19));
    expect(result.fileId).toMatch(/^\d+$/);
    expect(hosts).toEqual(['vod2.qcloud.com', 'vod2.dnsv1.com', 'vod2.dnsv1.com']); // apply, retried apply, commit
  },
);

maybe('typed errors: refused token (401), rate limit (429), bad input, unreachable VOD', async () => {
  const file = makeFile(stack, 'errors.mp4', 1000, 13);
  const badToken = await userToken('ivan', { secret: 'a-different-secret-that-is-long-enough-000000' });
  const refused = await new VodUploader({ apiBaseUrl: stack.apiUrl, token: badToken, vodApiUrl: stack.vodApiUrl, resume: false })
    .upload(file)
    .catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(VodUploadError);
  expect(refused).toMatchObject({ kind: 'signature-refused', status: 401, code: 'Unauthorized' });
  expect((refused as Error).message).toMatch(/401/);
  expect(stack.requests).toHaveLength(0); // never reached VOD

  const noToken = await new VodUploader({ apiBaseUrl: stack.apiUrl, vodApiUrl: stack.vodApiUrl, resume: false })
    .upload(file)
    .catch((e: unknown) => e);
  expect(noToken).toMatchObject({ kind: 'signature-refused', status: 401 });

  // The limited backend allows two signatures per user: the upload's first, then the commit's; the next upload is refused.
  const limited = new VodUploader({
    apiBaseUrl: stack.limitedApiUrl,
    token: await userToken('judy'),
    vodApiUrl: stack.vodApiUrl,
    cosDomain: stack.cosDomain,
    resume: false,
  });
  await limited.upload(file);
  const rateLimited = await limited.upload(file).catch((e: unknown) => e);
  expect(rateLimited).toMatchObject({ kind: 'signature-refused', status: 429, code: 'RateLimited' });
  expect((rateLimited as VodUploadError).retryAfterSeconds).toBeGreaterThan(0);

  const client = await uploader('kim');
  await expect(client.upload(path.join(stack.work, 'no-such-file.mp4'))).rejects.toMatchObject({
    kind: 'bad-input',
    message: expect.stringContaining('not found'),
  });
  await expect(client.upload(stack.work)).rejects.toMatchObject({ kind: 'bad-input' });
  const notVideo = makeFile(stack, 'notes.txt', 100, 14);
  await expect(client.upload(notVideo)).rejects.toMatchObject({ kind: 'bad-input', status: 400, code: 'InvalidRequest' });
  const noExt = makeFile(stack, 'README', 100, 15);
  await expect(client.upload(noExt)).rejects.toMatchObject({ kind: 'bad-input' });
  expect(() => new VodUploader({ apiBaseUrl: 'not a url' })).toThrow(VodUploadError);
  const wrongApi = await uploader('kim', { apiBaseUrl: `${stack.apiUrl}/not-the-api` });
  await expect(wrongApi.upload(file)).rejects.toMatchObject({
    kind: 'bad-input',
    status: 404,
    message: expect.stringContaining('no such route'),
  });

  // VOD's UGC API unreachable: retried, then a network error naming the URL.
  const dead = await uploader('kim', { vodApiUrl: 'http://127.0.0.1:9', retry: { retries: 1, minDelayMs: 5, maxDelayMs: 5 } });
  await expect(dead.upload(file)).rejects.toMatchObject({ kind: 'network', message: expect.stringContaining('127.0.0.1:9') });
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
