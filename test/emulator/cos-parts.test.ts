/**
 * How the emulator stores multipart parts (local/emulator/cos/part-files.ts): parts written in place
 * into the upload's slot file, parts that get a file of their own (re-uploads, larger than the slot,
 * a failed digest), any order of arrival, a list that skips parts, a restart in the middle, and two
 * completes at once. Every case checks the object's bytes, its ETag (MD5 of the part MD5s) and the
 * whole-object MD5 VOD reports, with the official cos-nodejs-sdk-v5.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type COS from 'cos-nodejs-sdk-v5';
import { bucketOf, cosCall, cosForApply, keyOf, startTestEmulator, tempDir, ugc, uploadSignature } from './helpers';
import type { ApplyData, TestEmulator } from './helpers';

let t: TestEmulator;
const work = tempDir('vod-emulator-parts-');
const MB = 1024 * 1024;

beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => {
  await t.close();
  fs.rmSync(work, { recursive: true, force: true });
});

const md5 = (b: Buffer) => createHash('md5').update(b).digest();
const bytes = (size: number, seed: number) => {
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE(Math.imul(i + 1 + seed * 7919, 2654435761) >>> 0, i);
  return b;
};
/** The ETag COS gives a multipart object: MD5 of the concatenated binary part MD5s, then "-<count>". */
const multipartEtag = (parts: Buffer[]) => `"${md5(Buffer.concat(parts.map(md5))).toString('hex')}-${parts.length}"`;

async function session(): Promise<{ cos: COS; p: { Bucket: string; Region: string; Key: string }; data: ApplyData }> {
  const reply = await ugc(t.emulator, 'ApplyUploadUGC', {
    signature: uploadSignature(t.clock),
    videoName: 'clip',
    videoType: 'mp4',
  });
  expect(reply.code).toBe(0);
  const data = reply.data as ApplyData;
  const p = { Bucket: bucketOf(data), Region: data.storageRegionV5, Key: keyOf(data.video.storagePath) };
  return { cos: cosForApply(t.emulator, data, work), p, data };
}

const upload = (cos: COS, p: object, UploadId: string, PartNumber: number, Body: Buffer, extra = {}) =>
  cosCall(cos, 'multipartUpload', { ...p, UploadId, PartNumber, Body, ...extra });

async function expectObject(cos: COS, p: { Key: string }, parts: Buffer[], etag: string): Promise<void> {
  const whole = Buffer.concat(parts);
  expect(etag).toBe(multipartEtag(parts));
  const got = await cosCall(cos, 'getObject', p);
  expect(Buffer.from(got.Body).equals(whole)).toBe(true);
  const stored = Object.values(t.emulator.context.store.doc.objects).find((o) => o.key === p.Key)!;
  expect(stored).toMatchObject({ size: whole.length, md5: md5(whole).toString('hex'), etag });
}

