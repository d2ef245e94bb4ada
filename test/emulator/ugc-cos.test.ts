/**
 * UGC upload API with the official SDKs against the emulator: ApplyUploadUGC / CommitUploadUGC (fields,
 * signature and request errors, procedure, sub-applications, cover-only uploads, PrepareUploadUGC), and
 * persistence across a restart. COS with the temporary credentials is in ugc-cos-credentials.test.ts.
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
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
  ugc,
  uploadSignature,
  vodClient,
} from './helpers';
import type { ApplyData } from './helpers';
import { apply, md5File, t, useUgcEmulator, work } from './ugc-cos-fixture';

useUgcEmulator();

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
