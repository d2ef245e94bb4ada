/**
 * The upload client (client/node.ts) when things go wrong, against the real functions and the VOD
 * emulator: credential renewal before expiry, retries of Apply, Commit and COS parts, the default UGC
 * endpoint's backup host, and typed errors for a refused token, the rate limit, bad input and an
 * unreachable server.
 */
import path from 'node:path';
import { VodUploader, VodUploadError } from '../../client/index.ts';
import { MIB, maybe, md5, stack, storedObject, uploader, useClientUploadStack } from '../support/client-upload-fixture';
import { userToken } from '../support/jwt';
import { makeFile, multipartInits, partPuts, startCosProxy, ugcCalls } from './stack';

useClientUploadStack();

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
