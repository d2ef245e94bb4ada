/**
 * COS object API with the official `cos-nodejs-sdk-v5`, using the temporary credentials ApplyUploadUGC hands
 * out: a 64 MB sliceUploadFile with parallel parts and a resumed upload, multipart validation, credential
 * failures as COS XML errors, addressing forms, the account key, and CORS.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import COS from 'cos-nodejs-sdk-v5';
import { bucketOf, cosCall, cosForApply, keyOf, SECRET_ID, SECRET_KEY, ugc, uploadSignature, writeRandomFile } from './helpers';
import { apply, cosError, md5File, t, useUgcEmulator, work } from './ugc-cos-fixture';

const requests: { method: string; url: string; host: string }[] = [];
/** Part uploads being received right now, the most seen at once, and a hook per part upload. */
let partsInFlight = 0;
let maxPartsInFlight = 0;
let onPartUpload: (() => void) | undefined;

useUgcEmulator({
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
