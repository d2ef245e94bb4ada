/**
 * Issue #20 §9: a holder of any client-upload signature replaces the cover of someone else's media
 * (ApplyUploadUGC with that `fileId` and a cover, vod-protocol/ugc-upload.md §2.3). VOD allows it within the
 * application (no signature parameter names a file), so the emulator allows it; the event already sent keeps
 * the cover of the upload, and the backend's view of an upload shows only the cover its own pipeline made.
 */
import fs from 'node:fs';
import { uploadView } from '#lib/upload-view';
import type { Upload } from '#lib/upload-store';
import { UGC_CODES } from '../../local/emulator/index.ts';
import {
  bucketOf,
  CLIP,
  COVER,
  cosCall,
  cosForApply,
  keyOf,
  startTestEmulator,
  tempDir,
  ugc,
  uploadSignature,
  vodClient,
} from './helpers';
import type { ApplyData, TestEmulator } from './helpers';

const work = tempDir('vod-emulator-cover-');
let t: TestEmulator;
beforeEach(async () => {
  t = await startTestEmulator({ subAppIds: [1500000777] });
  await vodClient(t.emulator).ModifyEventConfig({ Mode: 'PULL', UploadMediaCompleteEventSwitch: 'ON' });
});
afterEach(() => t.close());
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

async function put(data: ApplyData, storagePath: string, file: string): Promise<void> {
  await cosCall(cosForApply(t.emulator, data, work), 'putObject', {
    Bucket: bucketOf(data),
    Region: data.storageRegionV5,
    Key: keyOf(storagePath),
    Body: fs.readFileSync(file),
  });
}

/** Alice's upload: a video without a cover, committed with her own signature. */
async function aliceUploads(): Promise<string> {
  const signature = () => uploadSignature(t.clock, { sourceContext: 'userId=alice' });
  const applied = await ugc(t.emulator, 'ApplyUploadUGC', { signature: signature(), videoName: 'holiday', videoType: 'mp4' });
  const data = applied.data as ApplyData;
  await put(data, data.video.storagePath, CLIP);
  const commit = await ugc(t.emulator, 'CommitUploadUGC', { signature: signature(), vodSessionKey: data.vodSessionKey });
  expect(commit.code).toBe(0);
  return commit.data.fileId as string;
}

/** Mallory, with a signature of her own, sends a cover for `fileId`. */
async function malloryReplacesCover(fileId: string, signInput: Record<string, unknown> = {}) {
  const signature = () => uploadSignature(t.clock, { sourceContext: 'userId=mallory', ...signInput });
  const applied = await ugc(t.emulator, 'ApplyUploadUGC', {
    signature: signature(),
    fileId,
    coverName: 'mine',
    coverType: 'png',
    coverSize: fs.statSync(COVER).size,
  });
  if (applied.code !== 0) return applied;
  const data = applied.data as ApplyData;
  await put(data, data.cover!.storagePath, COVER);
  return ugc(t.emulator, 'CommitUploadUGC', { signature: signature(), vodSessionKey: data.vodSessionKey });
}

test('any signature of the application replaces the cover (as VOD); the NewFileUpload already sent keeps the cover of the upload', async () => {
  const fileId = await aliceUploads();
  const replaced = await malloryReplacesCover(fileId);
  expect(replaced).toMatchObject({ code: 0, data: { fileId } });
  const client = vodClient(t.emulator);
  const basic = (await client.DescribeMediaInfos({ FileIds: [fileId] })).MediaInfoSet![0]!.BasicInfo!;
  expect(basic.CoverUrl).toBe(replaced.data.cover.url);

  // Pulled after the replacement: one event, the upload's, with the media as it was uploaded (no cover).
  const events = (await client.PullEvents({})).EventSet ?? [];
  expect(events.map((e) => e.EventType)).toEqual(['NewFileUpload']);
  expect(events[0]!.FileUploadEvent!.MediaBasicInfo!.CoverUrl).toBe('');
});

test('a signature of another application cannot touch the media', async () => {
  const fileId = await aliceUploads();
  const refused = await malloryReplacesCover(fileId, { vodSubAppId: 1500000777 });
  expect(refused.code).toBe(UGC_CODES.FileNotFound);
  const basic = (await vodClient(t.emulator).DescribeMediaInfos({ FileIds: [fileId] })).MediaInfoSet![0]!.BasicInfo!;
  expect(basic.CoverUrl).toBe('');
});

test("the backend's view shows the pipeline's cover, never VOD's replaceable CoverUrl", async () => {
  const fileId = await aliceUploads();
  const replaced = await malloryReplacesCover(fileId);
  const mallorys = (await vodClient(t.emulator).DescribeMediaInfos({ FileIds: [fileId] })).MediaInfoSet![0]!.BasicInfo!.CoverUrl!;
  expect(mallorys).toBe(replaced.data.cover.url);
  const now = new Date();
  const upload: Upload = {
    uploadId: '3f1c2a64-8d0e-4c47-9a53-0c4f5f8b9d21',
    userId: 'alice',
    status: 'READY',
    fileName: 'holiday.mp4',
    fileSize: fs.statSync(CLIP).size,
    fileType: 'mp4',
    coverType: null,
    fileId,
    taskId: null,
    procedure: null,
    // As a media read back from VOD after the replacement would have it.
    media: { type: 'mp4', mediaUrl: `${t.emulator.url}/media/x.mp4`, coverUrl: mallorys },
    result: { renditions: [] },
    error: null,
    review: null,
    processedAt: null,
    distributionForbidden: false,
    signatureExpiresAt: now,
    createdAt: now,
    updatedAt: now,
    statusChangedAt: now,
  };
  expect(uploadView(upload).cover).toBeNull();
  const pipelineCover = `${t.emulator.url}/media/${fileId}/cover.jpg`;
  expect(uploadView({ ...upload, result: { cover: { url: pipelineCover } } }).cover).toEqual({ url: pipelineCover });
});
