/**
 * The delete endpoint (issue #16) in-process on a real database and the VOD emulator (the official SDK):
 * DELETE /uploads/{uploadId} (delete-upload), its bad input and access control, and deletion with VOD up,
 * down and too late (the cleanup run finishing what was left pending).
 */
import { randomUUID } from 'node:crypto';
import { runCleanup } from '#lib/cleanup';
import { loadConfig } from '#lib/config';
import { encodeUploadContext } from '#lib/upload-context';
import { getUpload, updateUpload } from '#lib/upload-store';
import { createVodClient } from '#lib/vod-api';
import { uploadViaApi, vodClient } from '../emulator/helpers';
import {
  call,
  del,
  env,
  get,
  issued,
  log,
  remove,
  service,
  serviceToken,
  t,
  testDb,
  useLibraryFunctions,
} from '../support/library-functions-fixture';

useLibraryFunctions();

/** A READY upload of `userId` whose file is really in the emulator; returns its ids and the file's URL. */
async function readyWithMedia(userId: string) {
  const uploadId = await issued(userId);
  const client = vodClient(t.emulator);
  const fileId = await uploadViaApi(t, client, 'not-this-backend');
  const info = await client.DescribeMediaInfos({ FileIds: [fileId] });
  const mediaUrl = info.MediaInfoSet![0]!.BasicInfo!.MediaUrl!;
  await updateUpload(testDb.db, uploadId, {
    status: 'READY',
    fileId,
    media: { type: 'mp4', size: 1000, duration: 2, mediaUrl },
    result: {
      renditions: [{ definition: 100010, url: `${mediaUrl}?rendition` }],
      cover: { url: `${mediaUrl}?cover` },
      snapshots: [{ url: `${mediaUrl}?snapshot` }],
    },
  });
  return { uploadId, fileId, mediaUrl };
}

async function vodHas(fileId: string): Promise<boolean> {
  const info = await vodClient(t.emulator).DescribeMediaInfos({ FileIds: [fileId] });
  return !(info.NotExistFileIdSet ?? []).includes(fileId);
}

