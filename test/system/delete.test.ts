/**
 * Deletion end to end on the local stack (gateway, built bundles, VOD emulator with real ffmpeg): a READY
 * upload deleted through DELETE /uploads/{uploadId} is gone from VOD (DescribeMediaInfos lists it in
 * NotExistFileIdSet) and every URL handed out for it answers 404; with VOD's DeleteMedia failing the
 * answer is a 202, the media stays until the cleanup timer runs, then it is gone too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import type { UploadView } from '#contract';
import { setLogSink } from '#lib/log';
import { MemoryResumeStore, VodUploader } from '../../client/node';
import { startStack, type Stack } from '../../local/stack';
import { makeTestClip } from '../../scripts/test-clip';
import { checkedFetch } from '../support/openapi';

const fetch = checkedFetch();
const work = mkdtempSync(path.join(tmpdir(), 'vub-delete-'));
const clip = path.join(work, 'clip.mp4');
let previousSink: (line: string) => void;
let stack: Stack;

beforeAll(async () => {
  previousSink = setLogSink(() => undefined);
  makeTestClip(clip, { width: 320, height: 180, seconds: 2 });
  stack = await startStack({
    dataDir: mkdtempSync(path.join(work, 'stack-')),
    port: 0,
    emulatorPort: 0,
    timers: false,
    log: () => undefined,
    env: {
      PIPELINE_TRANSCODE_DEFINITIONS: '100010',
      PIPELINE_SPRITE_DEFINITION: '0',
      PIPELINE_SNAPSHOT_OFFSETS: '1s',
      AUTH_ADMIN_CLAIM: 'scope=vod-upload:admin',
    },
  });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  setLogSink(previousSink);
  rmSync(work, { recursive: true, force: true });
});

function vodApi() {
  return new vod.v20180717.Client({
    credential: { secretId: stack.secrets.secretId, secretKey: stack.secrets.secretKey },
    region: 'ap-guangzhou',
    profile: { httpProfile: { endpoint: stack.emulator.apiEndpoint, protocol: 'http://' } },
  });
}

async function readyUpload(userId: string): Promise<{ token: string; view: UploadView }> {
  const token = await stack.demoToken(userId);
  const uploader = new VodUploader({
    apiBaseUrl: stack.apiUrl,
    token,
    vodApiUrl: stack.emulator.url,
    cosDomain: stack.emulator.cosDomain,
    resumeStore: new MemoryResumeStore(),
    fetch,
    stateDir: path.join(work, 'client-state'),
  });
  const result = await uploader.upload(clip, { waitForReady: { timeoutMs: 60_000, intervalMs: 200 } });
  expect(result.status).toBe('READY');
  return { token, view: result.upload! };
}

/** Every URL of a view: the original, renditions, cover, snapshots. */
function urlsOf(view: UploadView): string[] {
  return [
    view.media?.url,
    ...view.renditions.map((r) => r.url),
    view.cover?.url,
    ...view.snapshots.map((s) => s.url),
    ...view.adaptiveStreams.map((s) => s.url),
  ].filter((url): url is string => typeof url === 'string');
}

async function statuses(urls: string[]): Promise<number[]> {
  return Promise.all(urls.map(async (url) => (await globalThis.fetch(url)).status));
}

async function deleteUpload(uploadId: string, token: string) {
  const response = await fetch(`${stack.apiUrl}/uploads/${uploadId}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: (await response.json()) as UploadView & { mediaDeletion?: string } };
}

async function notExisting(fileId: string): Promise<boolean> {
  const info = await vodApi().DescribeMediaInfos({ FileIds: [fileId] });
  return (info.NotExistFileIdSet ?? []).includes(fileId);
}

test('DELETE: the media is gone from VOD and every URL handed out answers 404', async () => {
  const { token, view } = await readyUpload('alice');
  const urls = urlsOf(view);
  expect(urls.length).toBeGreaterThanOrEqual(3);
  expect(await statuses(urls)).toEqual(urls.map(() => 200));

  // Someone else's token gets the same 404 as for a missing upload, and changes nothing.
  expect((await deleteUpload(view.uploadId, await stack.demoToken('mallory'))).status).toBe(404);
  expect(await notExisting(view.fileId!)).toBe(false);

  const deleted = await deleteUpload(view.uploadId, token);
  expect(deleted.status).toBe(200);
  expect(deleted.body).toMatchObject({ uploadId: view.uploadId, status: 'DELETED', renditions: [], cover: null });
  expect(await notExisting(view.fileId!)).toBe(true);
  expect(await statuses(urls)).toEqual(urls.map(() => 404));

  const status = await fetch(`${stack.apiUrl}/uploads/${view.uploadId}`, { headers: { authorization: `Bearer ${token}` } });
  const after = (await status.json()) as UploadView;
  expect(after.status).toBe('DELETED');
  expect(urlsOf(after)).toEqual([]);
  const listed = await fetch(`${stack.apiUrl}/uploads?status=DELETED`, { headers: { authorization: `Bearer ${token}` } });
  expect(((await listed.json()) as { uploads: UploadView[] }).uploads.map((u) => u.uploadId)).toEqual([view.uploadId]);
  expect((await deleteUpload(view.uploadId, token)).status).toBe(200);
}, 120_000);

test('VOD down: 202 "pending", the media stays until the cleanup timer runs, then it is gone', async () => {
  const { token, view } = await readyUpload('bob');
  const urls = urlsOf(view);
  stack.emulator.setFaults({ api: { internalErrorRate: 1, actions: ['DeleteMedia'] } });
  try {
    const pending = await deleteUpload(view.uploadId, token);
    expect(pending.status).toBe(202);
    expect(pending.body).toMatchObject({ status: 'DELETED', mediaDeletion: 'pending' });
    expect(await notExisting(view.fileId!)).toBe(false);
  } finally {
    stack.emulator.setFaults({});
  }
  await stack.gateway.invokeTimer('cleanup');
  expect(await notExisting(view.fileId!)).toBe(true);
  expect(await statuses(urls)).toEqual(urls.map(() => 404));
  const done = await deleteUpload(view.uploadId, token);
  expect(done.status).toBe(200);
  expect(done.body).not.toHaveProperty('mediaDeletion');
}, 120_000);

test("a service token lists every user's uploads through the gateway, each with its owner", async () => {
  const service = await new SignJWT({ scope: 'openid vod-upload:admin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('app-backend')
    .setIssuer('vod-upload-backend-local')
    .setAudience('vod-upload-local')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(stack.secrets.jwtSecret));
  const answer = await fetch(`${stack.apiUrl}/uploads?limit=100`, { headers: { authorization: `Bearer ${service}` } });
  expect(answer.status).toBe(200);
  const { uploads } = (await answer.json()) as { uploads: Array<{ userId: string; status: string }> };
  expect(new Set(uploads.map((u) => u.userId))).toEqual(new Set(['alice', 'bob']));
  const user = await fetch(`${stack.apiUrl}/uploads?userId=alice`, {
    headers: { authorization: `Bearer ${await stack.demoToken('bob')}` },
  });
  expect(user.status).toBe(403);
});
