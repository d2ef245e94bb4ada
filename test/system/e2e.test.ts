/**
 * End to end on the local stack: the upload client → upload-signature → VOD emulator (UGC API, COS) →
 * NewFileUpload → ProcessMedia with real ffmpeg → ProcedureStateChanged → READY, with outputs that
 * download and probe. Then the same under duplicated, reordered and forged callbacks, and in PULL mode
 * with a procedure in the signature (the cleanup timer pumping the events).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeTestClip } from '../../scripts/test-clip';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { callbackSign } from '#lib/callback-auth';
import { setLogSink } from '#lib/log';
import { MemoryResumeStore, VodUploader } from '../../client/node';
import { startStack, type Stack } from '../../local/stack';
import { checkedFetch } from '../support/openapi';

/** Every answer of the API (here and through the upload client) is checked against docs/openapi.json. */
const fetch = checkedFetch();

const work = mkdtempSync(path.join(tmpdir(), 'vub-e2e-'));
const clip = path.join(work, 'clip.mp4');
let previousSink: (line: string) => void;

beforeAll(() => {
  previousSink = setLogSink(() => undefined);
  // 2 s, 320x180, H.264 + AAC: small enough to process in well under a second.
  makeTestClip(clip, { width: 320, height: 180, seconds: 2 });
});
afterAll(() => {
  setLogSink(previousSink);
  rmSync(work, { recursive: true, force: true });
});

const PIPELINE = {
  PIPELINE_TRANSCODE_DEFINITIONS: '100010,100020',
  PIPELINE_WATERMARK_DEFINITION: '501',
  PIPELINE_SNAPSHOT_OFFSETS: '1s',
  PIPELINE_COVER_POSITION: '50%',
};

async function withStack<T>(options: Parameters<typeof startStack>[0], fn: (stack: Stack) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(path.join(work, 'stack-'));
  const stack = await startStack({ dataDir, port: 0, emulatorPort: 0, timers: false, log: () => undefined, ...options });
  try {
    return await fn(stack);
  } finally {
    await stack.close();
  }
}

function uploader(stack: Stack, token: string): VodUploader {
  return new VodUploader({
    apiBaseUrl: stack.apiUrl,
    token,
    vodApiUrl: stack.emulator.url,
    cosDomain: stack.emulator.cosDomain,
    resumeStore: new MemoryResumeStore(),
    fetch,
    stateDir: path.join(work, 'client-state'),
  });
}

function vodApi(stack: Stack) {
  return new vod.v20180717.Client({
    credential: { secretId: stack.secrets.secretId, secretKey: stack.secrets.secretKey },
    region: 'ap-guangzhou',
    profile: { httpProfile: { endpoint: stack.emulator.apiEndpoint, protocol: 'http://' } },
  });
}

/** Downloads a URL and probes it with ffprobe (as JSON). */
async function probe(
  url: string,
  name: string,
): Promise<{
  streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number }>;
  format: { duration: string };
}> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const file = path.join(work, name);
  writeFileSync(file, Buffer.from(await response.arrayBuffer()));
  const ffprobe = (await import('@ffprobe-installer/ffprobe')).default.path;
  return JSON.parse(
    execFileSync(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', file]).toString(),
  );
}

async function expectImage(url: string): Promise<void> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const bytes = Buffer.from(await response.arrayBuffer());
  // JPEG or PNG magic.
  expect(bytes.subarray(0, 2).equals(Buffer.from([0xff, 0xd8])) || bytes.subarray(1, 4).toString() === 'PNG').toBe(true);
}

test('PUSH: upload → processing → READY with renditions, cover, snapshots and sprite that are real media', async () => {
  await withStack({ env: PIPELINE }, async (stack) => {
    const result = await uploader(stack, await stack.demoToken('alice')).upload(clip, {
      waitForReady: { timeoutMs: 60_000, intervalMs: 200 },
    });
    expect(result.status).toBe('READY');
    const view = result.upload!;
    expect(view).toMatchObject({ status: 'READY', fileId: result.fileId, error: null });
    const renditions = view.renditions ?? [];
    expect(renditions.map((r) => r.definition).sort()).toEqual([100010, 100020]);
    for (const rendition of renditions) {
      const probed = await probe(rendition.url, `r${rendition.definition}.mp4`);
      const video = probed.streams.find((s) => s.codec_type === 'video')!;
      expect(video.codec_name).toBe('h264');
      // Never upscaled past the 180p source; aspect ratio kept.
      expect(video.height).toBe(180);
      expect(video.width).toBe(320);
      expect(Number(probed.format.duration)).toBeCloseTo(2, 0);
    }
    await expectImage(view.cover!.url);
    expect(view.snapshots?.length).toBeGreaterThan(0);
    for (const snapshot of view.snapshots ?? []) await expectImage(snapshot.url);
    expect(view.sprite!.imageUrls.length).toBeGreaterThan(0);
    await expectImage(view.sprite!.imageUrls[0]!);
    expect((await fetch(view.sprite!.webVttUrl!).then((r) => r.text())).startsWith('WEBVTT')).toBe(true);
  });
}, 120_000);

