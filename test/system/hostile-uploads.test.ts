/**
 * Issue 20 through the whole local stack (emulator with real ffprobe/ffmpeg, gateway, built functions):
 * what one user uploads cannot break the system for others. A video named with U+0000 and an unpaired
 * surrogate (the client chooses the name in ApplyUploadUGC) reaches READY; random bytes named .mp4 are
 * REJECTED as not media and deleted by the next cleanup run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { openDatabase } from '#lib/db';
import { setLogSink } from '#lib/log';
import { getUpload } from '#lib/upload-store';
import { MemoryResumeStore, VodUploader } from '../../client/node';
import { startStack, type Stack } from '../../local/stack';
import { makeTestClip } from '../../scripts/test-clip';

const work = mkdtempSync(path.join(tmpdir(), 'vub-hostile-'));
let stack: Stack;
let token: string;
let client: VodUploader;
let previousSink: (line: string) => void;

beforeAll(async () => {
  previousSink = setLogSink(() => undefined);
  stack = await startStack({
    dataDir: path.join(work, 'data'),
    port: 0,
    emulatorPort: 0,
    timers: false,
    log: () => undefined,
    env: {
      PIPELINE_TRANSCODE_DEFINITIONS: '100010',
      PIPELINE_SNAPSHOT_DEFINITION: '0',
      PIPELINE_COVER_DEFINITION: '0',
      PIPELINE_SPRITE_DEFINITION: '0',
      PIPELINE_ADAPTIVE_DEFINITION: '0',
    },
  });
  token = await stack.demoToken('mallory');
  client = new VodUploader({
    apiBaseUrl: stack.apiUrl,
    token,
    vodApiUrl: stack.emulator.url,
    cosDomain: stack.emulator.cosDomain,
    resumeStore: new MemoryResumeStore(),
    stateDir: path.join(work, 'client'),
  });
}, 120_000);
afterAll(async () => {
  await stack?.close();
  setLogSink(previousSink);
  rmSync(work, { recursive: true, force: true });
});

interface View {
  status: string;
  error?: { code?: string; message?: string } | null;
}

async function view(uploadId: string): Promise<View> {
  return (await (
    await fetch(`${stack.apiUrl}/uploads/${uploadId}`, { headers: { authorization: `Bearer ${token}` } })
  ).json()) as View;
}

async function settle(uploadId: string, done: (status: string) => boolean): Promise<View> {
  const deadline = Date.now() + 90_000;
  let current = await view(uploadId);
  while (!done(current.status) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    current = await view(uploadId);
  }
  return current;
}

test('a video whose name holds U+0000 and an unpaired surrogate reaches READY, its name stored with U+FFFD', async () => {
  const clip = path.join(work, 'clip.mp4');
  makeTestClip(clip, { width: 160, height: 90, seconds: 1, fps: 10, audio: false });
  const { uploadId } = await client.upload(clip, { mediaName: 'holiday\u0000\ud800clip' });
  const ready = await settle(uploadId, (s) => s === 'READY' || s === 'FAILED');
  expect(ready.status).toBe('READY');
  // The stack's embedded database, shared in this process (lib/db keeps one PGlite per data dir).
  const db = await openDatabase({ dataDir: String(stack.env.DATA_DIR) });
  expect((await getUpload(db, uploadId))!.media!.name).toBe('holiday\uFFFD\uFFFDclip');
}, 120_000);

test('random bytes named .mp4 are REJECTED as not media, and the next cleanup deletes them from VOD', async () => {
  const noise = path.join(work, 'noise.mp4');
  writeFileSync(noise, randomBytes(64 * 1024));
  const { uploadId, fileId } = await client.upload(noise);
  const rejected = await settle(uploadId, (s) => !['ISSUED', 'UPLOADED', 'PROCESSING'].includes(s));
  expect(rejected).toMatchObject({
    status: 'REJECTED',
    error: { code: 'NotMedia', message: expect.stringContaining('cannot read the file as video') },
  });

  await stack.gateway.invokeTimer('cleanup');
  expect((await view(uploadId)).status).toBe('DELETED');
  const api = new vod.v20180717.Client({
    credential: { secretId: stack.secrets.secretId, secretKey: stack.secrets.secretKey },
    region: 'ap-guangzhou',
    profile: { httpProfile: { endpoint: stack.emulator.apiEndpoint, protocol: 'http://' } },
  });
  expect((await api.DescribeMediaInfos({ FileIds: [fileId] })).NotExistFileIdSet).toEqual([fileId]);
}, 120_000);
