/**
 * UGC upload API + COS object API with the official `cos-nodejs-sdk-v5`, using the temporary
 * credentials ApplyUploadUGC hands out: putObject, a 64 MB sliceUploadFile with parallel parts and a
 * resumed upload, multipart validation, Range reads, credential failures as COS XML errors, and
 * persistence across a restart.
 */
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import COS from 'cos-nodejs-sdk-v5';
import { encodeOriginal } from '#lib/upload-signature-codec';
import { UGC_CODES } from '../../local/emulator/index.ts';
import {
  bucketOf,
  CLIP,
  COVER,
  cosCall,
  cosForApply,
  keyOf,
  SECRET_ID,
  SECRET_KEY,
  startTestEmulator,
  tempDir,
  ugc,
  uploadSignature,
  vodClient,
  writeRandomFile,
} from './helpers';
import type { ApplyData, TestEmulator } from './helpers';

let t: TestEmulator;
const requests: { method: string; url: string; host: string }[] = [];
const work = tempDir('vod-emulator-files-');
/** Part uploads being received right now, the most seen at once, and a hook per part upload. */
let partsInFlight = 0;
let maxPartsInFlight = 0;
let onPartUpload: (() => void) | undefined;

beforeAll(async () => {
  t = await startTestEmulator({
    onRequest: (r) => {
      requests.push(r);
      if (r.method !== 'PUT' || !r.url.includes('partNumber=')) return;
      partsInFlight += 1;
      maxPartsInFlight = Math.max(maxPartsInFlight, partsInFlight);
      onPartUpload?.();
      return () => {
        partsInFlight -= 1;
      };
    },
  });
});
afterAll(async () => {
  await t.close();
  fs.rmSync(work, { recursive: true, force: true });
});

async function apply(body: Record<string, unknown> = {}, signInput = {}): Promise<ApplyData> {
  const reply = await ugc(t.emulator, 'ApplyUploadUGC', {
    signature: uploadSignature(t.clock, signInput),
    videoName: 'clip',
    videoType: 'mp4',
    uploadFromWeb: true,
    ...body,
  });
  expect(reply).toMatchObject({ code: 0 });
  return reply.data as ApplyData;
}

function md5File(file: string): string {
  return createHash('md5').update(fs.readFileSync(file)).digest('hex');
}

async function cosError(
  promise: Promise<unknown>,
): Promise<{ statusCode?: number; code?: string; message?: string; error?: any }> {
  try {
    await promise;
  } catch (error) {
    return error as { statusCode?: number; code?: string };
  }
  throw new Error('expected the COS call to fail');
}