test('duplicated, reordered and forged callbacks: every upload READY, one ProcessMedia task per file', async () => {
  await withStack(
    { env: { ...PIPELINE, PIPELINE_TRANSCODE_DEFINITIONS: '100010', PIPELINE_SPRITE_DEFINITION: '0' } },
    async (stack) => {
      stack.emulator.setFaults({ seed: 11, push: { duplicateRate: 0.2, reorderRate: 0.2, reorderWindowMs: 200 } });
      const client = uploader(stack, await stack.demoToken('bob'));
      const results = await Promise.all(
        Array.from({ length: 4 }, () => client.upload(clip, { waitForReady: { timeoutMs: 90_000, intervalMs: 250 } })),
      );

      // Forged callbacks with the real token and a valid Sign (as if both leaked): VOD does not confirm
      // the task, so nothing changes.
      const t = Math.floor(Date.now() / 1000) + 600;
      for (const result of results) {
        const forged = await fetch(`${stack.apiUrl}/vod-events/${stack.secrets.callbackToken}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            EventType: 'ProcedureStateChanged',
            ProcedureStateChangeEvent: {
              TaskId: `${result.fileId}-forged`,
              Status: 'FINISH',
              FileId: result.fileId,
              MediaProcessResultSet: [],
            },
            T: t,
            Sign: callbackSign(stack.secrets.signKey, t),
          }),
        });
        expect(forged.status).toBe(403);
        expect(((await forged.json()) as { error: { message: string } }).error.message).toMatch(/VOD/);
      }
      const api = vodApi(stack);
      for (const result of results) {
        expect(result.status).toBe('READY');
        const tasks = await api.DescribeTasks({ FileId: result.fileId });
        expect(tasks.TaskSet).toHaveLength(1);
      }
    },
  );
}, 180_000);

test('PULL mode with a procedure in the signature: the cleanup timer pumps the events to READY', async () => {
  await withStack({ eventMode: 'PULL', env: { ...PIPELINE, UPLOAD_PROCEDURE: 'demo' } }, async (stack) => {
    const client = uploader(stack, await stack.demoToken('carol'));
    const result = await client.upload(clip);
    const token = await stack.demoToken('carol');
    const status = async () =>
      (await (
        await fetch(`${stack.apiUrl}/uploads/${result.uploadId}`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { status: string; renditions: unknown[] };
    expect((await status()).status).toBe('ISSUED'); // nothing is pushed in PULL mode
    const deadline = Date.now() + 60_000;
    let view = await status();
    while (view.status !== 'READY' && Date.now() < deadline) {
      await stack.gateway.invokeTimer('cleanup');
      view = await status();
    }
    expect(view.status).toBe('READY');
    expect(view.renditions.length).toBeGreaterThan(0);
    // The procedure started processing: no ProcessMedia of ours, one task for the file.
    expect((await vodApi(stack).DescribeTasks({ FileId: result.fileId })).TaskSet).toHaveLength(1);
  });
}, 120_000);

test('VOD API failing 30 % of calls and timing some out: retries and the reconciler still get every upload READY, one task per file', async () => {
  await withStack(
    {
      env: {
        ...PIPELINE,
        PIPELINE_TRANSCODE_DEFINITIONS: '100010',
        PIPELINE_SPRITE_DEFINITION: '0',
        UPLOADED_RETRY_AFTER_SECONDS: '0',
        PROCESSING_DEADLINE_SECONDS: '60',
      },
    },
    async (stack) => {
      stack.emulator.setFaults({
        seed: 5,
        api: {
          internalErrorRate: 0.3,
          timeoutRate: 0.1,
          timeoutMs: 800,
          actions: ['ProcessMedia', 'DescribeMediaInfos', 'DescribeTaskDetail', 'DescribeTasks', 'SearchMedia'],
        },
      });
      const client = uploader(stack, await stack.demoToken('frank'));
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await client.upload(clip));
      const token = await stack.demoToken('frank');
      const status = async (uploadId: string) =>
        (
          (await (
            await fetch(`${stack.apiUrl}/uploads/${uploadId}`, { headers: { authorization: `Bearer ${token}` } })
          ).json()) as { status: string }
        ).status;
      const deadline = Date.now() + 90_000;
      let statuses = await Promise.all(results.map((r) => status(r.uploadId)));
      while (statuses.some((s) => s !== 'READY') && Date.now() < deadline) {
        await stack.gateway.invokeTimer('cleanup');
        await new Promise((resolve) => setTimeout(resolve, 300));
        statuses = await Promise.all(results.map((r) => status(r.uploadId)));
      }
      expect(statuses).toEqual(['READY', 'READY', 'READY', 'READY']);
      stack.emulator.setFaults({});
      for (const result of results)
        expect((await vodApi(stack).DescribeTasks({ FileId: result.fileId })).TaskSet).toHaveLength(1);
    },
  );
}, 180_000);

test('Key hotlink protection: media-status URLs play; unsigned, edited or expired ones get 403', async () => {
  const { signPlaybackUrl } = await import('#lib/playback-url-signer');
  const key = 'E2eHotlinkKey2026';
  await withStack(
    { env: { ...PIPELINE, PIPELINE_TRANSCODE_DEFINITIONS: '100010', HOTLINK_KEY: key, HOTLINK_URL_TTL_SECONDS: '300' } },
    async (stack) => {
      const result = await uploader(stack, await stack.demoToken('gina')).upload(clip, {
        waitForReady: { timeoutMs: 60_000, intervalMs: 200 },
      });
      const view = result.upload!;
      const urls = [view.renditions![0]!.url, view.cover!.url, view.snapshots![0]!.url];
      for (const url of urls) {
        expect(new URL(url).searchParams.get('sign')).toMatch(/^[0-9a-f]{32}$/);
        expect((await fetch(url)).status).toBe(200);
        const bare = url.split('?')[0]!;
        expect((await fetch(bare)).status).toBe(403);
        expect((await fetch(url.replace(/sign=[0-9a-f]{4}/, 'sign=0000'))).status).toBe(403);
        const expired = signPlaybackUrl(bare, { key, expiresAt: Math.floor(Date.now() / 1000) - 400 });
        expect((await fetch(expired)).status).toBe(403);
      }
    },
  );
}, 120_000);
