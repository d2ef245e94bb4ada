/**
 * The complete client upload against the emulator: signature from the real `functions/upload-signature`
 * handler → ApplyUploadUGC → COS sliceUploadFile (cos-nodejs-sdk-v5) → CommitUploadUGC, then
 * DescribeMediaInfos (tencentcloud-sdk-nodejs-vod), the NewFileUpload PUSH callback, and in PULL mode
 * PullEvents/ConfirmEvents with redelivery of an unconfirmed event after 30 s on the emulator's clock.
 */
import fs from 'node:fs';
import { verifyCallbackSign } from '#lib/callback-auth';
import { decodeUploadContext } from '#lib/upload-context';
import { decode } from '#lib/upload-signature-codec';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { functionEnv, TEST_SECRET_ID, TEST_SECRET_KEY } from '../support/env';
import { functionUrlEvent, loadFunction, type HttpMainHandler } from '../support/function';
import { userToken } from '../support/jwt';
import {
  bucketOf,
  CLIP,
  cosCall,
  cosForApply,
  keyOf,
  startReceiver,
  startTestEmulator,
  tempDir,
  ugc,
  vodClient,
} from './helpers';
import type { ApplyData, Receiver, TestEmulator, VodClient } from './helpers';

// PGlite (the function's embedded database) needs Node's --experimental-vm-modules under jest, as
// `npm run test:jest` passes it; a plain `npx jest` skips this file instead of crashing the worker.
const vmModules = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('--experimental-vm-modules'));
const usable = vmModules || Boolean(process.env.TEST_DATABASE_URL);
if (!usable) console.warn('flow.test.ts skipped: run it with `npm run test:jest` (needs --experimental-vm-modules for PGlite)');
const maybe = usable ? test : test.skip;

let testDb: TestDatabase;
let signatureFunction: HttpMainHandler;
let t: TestEmulator;
let client: VodClient;
let receiver: Receiver;
const work = tempDir('vod-emulator-flow-');

beforeAll(async () => {
  if (!usable) return;
  testDb = await openTestDatabase();
  signatureFunction = loadFunction(
    'upload-signature',
    functionEnv(testDb.url ? { DATABASE_URL: testDb.url } : { DATA_DIR: testDb.dataDir }),
  );
  t = await startTestEmulator({
    credentials: [{ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY }],
    events: { pullWaitMs: 200, pushRetryDelayMs: 20 },
  });
  client = vodClient(t.emulator, { secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY });
  receiver = await startReceiver();
}, 60_000);

afterAll(async () => {
  await t?.close();
  await receiver?.close();
  await testDb?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

/** The app's client asking our backend for a signature (as vod-js-sdk-v6's getSignature would). */
async function getSignature(user: string, body: Record<string, unknown>): Promise<{ signature: string; uploadId: string }> {
  const result = await signatureFunction(
    functionUrlEvent('POST', '/upload-signature', body, { authorization: `Bearer ${await userToken(user)}` }),
  );
  expect(result.statusCode).toBe(200);
  return JSON.parse(result.body) as { signature: string; uploadId: string };
}

/** Steps 1–4 of the flow; returns the upload id, the file id and the commit reply. */
async function uploadAsClient(user: string) {
  const size = fs.statSync(CLIP).size;
  const first = await getSignature(user, { fileName: 'clip.mp4', fileSize: size, fileType: 'mp4' });
  const apply = await ugc(t.emulator, 'ApplyUploadUGC', {
    signature: first.signature,
    videoName: 'clip',
    videoType: 'mp4',
    videoSize: size,
    uploadFromWeb: true,
  });
  expect(apply.code).toBe(0);
  const data = apply.data as ApplyData;
  const cos = cosForApply(t.emulator, data, work);
  await cosCall(cos, 'sliceUploadFile', {
    Bucket: bucketOf(data),
    Region: data.storageRegionV5,
    Key: keyOf(data.video.storagePath),
    FilePath: CLIP,
  });
  const again = await getSignature(user, { uploadId: first.uploadId });
  const commit = await ugc(t.emulator, 'CommitUploadUGC', { signature: again.signature, vodSessionKey: data.vodSessionKey });
  expect(commit.code).toBe(0);
  return { uploadId: first.uploadId, signature: first.signature, fileId: commit.data.fileId as string, commit };
}

maybe('signature function → Apply → COS → Commit → DescribeMediaInfos, and NewFileUpload by PUSH', async () => {
  await client.ModifyEventConfig({
    Mode: 'PUSH',
    NotificationUrl: receiver.url,
    UploadMediaCompleteEventSwitch: 'ON',
    SignKey: 'flowSignKey1',
  });
  const { uploadId, signature, fileId, commit } = await uploadAsClient('alice');

  const info = await client.DescribeMediaInfos({ FileIds: [fileId] });
  const media = info.MediaInfoSet![0]!;
  expect(media.BasicInfo!.MediaUrl).toBe(commit.data.video.url);
  expect(media.BasicInfo!.Name).toBe('clip');
  expect(media.MetaData).toMatchObject({
    Size: fs.statSync(CLIP).size,
    Width: 320,
    Height: 240,
    Container: expect.stringContaining('mp4'),
  });
  expect(media.MetaData!.Duration).toBeCloseTo(2, 0);
  expect(media.MetaData!.VideoStreamSet![0]).toMatchObject({ Codec: 'h264', Fps: 25 });

  await t.emulator.flush();
  expect(receiver.bodies).toHaveLength(1);
  const event = receiver.bodies[0]!;
  expect(event).toMatchObject({ EventType: 'NewFileUpload', FileUploadEvent: { FileId: fileId } });
  // The signed sourceContext comes back in the event and ties it to the upload and its user.
  const sourceContext = event.FileUploadEvent.MediaBasicInfo.SourceInfo.SourceContext as string;
  expect(sourceContext).toBe(decode(signature).params.sourceContext);
  expect(decodeUploadContext(sourceContext)).toEqual({ uploadId, userId: 'alice' });
  // The backend's own check accepts the emulator's callback signature.
  expect(verifyCallbackSign({ sign: event.Sign, t: event.T }, ['flowSignKey1'], Math.floor(Date.now() / 1000))).toBe('ok');
  expect(verifyCallbackSign({ sign: event.Sign, t: event.T }, ['anotherKey'], Math.floor(Date.now() / 1000))).toBe('mismatch');
});

maybe('in PULL mode the event comes by PullEvents, again after 30 s unconfirmed, and not after ConfirmEvents', async () => {
  await client.ModifyEventConfig({ Mode: 'PULL', UploadMediaCompleteEventSwitch: 'ON' });
  const { fileId } = await uploadAsClient('bob');
  const pulled = await client.PullEvents({});
  expect(pulled.EventSet!.map((e) => [e.EventType, e.FileUploadEvent!.FileId])).toEqual([['NewFileUpload', fileId]]);

  t.clock.advance(30_500); // not confirmed within 30 s
  const redelivered = await client.PullEvents({});
  expect(redelivered.EventSet!.map((e) => e.FileUploadEvent!.FileId)).toEqual([fileId]);
  await client.ConfirmEvents({ EventHandles: [redelivered.EventSet![0]!.EventHandle!] });

  t.clock.advance(30_500);
  expect((await client.PullEvents({})).EventSet).toBeNull();
});