describe('ApplyUploadUGC / CommitUploadUGC', () => {
  test('apply returns the documented fields; putObject with the temporary credential; commit creates the media', async () => {
    const size = fs.statSync(CLIP).size;
    const before = Math.floor(t.clock.now() / 1000);
    const reply = await ugc(t.emulator, 'ApplyUploadUGC', {
      signature: uploadSignature(t.clock, { sourceContext: 'upload-42', classId: 3 }),
      videoName: 'clip',
      videoType: 'mp4',
      videoSize: size,
      coverName: 'cover',
      coverType: 'png',
      coverSize: fs.statSync(COVER).size,
      uploadFromWeb: true,
    });
    expect(reply.code).toBe(0);
    const data = reply.data as ApplyData & Record<string, any>;
    expect(data.storageBucket).toMatch(/^[0-9a-f]{8}vodgz1500000001$/); // no -appid suffix
    expect(data.storageAppId).toBe(1250000001);
    expect(data.storageRegion).toBe('gz');
    expect(data.storageRegionV5).toBe('ap-guangzhou');
    expect(data.StorageRegionV5).toBe('ap-guangzhou');
    expect(data.video.storagePath).toMatch(new RegExp(`^/${data.storageBucket}/[0-9a-f]{8}\\d{19}/\\w+\\.mp4$`));
    expect(data.cover!.storagePath).toMatch(/\.png$/);
    expect(data.video).toHaveProperty('storageSignature');
    expect(data.tempCertificate.expiredTime).toBeGreaterThan(data.timestamp);
    // The reply's second, which may tick over while the call runs.
    expect(data.timestamp).toBeGreaterThanOrEqual(before);
    expect(data.timestamp).toBeLessThanOrEqual(Math.floor(t.clock.now() / 1000));
    expect(data.appId).toBe(1500000001);

    const cos = cosForApply(t.emulator, data, work);
    const put = await cosCall(cos, 'putObject', {
      Bucket: bucketOf(data),
      Region: data.storageRegionV5,
      Key: keyOf(data.video.storagePath),
      Body: fs.readFileSync(CLIP),
    });
    expect(put.ETag).toBe(`"${md5File(CLIP)}"`);
    await cosCall(cos, 'putObject', {
      Bucket: bucketOf(data),
      Region: data.storageRegionV5,
      Key: keyOf(data.cover!.storagePath),
      Body: fs.createReadStream(COVER),
    });

    const head = await cosCall(cos, 'headObject', {
      Bucket: bucketOf(data),
      Region: data.storageRegionV5,
      Key: keyOf(data.video.storagePath),
    });
    expect(head.headers['content-length']).toBe(String(size));
    const range = await cosCall(cos, 'getObject', {
      Bucket: bucketOf(data),
      Region: data.storageRegionV5,
      Key: keyOf(data.video.storagePath),
      Range: 'bytes=4-11',
    });
    expect(range.statusCode).toBe(206);
    expect(range.headers['content-range']).toBe(`bytes 4-11/${size}`);
    expect(Buffer.from(range.Body).equals(fs.readFileSync(CLIP).subarray(4, 12))).toBe(true);

    const commit = await ugc(t.emulator, 'CommitUploadUGC', {
      signature: uploadSignature(t.clock),
      vodSessionKey: data.vodSessionKey,
    });
    expect(commit.code).toBe(0);
    const fileId = commit.data.fileId as string;
    expect(data.video.storagePath).toContain(fileId);
    expect(commit.data.video.url).toBe(`${t.emulator.url}/media${data.video.storagePath}`);
    expect(commit.data.cover.url).toBe(`${t.emulator.url}/media${data.cover!.storagePath}`);
    const verify = Buffer.from(commit.data.video.verify_content as string, 'base64')
      .subarray(20)
      .toString();
    expect(verify).toMatch(new RegExp(`^ExpTime=\\d+&FileId=${fileId}$`));

    const media = await fetch(commit.data.video.url, { headers: { range: 'bytes=0-3' } });
    expect(media.status).toBe(206);
    expect(Buffer.from(await media.arrayBuffer()).equals(fs.readFileSync(CLIP).subarray(0, 4))).toBe(true);

    const info = await vodClient(t.emulator).DescribeMediaInfos({ FileIds: [fileId] });
    expect(info.MediaInfoSet![0]!.BasicInfo).toMatchObject({
      Name: 'clip',
      ClassId: 3,
      CoverUrl: commit.data.cover.url,
      SourceInfo: { SourceContext: 'upload-42' },
    });
    expect(info.MediaInfoSet![0]!.MetaData).toMatchObject({ Width: 320, Height: 240, Size: size });

    // Committing again is idempotent (a client that lost the reply retries).
    const again = await ugc(t.emulator, 'CommitUploadUGC', {
      signature: uploadSignature(t.clock),
      vodSessionKey: data.vodSessionKey,
    });
    expect(again).toMatchObject({ code: 0, data: { fileId } });
  });

  test('signature errors: expired → 10010, wrong key → 10009, out-of-range parameter → 10002, one-time reuse → 10012', async () => {
    const expired = uploadSignature(t.clock, { validitySeconds: 60 });
    t.clock.advance(61_000);
    try {
      expect(await ugc(t.emulator, 'ApplyUploadUGC', { signature: expired, videoType: 'mp4' })).toMatchObject({
        code: UGC_CODES.SignatureExpired,
      });
    } finally {
      t.clock.advance(-61_000);
    }
    expect(
      await ugc(t.emulator, 'ApplyUploadUGC', { signature: uploadSignature(t.clock, {}, 'wrong-key'), videoType: 'mp4' }),
    ).toMatchObject({ code: UGC_CODES.SignatureInvalid });
    expect(await ugc(t.emulator, 'ApplyUploadUGC', { signature: 'bm90IGEgc2lnbmF0dXJl', videoType: 'mp4' })).toMatchObject({
      code: UGC_CODES.SignatureInvalid,
    });

    // A correctly MACed signature whose sourceContext exceeds 250 characters (sign() refuses to make one).
    const now = Math.floor(t.clock.now() / 1000);
    const original = encodeOriginal({
      secretId: SECRET_ID,
      currentTimeStamp: now,
      expireTime: now + 600,
      random: 7,
      sourceContext: 'x'.repeat(251),
    });
    const tooLong = Buffer.concat([createHmac('sha1', SECRET_KEY).update(original).digest(), Buffer.from(original)]).toString(
      'base64',
    );
    const limitReply = await ugc(t.emulator, 'ApplyUploadUGC', { signature: tooLong, videoType: 'mp4' });
    expect(limitReply.code).toBe(UGC_CODES.InvalidParameter);
    expect(limitReply.message).toContain('sourceContext');

    // Empty optional values, as Tencent's Node sample signs them, are accepted and mean "absent".
    const sample = `secretId=${SECRET_ID}&currentTimeStamp=${now}&expireTime=${now + 600}&random=8&procedure=&sourceContext=`;
    const sampleSignature = Buffer.concat([createHmac('sha1', SECRET_KEY).update(sample).digest(), Buffer.from(sample)]).toString(
      'base64',
    );
    expect(await ugc(t.emulator, 'ApplyUploadUGC', { signature: sampleSignature, videoType: 'mp4' })).toMatchObject({
      code: 0,
      data: { vodSessionKey: expect.any(String) },
    });

    const once = uploadSignature(t.clock, { oneTimeValid: 1 });
    expect((await ugc(t.emulator, 'ApplyUploadUGC', { signature: once, videoType: 'mp4' })).code).toBe(0);
    expect(await ugc(t.emulator, 'ApplyUploadUGC', { signature: once, videoType: 'mp4' })).toMatchObject({
      code: UGC_CODES.SignatureReused,
    });
  });

  test('request errors: bad names, unknown session, commit before upload, size mismatch, storage region, sub-application', async () => {
    expect(
      (await ugc(t.emulator, 'ApplyUploadUGC', { signature: uploadSignature(t.clock), videoName: 'a/b', videoType: 'mp4' })).code,
    ).toBe(UGC_CODES.InvalidParameter);
    expect((await ugc(t.emulator, 'ApplyUploadUGC', { signature: uploadSignature(t.clock) })).code).toBe(
      UGC_CODES.InvalidParameter,
    );
    expect(
      (await ugc(t.emulator, 'CommitUploadUGC', { signature: uploadSignature(t.clock), vodSessionKey: 'unknown' })).code,
    ).toBe(UGC_CODES.SessionInvalid);
    expect(
      (
        await ugc(t.emulator, 'ApplyUploadUGC', {
          signature: uploadSignature(t.clock, { storageRegion: 'ap-tokyo' }),
          videoType: 'mp4',
        })
      ).code,
    ).toBe(UGC_CODES.InvalidParameter);
    expect(
      (await ugc(t.emulator, 'ApplyUploadUGC', { signature: uploadSignature(t.clock, { vodSubAppId: 1234 }), videoType: 'mp4' }))
        .code,
    ).toBe(UGC_CODES.InvalidParameter);
    expect((await ugc(t.emulator, 'NoSuchAction', { signature: uploadSignature(t.clock) })).code).toBe(UGC_CODES.InvalidAction);

    const data = await apply({ videoSize: 10 });
    const notYet = await ugc(t.emulator, 'CommitUploadUGC', {
      signature: uploadSignature(t.clock),
      vodSessionKey: data.vodSessionKey,
    });
    expect(notYet.code).toBe(UGC_CODES.UploadIncomplete);
    const cos = cosForApply(t.emulator, data, work);
    await cosCall(cos, 'putObject', {
      Bucket: bucketOf(data),
      Region: data.storageRegionV5,
      Key: keyOf(data.video.storagePath),
      Body: Buffer.alloc(11),
    });
    const mismatch = await ugc(t.emulator, 'CommitUploadUGC', {
      signature: uploadSignature(t.clock),
      vodSessionKey: data.vodSessionKey,
    });
    expect(mismatch.code).toBe(UGC_CODES.UploadIncomplete);
    expect(mismatch.message).toContain('11 bytes');
  });

  test('procedure, sessionContext and the sub-application from the signature are honoured', async () => {
    const t2 = await startTestEmulator({ subAppIds: [1500000777], procedures: ['VideoPipeline'] });
    try {
      const bad = await ugc(t2.emulator, 'ApplyUploadUGC', {
        signature: uploadSignature(t2.clock, { procedure: 'Nope' }),
        videoType: 'mp4',
      });
      expect(bad.code).toBe(UGC_CODES.InvalidParameter);
      const reply = await ugc(t2.emulator, 'ApplyUploadUGC', {
        signature: uploadSignature(t2.clock, { procedure: 'VideoPipeline', sessionContext: 'sess', vodSubAppId: 1500000777 }),
        videoName: 'v',
        videoType: 'mp4',
      });
      expect(reply.code).toBe(0);
      const data = reply.data as ApplyData;
      expect(data.storageBucket).toMatch(/vodgz1500000777$/);
      await cosCall(cosForApply(t2.emulator, data, work), 'putObject', {
        Bucket: bucketOf(data),
        Region: data.storageRegionV5,
        Key: keyOf(data.video.storagePath),
        Body: fs.readFileSync(CLIP),
      });
      // Commit needs a signature for the same sub-application.
      expect(
        (await ugc(t2.emulator, 'CommitUploadUGC', { signature: uploadSignature(t2.clock), vodSessionKey: data.vodSessionKey }))
          .code,
      ).toBe(UGC_CODES.SessionInvalid);
      const commit = await ugc(t2.emulator, 'CommitUploadUGC', {
        signature: uploadSignature(t2.clock, { vodSubAppId: 1500000777 }),
        vodSessionKey: data.vodSessionKey,
      });
      expect(commit.code).toBe(0);
      const media = t2.emulator.context.store.doc.media[commit.data.fileId]!;
      expect(media).toMatchObject({ appId: 1500000777, procedure: 'VideoPipeline', sessionContext: 'sess' });
      expect(media.procedureTaskId).toMatch(/^1500000777-Procedure-/);
      const client = vodClient(t2.emulator);
      expect((await client.DescribeMediaInfos({ FileIds: [commit.data.fileId] })).NotExistFileIdSet).toEqual([
        commit.data.fileId,
      ]);
      expect(
        (await client.DescribeMediaInfos({ FileIds: [commit.data.fileId], SubAppId: 1500000777 })).MediaInfoSet,
      ).toHaveLength(1);
    } finally {
      await t2.close();
    }
  });

  test('a cover-only upload (fileId + cover) replaces the cover of existing media', async () => {
    const data = await apply();
    const cos = cosForApply(t.emulator, data, work);
    await cosCall(cos, 'putObject', {
      Bucket: bucketOf(data),
      Region: data.storageRegionV5,
      Key: keyOf(data.video.storagePath),
      Body: fs.readFileSync(CLIP),
    });
    const commit = await ugc(t.emulator, 'CommitUploadUGC', {
      signature: uploadSignature(t.clock),
      vodSessionKey: data.vodSessionKey,
    });
    const fileId = commit.data.fileId as string;
    expect(commit.data.cover).toBeUndefined();

    const coverApply = await ugc(t.emulator, 'ApplyUploadUGC', {
      signature: uploadSignature(t.clock),
      fileId,
      coverName: 'new',
      coverType: 'png',
      coverSize: fs.statSync(COVER).size,
    });
    expect(coverApply.code).toBe(0);
    const coverData = coverApply.data as ApplyData;
    expect(coverData.video).toBeUndefined();
    expect(coverData.cover!.storagePath).toContain(fileId);
    await cosCall(cosForApply(t.emulator, coverData, work), 'putObject', {
      Bucket: bucketOf(coverData),
      Region: coverData.storageRegionV5,
      Key: keyOf(coverData.cover!.storagePath),
      Body: fs.readFileSync(COVER),
    });
    const coverCommit = await ugc(t.emulator, 'CommitUploadUGC', {
      signature: uploadSignature(t.clock),
      vodSessionKey: coverData.vodSessionKey,
    });
    expect(coverCommit).toMatchObject({ code: 0, data: { fileId } });
    const info = await vodClient(t.emulator).DescribeMediaInfos({ FileIds: [fileId] });
    expect(info.MediaInfoSet![0]!.BasicInfo!.CoverUrl).toBe(coverCommit.data.cover.url);
    expect((await fetch(coverCommit.data.cover.url)).headers.get('content-length')).toBe(String(fs.statSync(COVER).size));

    const unknown = await ugc(t.emulator, 'ApplyUploadUGC', {
      signature: uploadSignature(t.clock),
      fileId: '1111111111111111111',
      coverType: 'png',
    });
    expect(unknown.code).toBe(UGC_CODES.FileNotFound);
  });

  test('PrepareUploadUGC lists the storage regions', async () => {
    const reply = await ugc(t.emulator, 'PrepareUploadUGC', { signature: uploadSignature(t.clock) });
    expect(reply).toMatchObject({
      code: 0,
      data: {
        appId: 1500000001,
        cosRegionList: [{ region: 'ap-guangzhou', domain: `${t.emulator.bucketFor()}.cos.ap-guangzhou.myqcloud.com` }],
      },
    });
  });
});