describe('multipart parts on disk', () => {
  test('parts received out of order, all in their slots: the slot file becomes the object', async () => {
    const { cos, p } = await session();
    const { UploadId } = await cosCall(cos, 'multipartInit', p);
    const parts = [bytes(MB, 1), bytes(MB, 2), bytes(MB, 3), bytes(1000, 4)];
    for (const n of [2, 4, 1, 3]) await upload(cos, p, UploadId, n, parts[n - 1]!);
    // One slot file, no part files of their own: nothing to copy on complete.
    expect(fs.readdirSync(t.emulator.context.files.uploadDir(UploadId))).toEqual([`slots-${MB}`]);
    const done = await cosCall(cos, 'multipartComplete', {
      ...p,
      UploadId,
      Parts: parts.map((_, i) => ({ PartNumber: i + 1, ETag: `"${md5(parts[i]!).toString('hex')}"` })),
    });
    await expectObject(cos, p, parts, done.ETag);
    expect(fs.existsSync(t.emulator.context.files.uploadDir(UploadId))).toBe(false);
  });

  test('re-uploads, a part larger than the slot and a failed digest: the last stored bytes of each part count', async () => {
    const { cos, p } = await session();
    const { UploadId } = await cosCall(cos, 'multipartInit', p);
    const first2 = bytes(MB, 10);
    const parts = [bytes(MB, 11), bytes(MB, 12), bytes(2 * MB, 13), bytes(5, 14)];
    await upload(cos, p, UploadId, 2, first2); // fixes the slot size at 1 MB, then is replaced
    await upload(cos, p, UploadId, 1, parts[0]!);
    const bad = await upload(cos, p, UploadId, 4, parts[3]!, { ContentMD5: md5(Buffer.from('other')).toString('base64') }).catch(
      (e) => e,
    );
    expect(bad).toMatchObject({ statusCode: 400, code: 'BadDigest' });
    await upload(cos, p, UploadId, 2, parts[1]!);
    await upload(cos, p, UploadId, 3, parts[2]!); // larger than the slot
    await upload(cos, p, UploadId, 4, parts[3]!);
    const listed = await cosCall(cos, 'multipartListPart', { ...p, UploadId });
    expect(listed.Part.map((x: any) => [x.PartNumber, x.Size])).toEqual([
      ['1', String(MB)],
      ['2', String(MB)],
      ['3', String(2 * MB)],
      ['4', '5'],
    ]);
    const done = await cosCall(cos, 'multipartComplete', {
      ...p,
      UploadId,
      Parts: listed.Part.map((x: any) => ({ PartNumber: Number(x.PartNumber), ETag: x.ETag })),
    });
    await expectObject(cos, p, parts, done.ETag);
  });

  test('a part replaced twice goes back to its free slot; the whole MD5 is then read from the slot file', async () => {
    const { cos, p } = await session();
    const { UploadId } = await cosCall(cos, 'multipartInit', p);
    const [a, b, c, tail] = [bytes(MB, 41), bytes(MB, 42), bytes(MB, 43), bytes(7, 44)];
    await upload(cos, p, UploadId, 1, a!); // in the slot, and hashed as part 1
    await upload(cos, p, UploadId, 1, b!); // the slot is taken: a file of its own
    await upload(cos, p, UploadId, 1, c!); // the stored part is in its own file: the slot is free again
    await upload(cos, p, UploadId, 2, tail!);
    expect(fs.readdirSync(t.emulator.context.files.uploadDir(UploadId)).sort()).toEqual([
      `1.${md5(b!).toString('hex')}`,
      `slots-${MB}`,
    ]);
    const done = await cosCall(cos, 'multipartComplete', {
      ...p,
      UploadId,
      Parts: [c!, tail!].map((part, i) => ({ PartNumber: i + 1, ETag: `"${md5(part).toString('hex')}"` })),
    });
    await expectObject(cos, p, [c!, tail!], done.ETag);
  });

  test('an abort while a part streams into its slot: the part is refused with NoSuchUpload, not a server error', async () => {
    const { cos, p } = await session();
    const { UploadId } = await cosCall(cos, 'multipartInit', p);
    const body = new PassThrough();
    const pending = upload(cos, p, UploadId, 1, body as unknown as Buffer, { ContentLength: MB }).catch((e) => e);
    body.write(bytes(MB / 2, 51));
    // Wait until the emulator is writing the slot, then abort and send the rest.
    const dir = t.emulator.context.files.uploadDir(UploadId);
    for (let i = 0; i < 200 && !(fs.existsSync(dir) && fs.readdirSync(dir).length > 0); i++) await sleep(10);
    expect(fs.readdirSync(dir)).toEqual([`slots-${MB}`]);
    await cosCall(cos, 'multipartAbort', { ...p, UploadId });
    body.end(bytes(MB / 2, 52));
    expect(await pending).toMatchObject({ statusCode: 404, code: 'NoSuchUpload' });
    expect(fs.existsSync(dir)).toBe(false);
  });

  test('a list that skips a part: the object is the listed parts only', async () => {
    const { cos, p } = await session();
    const { UploadId } = await cosCall(cos, 'multipartInit', p);
    const parts = [bytes(MB, 21), bytes(MB, 22), bytes(300, 23)];
    const etags: string[] = [];
    for (const [i, part] of parts.entries()) etags.push((await upload(cos, p, UploadId, i + 1, part)).ETag);
    const done = await cosCall(cos, 'multipartComplete', {
      ...p,
      UploadId,
      Parts: [
        { PartNumber: 1, ETag: etags[0] },
        { PartNumber: 3, ETag: etags[2] },
      ],
    });
    await expectObject(cos, p, [parts[0]!, parts[2]!], done.ETag);
  });

  test('a restart between parts keeps the slot file; two completes at once: one object, one refusal', async () => {
    const { p, data } = await session();
    let cos = cosForApply(t.emulator, data, work);
    const { UploadId } = await cosCall(cos, 'multipartInit', p);
    const parts = [bytes(MB, 31), bytes(MB, 32), bytes(MB, 33), bytes(MB, 34)];
    await upload(cos, p, UploadId, 1, parts[0]!);
    await upload(cos, p, UploadId, 2, parts[1]!);
    await t.restart();
    cos = cosForApply(t.emulator, data, work);
    await upload(cos, p, UploadId, 4, parts[3]!);
    await upload(cos, p, UploadId, 3, parts[2]!);
    const Parts = parts.map((part, i) => ({ PartNumber: i + 1, ETag: `"${md5(part).toString('hex')}"` }));
    const results = await Promise.allSettled([
      cosCall(cos, 'multipartComplete', { ...p, UploadId, Parts }),
      cosCall(cos, 'multipartComplete', { ...p, UploadId, Parts }),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<any>[];
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect([409, 404]).toContain(refused[0]!.reason.statusCode);
    expect(['OperationAborted', 'NoSuchUpload']).toContain(refused[0]!.reason.code);
    await expectObject(cos, p, parts, ok[0]!.value.ETag);
  });
});