describe('DELETE /uploads/{uploadId}', () => {
  test('an ISSUED upload is DELETED at once; deleting again answers the same', async () => {
    const uploadId = await issued('alice');
    const first = await del(uploadId, 'alice');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ uploadId, status: 'DELETED', fileId: null });
    expect(first.body).not.toHaveProperty('mediaDeletion');
    const again = await del(uploadId.toUpperCase(), 'alice');
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('DELETED');
    expect((await get('/uploads?status=DELETED', 'alice')).body.uploads).toHaveLength(1);
  });

  test('an upload with a file: the media is deleted in VOD, the view keeps no URL', async () => {
    const { uploadId, fileId, mediaUrl } = await readyWithMedia('alice');
    expect((await fetch(mediaUrl)).status).toBe(200);
    const answer = await del(uploadId, 'alice');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'DELETED', fileId, renditions: [], cover: null, snapshots: [] });
    expect(answer.body.media).toEqual({ type: 'mp4', size: 1000, duration: 2 });
    expect(JSON.stringify(answer.body)).not.toContain('http');
    expect(await vodHas(fileId)).toBe(false);
    expect((await fetch(mediaUrl)).status).toBe(404);
    const listed = await get('/uploads', 'alice');
    expect(JSON.stringify(listed.body)).not.toContain('http');
  });

  test('VOD unreachable: 202 with mediaDeletion pending; the next cleanup run deletes the media', async () => {
    const { uploadId, fileId } = await readyWithMedia('alice');
    t.emulator.setFaults({ api: { internalErrorRate: 1, actions: ['DeleteMedia'] } });
    const answer = await del(uploadId, 'alice');
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ uploadId, status: 'DELETED', mediaDeletion: 'pending' });
    expect(JSON.stringify(answer.body)).not.toContain('http');
    expect((await del(uploadId, 'alice')).status).toBe(202);
    expect((await get('/uploads', 'alice')).body.uploads[0].mediaDeletion).toBe('pending');
    expect(await vodHas(fileId)).toBe(true);

    const config = loadConfig(env);
    const cleanup = () => runCleanup({ config, db: testDb.db, vod: createVodClient(config), log, deadline: Date.now() + 20_000 });
    // Still down: the step fails as a whole, the mark stays.
    const down = await cleanup();
    expect(down.mediaDeleted).toBe(0);
    expect(await vodHas(fileId)).toBe(true);
    t.emulator.setFaults({});
    const up = await cleanup();
    expect(up.mediaDeleted).toBe(1);
    expect(await vodHas(fileId)).toBe(false);
    const done = await del(uploadId, 'alice');
    expect(done.status).toBe(200);
    expect(done.body).not.toHaveProperty('mediaDeletion');
    expect((await cleanup()).mediaDeleted).toBe(0);
  }, 60_000);

  test('the cleanup finishes more pending deletions than one batch holds', async () => {
    const uploads = [];
    for (let i = 0; i < 5; i++) uploads.push(await readyWithMedia('alice'));
    t.emulator.setFaults({ api: { internalErrorRate: 1, actions: ['DeleteMedia'] } });
    for (const { uploadId } of uploads) expect((await del(uploadId, 'alice')).status).toBe(202);
    t.emulator.setFaults({});
    const config = loadConfig({ ...env, CLEANUP_BATCH_SIZE: '2' });
    const summary = await runCleanup({ config, db: testDb.db, vod: createVodClient(config), log, deadline: Date.now() + 20_000 });
    expect(summary.mediaDeleted).toBe(5);
    for (const { fileId } of uploads) expect(await vodHas(fileId)).toBe(false);
    expect((await get('/uploads', 'alice')).body.uploads.filter((u: { mediaDeletion?: string }) => u.mediaDeletion)).toEqual([]);
  }, 90_000);

  test('a file that arrives for an upload deleted while ISSUED is deleted as an orphan', async () => {
    const uploadId = await issued('alice');
    expect((await del(uploadId, 'alice')).status).toBe(200);
    const fileId = await uploadViaApi(t, vodClient(t.emulator), encodeUploadContext({ uploadId, userId: 'alice' }));
    const config = loadConfig(env);
    const summary = await runCleanup({ config, db: testDb.db, vod: createVodClient(config), log, deadline: Date.now() + 20_000 });
    expect(summary.eventsApplied).toBeGreaterThanOrEqual(1);
    expect(await vodHas(fileId)).toBe(false);
    const upload = await getUpload(testDb.db, uploadId);
    expect(upload).toMatchObject({ status: 'DELETED', fileId: null });
  }, 60_000);

  test('deletions racing the files that arrive for them: after the next cleanup run no deleted upload has media in VOD', async () => {
    const uploads = await Promise.all(Array.from({ length: 6 }, () => issued('alice')));
    const client = vodClient(t.emulator);
    const fileIds: string[] = [];
    for (const uploadId of uploads) fileIds.push(await uploadViaApi(t, client, encodeUploadContext({ uploadId })));
    // A light pipeline: the race is about rows and files, not about ffmpeg.
    const config = loadConfig({
      ...env,
      PIPELINE_TRANSCODE_DEFINITIONS: '100010',
      PIPELINE_SPRITE_DEFINITION: '0',
      PIPELINE_ADAPTIVE_DEFINITION: '0',
      PIPELINE_SNAPSHOT_DEFINITION: '0',
      PIPELINE_COVER_DEFINITION: '0',
    });
    const cleanup = () => runCleanup({ config, db: testDb.db, vod: createVodClient(config), log, deadline: Date.now() + 20_000 });
    // The pump applies NewFileUpload while the owner deletes, staggered so that both orders happen:
    // whichever takes the row first, the file goes.
    const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const [, ...answers] = await Promise.all([
      cleanup(),
      ...uploads.map(async (uploadId, i) => {
        await later(i * 250);
        return del(uploadId, 'alice');
      }),
    ]);
    expect(answers.map((a) => a.status)).toEqual(uploads.map(() => 200));
    await cleanup();
    for (const [i, uploadId] of uploads.entries()) {
      expect((await getUpload(testDb.db, uploadId))!.status).toBe('DELETED');
      expect(await vodHas(fileIds[i]!)).toBe(false);
    }
    await t.emulator.processing.idle();
  }, 90_000);

  test("another user's upload is the same 404 as a missing one, and stays as it was; a service token may delete it", async () => {
    const { uploadId, fileId } = await readyWithMedia('bob');
    for (const caller of ['mallory', { token: await serviceToken({ sub: 'mallory', scope: 'vod-upload:admins' }) }]) {
      const answer = await del(uploadId, caller);
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('NotFound');
    }
    expect((await del(randomUUID(), 'mallory')).status).toBe(404);
    expect((await getUpload(testDb.db, uploadId))!.status).toBe('READY');
    expect(await vodHas(fileId)).toBe(true);
    const byService = await del(uploadId, await service());
    expect(byService.status).toBe(200);
    expect(byService.body.status).toBe('DELETED');
    expect(await vodHas(fileId)).toBe(false);
  }, 30_000);

  test('a bad id is a 400 naming uploadId; no token a 401; another method a 405', async () => {
    const bad = await del('not-an-id', 'alice');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('uploadId');
    expect((await del(randomUUID(), undefined)).status).toBe(401);
    const put = await call(remove, 'PUT', `/uploads/${randomUUID()}`, 'alice');
    expect(put.status).toBe(405);
  });
});