describe('COS with the temporary credentials', () => {
  test('a 64 MB sliceUploadFile with parallel parts, then an interrupted upload resumed by a new client', async () => {
    const file = path.join(work, 'big.bin');
    writeRandomFile(file, 64 * 1024 * 1024, 3);
    const expectedMd5 = md5File(file);
    const data = await apply({ videoSize: 64 * 1024 * 1024 });
    const bucket = bucketOf(data);
    const key = keyOf(data.video.storagePath);
    const partPuts = () =>
      requests.filter(
        (r) => r.method === 'PUT' && r.url.includes('partNumber=') && r.url.includes(encodeURIComponent(key).split('%2F').pop()!),
      ).length;

    // 1. Parallel upload of the whole file.
    const cos = cosForApply(t.emulator, data, work);
    maxPartsInFlight = 0;
    const done = await cosCall(cos, 'sliceUploadFile', {
      Bucket: bucket,
      Region: data.storageRegionV5,
      Key: key,
      FilePath: file,
      ChunkSize: 4 * 1024 * 1024,
      AsyncLimit: 4,
    });
    expect(maxPartsInFlight).toBeGreaterThanOrEqual(2);
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-16"$/);
    expect(partPuts()).toBe(16);
    const stored = Object.values(t.emulator.context.store.doc.objects).find((o) => o.key === key)!;
    expect(stored.size).toBe(64 * 1024 * 1024);
    expect(stored.md5).toBe(expectedMd5);

    // 2. A second upload of the same key is interrupted after a few parts, then resumed by a fresh client.
    const before = partPuts();
    const interrupted = cosForApply(t.emulator, data, work);
    let taskId = '';
    let seen = 0;
    const cancelled = new Promise<void>((resolve) => {
      onPartUpload = () => {
        seen += 1;
        if (seen === 5) {
          onPartUpload = undefined;
          interrupted.cancelTask(taskId);
          setTimeout(resolve, 300);
        }
      };
      void cosCall(interrupted, 'sliceUploadFile', {
        Bucket: bucket,
        Region: data.storageRegionV5,
        Key: key,
        FilePath: file,
        ChunkSize: 4 * 1024 * 1024,
        AsyncLimit: 2,
        onTaskReady: (id: string) => {
          taskId = id;
        },
      }).catch(() => undefined);
    });
    await cancelled;
    const firstRun = partPuts() - before;
    expect(firstRun).toBeGreaterThanOrEqual(5);
    expect(firstRun).toBeLessThan(16);
    const pending = Object.values(t.emulator.context.store.doc.multipart).filter((u) => u.key === key);
    expect(pending).toHaveLength(1);
    const partsKept = Object.keys(pending[0]!.parts).length;
    expect(partsKept).toBeGreaterThanOrEqual(3);

    const resumedClient = cosForApply(t.emulator, data, work);
    const resumed = await cosCall(resumedClient, 'sliceUploadFile', {
      Bucket: bucket,
      Region: data.storageRegionV5,
      Key: key,
      FilePath: file,
      ChunkSize: 4 * 1024 * 1024,
    });
    expect(resumed.ETag).toMatch(/-16"$/);
    const secondRun = partPuts() - before - firstRun;
    expect(firstRun + secondRun).toBeLessThanOrEqual(16 + 2); // parts in flight at the cancel may be sent again
    expect(secondRun).toBe(16 - partsKept); // only the missing parts are sent again
    expect(Object.values(t.emulator.context.store.doc.multipart).filter((u) => u.key === key)).toHaveLength(0);
    const final = Object.values(t.emulator.context.store.doc.objects).find((o) => o.key === key)!;
    expect(final.md5).toBe(expectedMd5);

    const commit = await ugc(t.emulator, 'CommitUploadUGC', {
      signature: uploadSignature(t.clock),
      vodSessionKey: data.vodSessionKey,
    });
    expect(commit.code).toBe(0);
    fs.rmSync(file);
  }, 90_000);

  test('multipart: list, ETag validation on complete, part order, too-small parts, abort', async () => {
    const data = await apply();
    const cos = cosForApply(t.emulator, data, work);
    const p = { Bucket: bucketOf(data), Region: data.storageRegionV5, Key: keyOf(data.video.storagePath) };
    const init = await cosCall(cos, 'multipartInit', p);
    const UploadId = init.UploadId as string;
    const part1 = Buffer.alloc(1024 * 1024, 1);
    const part2 = Buffer.from('tail');
    const u1 = await cosCall(cos, 'multipartUpload', { ...p, UploadId, PartNumber: 1, Body: part1 });
    const u2 = await cosCall(cos, 'multipartUpload', { ...p, UploadId, PartNumber: 2, Body: part2 });
    expect(u1.ETag).toBe(`"${createHash('md5').update(part1).digest('hex')}"`);

    const listed = await cosCall(cos, 'multipartListPart', { ...p, UploadId });
    expect(listed.Part.map((x: any) => [x.PartNumber, x.ETag, x.Size])).toEqual([
      ['1', u1.ETag, String(part1.length)],
      ['2', u2.ETag, String(part2.length)],
    ]);
    const uploads = await cosCall(cos, 'multipartList', { Bucket: p.Bucket, Region: p.Region, Prefix: p.Key });
    expect(uploads.Upload.map((u: any) => u.UploadId)).toContain(UploadId);

    const wrongEtag = await cosError(
      cosCall(cos, 'multipartComplete', {
        ...p,
        UploadId,
        Parts: [
          { PartNumber: 1, ETag: u1.ETag },
          { PartNumber: 2, ETag: '"0000"' },
        ],
      }),
    );
    expect(wrongEtag.statusCode).toBe(400);
    expect(wrongEtag.code).toBe('InvalidPart');
    const order = await cosError(
      cosCall(cos, 'multipartComplete', {
        ...p,
        UploadId,
        Parts: [
          { PartNumber: 2, ETag: u2.ETag },
          { PartNumber: 1, ETag: u1.ETag },
        ],
      }),
    );
    expect(order.code).toBe('InvalidPartOrder');
    const small = await cosError(
      cosCall(cos, 'multipartComplete', {
        ...p,
        UploadId,
        Parts: [
          { PartNumber: 2, ETag: u2.ETag },
          { PartNumber: 3, ETag: u2.ETag },
        ],
      }),
    );
    expect(small.code).toBe('InvalidPart');

    const ok = await cosCall(cos, 'multipartComplete', {
      ...p,
      UploadId,
      Parts: [
        { PartNumber: 1, ETag: u1.ETag },
        { PartNumber: 2, ETag: u2.ETag },
      ],
    });
    expect(ok.ETag).toMatch(/-2"$/);
    const body = await cosCall(cos, 'getObject', p);
    expect(Buffer.from(body.Body).equals(Buffer.concat([part1, part2]))).toBe(true);

    const init2 = await cosCall(cos, 'multipartInit', p);
    const s1 = await cosCall(cos, 'multipartUpload', {
      ...p,
      UploadId: init2.UploadId,
      PartNumber: 1,
      Body: Buffer.from('tiny'),
    });
    const s2 = await cosCall(cos, 'multipartUpload', {
      ...p,
      UploadId: init2.UploadId,
      PartNumber: 2,
      Body: Buffer.from('tiny'),
    });
    const tooSmall = await cosError(
      cosCall(cos, 'multipartComplete', {
        ...p,
        UploadId: init2.UploadId,
        Parts: [
          { PartNumber: 1, ETag: s1.ETag },
          { PartNumber: 2, ETag: s2.ETag },
        ],
      }),
    );
    expect(tooSmall.code).toBe('EntityTooSmall');
    await cosCall(cos, 'multipartAbort', { ...p, UploadId: init2.UploadId });
    const gone = await cosError(cosCall(cos, 'multipartListPart', { ...p, UploadId: init2.UploadId }));
    expect(gone.code).toBe('NoSuchUpload');
  });

  test('a wrong or expired credential is refused with COS XML errors', async () => {
    const data = await apply();
    const p = {
      Bucket: bucketOf(data),
      Region: data.storageRegionV5,
      Key: keyOf(data.video.storagePath),
      Body: Buffer.from('x'),
    };

    const wrongKey = cosForApply(t.emulator, { ...data, tempCertificate: { ...data.tempCertificate, secretKey: 'wrong' } }, work);
    const e1 = await cosError(cosCall(wrongKey, 'putObject', p));
    expect(e1.statusCode).toBe(403);
    expect(e1.code).toBe('SignatureDoesNotMatch');

    const wrongToken = cosForApply(t.emulator, { ...data, tempCertificate: { ...data.tempCertificate, token: 'forged' } }, work);
    expect((await cosError(cosCall(wrongToken, 'putObject', p))).code).toBe('InvalidAccessKeyId');

    const otherKey = cosForApply(t.emulator, data, work);
    const e3 = await cosError(cosCall(otherKey, 'putObject', { ...p, Key: 'somewhere/else.mp4' }));
    expect(e3.statusCode).toBe(403);
    expect(e3.code).toBe('AccessDenied');

    // Raw response: an XML <Error> document with COS's fields.
    const raw = await fetch(`${t.emulator.url}/cos/${p.Bucket}/${p.Region}/${p.Key}`, {
      method: 'PUT',
      body: 'x',
      headers: {
        authorization:
          'q-sign-algorithm=sha1&q-ak=AKIDnobody&q-sign-time=1;2&q-key-time=1;2&q-header-list=&q-url-param-list=&q-signature=00',
      },
    });
    expect(raw.status).toBe(403);
    expect(raw.headers.get('content-type')).toBe('application/xml');
    const xml = await raw.text();
    expect(xml).toMatch(
      /<Error><Code>InvalidAccessKeyId<\/Code><Message>[^<]+<\/Message><Resource>[^<]+<\/Resource><RequestId>[^<]+<\/RequestId><TraceId>/,
    );

    t.clock.advance((data.tempCertificate.expiredTime - data.timestamp + 1) * 1000);
    try {
      const expired = await cosError(cosCall(cosForApply(t.emulator, data, work), 'putObject', p));
      expect(expired.statusCode).toBe(403);
      expect(expired.code).toBe('AccessDenied');
      expect(expired.message ?? expired.error?.Message).toMatch(/expired/);
    } finally {
      t.clock.advance(-(data.tempCertificate.expiredTime - data.timestamp + 1) * 1000);
    }
  });

  test('resume by vodSessionKey: same paths, a fresh credential', async () => {
    const first = await apply();
    const again = await ugc(t.emulator, 'ApplyUploadUGC', {
      signature: uploadSignature(t.clock),
      vodSessionKey: first.vodSessionKey,
      uploadFromWeb: true,
    });
    expect(again.code).toBe(0);
    expect(again.data.video.storagePath).toBe(first.video.storagePath);
    expect(again.data.vodSessionKey).toBe(first.vodSessionKey);
    expect(again.data.tempCertificate.secretId).not.toBe(first.tempCertificate.secretId);
  });

  test('virtual-host addressing through a proxy (absolute-URI request line) works with the real bucket host', async () => {
    const data = await apply();
    const cos = cosForApply(t.emulator, data, work, { Domain: undefined, Proxy: t.emulator.url });
    const p = { Bucket: bucketOf(data), Region: data.storageRegionV5, Key: keyOf(data.video.storagePath) };
    await cosCall(cos, 'putObject', { ...p, Body: Buffer.from('via proxy') });
    const got = await cosCall(cos, 'getObject', p);
    expect(Buffer.from(got.Body).toString()).toBe('via proxy');
    expect(requests.some((r) => r.url.startsWith(`http://${p.Bucket}.cos.${p.Region}.myqcloud.com/`))).toBe(true);
  });

  test('bare Domain form (host:port only): the bucket comes from the temporary credential', async () => {
    const data = await apply();
    const cos = cosForApply(t.emulator, data, work, { Domain: t.emulator.apiEndpoint });
    const p = { Bucket: bucketOf(data), Region: data.storageRegionV5, Key: keyOf(data.video.storagePath) };
    await cosCall(cos, 'putObject', { ...p, Body: Buffer.from('bare domain') });
    const got = await cosCall(cos, 'getObject', p);
    expect(Buffer.from(got.Body).toString()).toBe('bare domain');
    expect(t.emulator.context.store.doc.objects[`${p.Bucket}/${p.Key}`]?.size).toBe(11);
  });

  test('the account key (not only temporary credentials) may use any key; list results honour encoding-type=url', async () => {
    const cos = new COS({
      SecretId: SECRET_ID,
      SecretKey: SECRET_KEY,
      Domain: t.emulator.cosDomain,
      Protocol: 'http:',
      ConfCwd: work,
    });
    const p = { Bucket: t.emulator.bucketFor(), Region: 'ap-guangzhou' };
    await cosCall(cos, 'putObject', { ...p, Key: 'odd dir/a b+c(1).txt', Body: Buffer.from('odd') });
    const plain = await cosCall(cos, 'getBucket', { ...p, Prefix: 'odd dir/' });
    expect(plain.Contents.map((c: any) => c.Key)).toEqual(['odd dir/a b+c(1).txt']);
    const encoded = await cosCall(cos, 'getBucket', { ...p, Prefix: 'odd dir/', EncodingType: 'url' });
    expect(encoded.Contents.map((c: any) => c.Key)).toEqual([encodeURIComponent('odd dir/a b+c(1).txt')]);
    const got = await cosCall(cos, 'getObject', { ...p, Key: 'odd dir/a b+c(1).txt' });
    expect(Buffer.from(got.Body).toString()).toBe('odd');
    const missing = await cosError(cosCall(cos, 'getObject', { ...p, Key: 'nope' }));
    expect([missing.statusCode, missing.code]).toEqual([404, 'NoSuchKey']);
    const noBucket = await cosError(cosCall(cos, 'getObject', { Bucket: 'other-1250000001', Region: 'ap-guangzhou', Key: 'x' }));
    expect([noBucket.statusCode, noBucket.code]).toEqual([404, 'NoSuchBucket']);
  });

  test('CORS preflight exposes ETag', async () => {
    const response = await fetch(`${t.emulator.url}/cos/${t.emulator.bucketFor()}/ap-guangzhou/a.mp4?partNumber=1&uploadId=x`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'authorization,x-cos-security-token',
      },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(response.headers.get('access-control-expose-headers')).toContain('ETag');
    expect(response.headers.get('access-control-allow-headers')).toBe('authorization,x-cos-security-token');
  });
});

describe('persistence', () => {
  test('a restart loses nothing: media, objects, sessions, event config, queued events', async () => {
    const client = vodClient(t.emulator);
    await client.ModifyEventConfig({ Mode: 'PULL', UploadMediaCompleteEventSwitch: 'ON' });
    const data = await apply();
    const cos = cosForApply(t.emulator, data, work);
    await cosCall(cos, 'putObject', {
      Bucket: bucketOf(data),
      Region: data.storageRegionV5,
      Key: keyOf(data.video.storagePath),
      Body: fs.readFileSync(CLIP),
    });
    const pendingUpload = await apply();
    const commit = await ugc(t.emulator, 'CommitUploadUGC', {
      signature: uploadSignature(t.clock),
      vodSessionKey: data.vodSessionKey,
    });
    expect(commit.code).toBe(0);

    const emulator = await t.restart();
    const after = vodClient(emulator);
    expect((await after.DescribeEventConfig({})).Mode).toBe('PULL');
    expect((await after.DescribeMediaInfos({ FileIds: [commit.data.fileId] })).MediaInfoSet![0]!.MetaData!.Width).toBe(320);
    expect((await fetch(commit.data.video.url)).status).toBe(200);
    const events = await after.PullEvents({});
    expect(events.EventSet!.map((e) => e.FileUploadEvent?.FileId)).toContain(commit.data.fileId);
    await after.ConfirmEvents({ EventHandles: events.EventSet!.map((e) => e.EventHandle!) });
    // The pending session and its credential still work after the restart.
    await cosCall(cosForApply(emulator, pendingUpload, work), 'putObject', {
      Bucket: bucketOf(pendingUpload),
      Region: pendingUpload.storageRegionV5,
      Key: keyOf(pendingUpload.video.storagePath),
      Body: fs.readFileSync(CLIP),
    });
    expect(
      (
        await ugc(emulator, 'CommitUploadUGC', {
          signature: uploadSignature(t.clock),
          vodSessionKey: pendingUpload.vodSessionKey,
        })
      ).code,
    ).toBe(0);
    await after.ModifyEventConfig({ Mode: 'PUSH', UploadMediaCompleteEventSwitch: 'OFF' });
  });
});
