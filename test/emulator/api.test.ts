/**
 * API 3.0 against the emulator with the official `tencentcloud-sdk-nodejs-vod` client: every action
 * of this part, TC3 signature failures, and the server-side upload (ApplyUpload → COS → CommitUpload).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import COS from 'cos-nodejs-sdk-v5';
import { CommonClient } from 'tencentcloud-sdk-nodejs-common';
import { CLIP, cosCall, SECRET_ID, SECRET_KEY, startTestEmulator, tempDir, vodClient } from './helpers';
import type { TestEmulator, VodClient } from './helpers';

let t: TestEmulator;
let client: VodClient;
const confDir = tempDir('vod-emulator-cos-conf-');

beforeAll(async () => {
  t = await startTestEmulator({ subAppIds: [1500000099] });
  client = vodClient(t.emulator);
});
afterAll(async () => {
  await t.close();
  fs.rmSync(confDir, { recursive: true, force: true });
});

async function apiError(promise: Promise<unknown>): Promise<{ code: string; requestId?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; requestId?: string; message: string };
  }
  throw new Error('expected the call to fail');
}

/** Server-side upload of the fixture clip, as Tencent's vod-node-sdk does it. */
async function uploadClip(c: VodClient = client, subAppId?: number) {
  const applied = await c.ApplyUpload({ MediaType: 'mp4', MediaName: 'server clip', SubAppId: subAppId, SourceContext: 'ctx-1' });
  const cos = new COS({
    SecretId: applied.TempCertificate!.SecretId,
    SecretKey: applied.TempCertificate!.SecretKey,
    SecurityToken: applied.TempCertificate!.Token,
    Domain: t.emulator.cosDomain,
    Protocol: 'http:',
    ConfCwd: confDir,
  });
  await cosCall(cos, 'sliceUploadFile', {
    Bucket: applied.StorageBucket,
    Region: applied.StorageRegion,
    Key: applied.MediaStoragePath!.slice(1),
    FilePath: CLIP,
  });
  const committed = await c.CommitUpload({ VodSessionKey: applied.VodSessionKey!, SubAppId: subAppId });
  return { applied, committed };
}

describe('API 3.0 actions through tencentcloud-sdk-nodejs-vod', () => {
  test('ApplyUpload returns a bucket with the appid suffix, paths and a temporary certificate', async () => {
    const r = await client.ApplyUpload({ MediaType: 'mp4', CoverType: 'png' });
    expect(r.StorageBucket).toBe(t.emulator.bucketFor());
    expect(r.StorageBucket).toMatch(/^[0-9a-f]{8}vodgz1500000001-1250000001$/);
    expect(r.StorageRegion).toBe('ap-guangzhou');
    expect(r.MediaStoragePath).toMatch(/^\/[0-9a-f]{8}vodgz1500000001\/[0-9a-f]{8}\d{19}\/\w+\.mp4$/);
    expect(r.CoverStoragePath).toMatch(/\.png$/);
    expect(r.VodSessionKey).toEqual(expect.any(String));
    expect(r.TempCertificate).toEqual({
      SecretId: expect.any(String),
      SecretKey: expect.any(String),
      Token: expect.any(String),
      ExpiredTime: expect.any(Number),
    });
    expect(r.TempCertificate!.ExpiredTime).toBeGreaterThan(Math.floor(t.clock.now() / 1000));
    expect(r.RequestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('ApplyUpload → COS sliceUploadFile → CommitUpload → DescribeMediaInfos with ffprobe metadata', async () => {
    const { applied, committed } = await uploadClip();
    expect(committed.FileId).toMatch(/^\d{19}$/);
    expect(applied.MediaStoragePath).toContain(committed.FileId);
    expect(committed.MediaUrl).toBe(`${t.emulator.url}/media${applied.MediaStoragePath}`);
    const served = await fetch(committed.MediaUrl!);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).equals(fs.readFileSync(CLIP))).toBe(true);

    const info = await client.DescribeMediaInfos({ FileIds: [committed.FileId!, '1234567890123456789'] });
    expect(info.NotExistFileIdSet).toEqual(['1234567890123456789']);
    expect(info.MediaInfoSet).toHaveLength(1);
    const media = info.MediaInfoSet![0]!;
    expect(media.FileId).toBe(committed.FileId);
    expect(media.BasicInfo).toMatchObject({
      Name: 'server clip',
      Type: 'mp4',
      MediaUrl: committed.MediaUrl,
      ExpireTime: '9999-12-31T23:59:59Z',
      SourceInfo: { SourceType: 'Upload', SourceContext: 'ctx-1' },
      StorageRegion: 'ap-guangzhou',
      Category: 'Video',
      Status: 'Normal',
      Vid: committed.FileId,
    });
    const meta = media.MetaData!;
    expect(meta.Size).toBe(fs.statSync(CLIP).size);
    expect(meta.Width).toBe(320);
    expect(meta.Height).toBe(240);
    expect(meta.Duration).toBeGreaterThan(1.9);
    expect(meta.Duration).toBeLessThan(2.2);
    expect(meta.Container).toContain('mp4');
    expect(meta.VideoStreamSet).toEqual([expect.objectContaining({ Codec: 'h264', Width: 320, Height: 240, Fps: 25 })]);
    expect(meta.AudioStreamSet).toEqual([expect.objectContaining({ Codec: 'aac', SamplingRate: 44100 })]);
    expect(meta.Md5).toMatch(/^[0-9a-f]{32}$/);

    const filtered = await client.DescribeMediaInfos({ FileIds: [committed.FileId!], Filters: ['metaData'] });
    expect(filtered.MediaInfoSet![0]!.BasicInfo).toBeNull();
    expect(filtered.MediaInfoSet![0]!.MetaData).toEqual(meta);
  });

  test('CommitUpload before the object arrived fails; an unknown VodSessionKey is refused', async () => {
    const applied = await client.ApplyUpload({ MediaType: 'mp4' });
    expect((await apiError(client.CommitUpload({ VodSessionKey: applied.VodSessionKey! }))).code).toBe('FailedOperation');
    expect((await apiError(client.CommitUpload({ VodSessionKey: 'nope' }))).code).toBe('InvalidParameterValue.VodSessionKey');
    expect((await apiError(client.ApplyUpload({ MediaType: 'mp4', StorageRegion: 'ap-tokyo' }))).code).toBe(
      'InvalidParameterValue.StorageRegion',
    );
    expect((await apiError(client.ApplyUpload({} as never))).code).toBe('MissingParameter');
  });

  test('DeleteMedia removes media and files; a second delete is ResourceNotFound.FileNotExist', async () => {
    const { committed } = await uploadClip();
    await client.DeleteMedia({ FileId: committed.FileId! });
    const info = await client.DescribeMediaInfos({ FileIds: [committed.FileId!] });
    expect(info.NotExistFileIdSet).toEqual([committed.FileId]);
    expect((await fetch(committed.MediaUrl!)).status).toBe(404);
    expect((await apiError(client.DeleteMedia({ FileId: committed.FileId! }))).code).toBe('ResourceNotFound.FileNotExist');
  });

  test('ModifyEventConfig / DescribeEventConfig, validated, per application', async () => {
    expect(await client.DescribeEventConfig({})).toMatchObject({
      Mode: 'PUSH',
      NotificationUrl: '',
      UploadMediaCompleteEventSwitch: 'OFF',
      DeleteMediaCompleteEventSwitch: 'OFF',
      PersistenceCompleteEventSwitch: 'OFF',
    });
    await client.ModifyEventConfig({
      SubAppId: 1500000099,
      Mode: 'PULL',
      UploadMediaCompleteEventSwitch: 'ON',
      NotificationUrl: 'http://127.0.0.1:9/hook',
      SignKey: 'abc123',
    });
    const sub = await client.DescribeEventConfig({ SubAppId: 1500000099 });
    expect(sub).toMatchObject({
      Mode: 'PULL',
      NotificationUrl: 'http://127.0.0.1:9/hook',
      UploadMediaCompleteEventSwitch: 'ON',
      DeleteMediaCompleteEventSwitch: 'OFF',
    });
    expect(sub).not.toHaveProperty('SignKey');
    expect((await client.DescribeEventConfig({})).Mode).toBe('PUSH');
    expect((await apiError(client.ModifyEventConfig({ Mode: 'POLL' }))).code).toBe('InvalidParameterValue');
    expect((await apiError(client.ModifyEventConfig({ SignKey: 'has space' }))).code).toBe('InvalidParameterValue');
    expect((await apiError(client.DescribeEventConfig({ SubAppId: 42 }))).code).toBe('InvalidParameterValue.SubAppId');
  });

  test('PullEvents / ConfirmEvents: NewFileUpload and FileDeleted in PULL mode, scoped to the sub-application', async () => {
    await client.ModifyEventConfig({
      SubAppId: 1500000099,
      Mode: 'PULL',
      UploadMediaCompleteEventSwitch: 'ON',
      DeleteMediaCompleteEventSwitch: 'ON',
    });
    const { committed } = await uploadClip(client, 1500000099);
    const pulled = await client.PullEvents({ SubAppId: 1500000099 });
    expect(pulled.EventSet).toHaveLength(1);
    const event = pulled.EventSet![0]!;
    expect(event.EventType).toBe('NewFileUpload');
    expect(event.EventHandle).toEqual(expect.any(String));
    expect(event.FileUploadEvent!.FileId).toBe(committed.FileId);
    expect(event.FileUploadEvent!.MediaBasicInfo!.SourceInfo!.SourceContext).toBe('ctx-1');
    expect(event.FileDeleteEvent).toBeNull();
    expect((await client.PullEvents({})).EventSet).toBeNull(); // the primary application has none
    await client.ConfirmEvents({ SubAppId: 1500000099, EventHandles: [event.EventHandle!] });
    expect((await apiError(client.ConfirmEvents({ SubAppId: 1500000099, EventHandles: [event.EventHandle!] }))).code).toBe(
      'InvalidParameterValue',
    );

    await client.DeleteMedia({ FileId: committed.FileId!, SubAppId: 1500000099 });
    const deleted = await client.PullEvents({ SubAppId: 1500000099 });
    expect(deleted.EventSet![0]).toMatchObject({ EventType: 'FileDeleted', FileDeleteEvent: { FileIdSet: [committed.FileId] } });
    // A whole-media deletion lists no parts (as the PULL example of docs/vod-protocol/events.md §4.4).
    expect(deleted.EventSet![0]!.FileDeleteEvent!.FileDeleteResultInfo).toEqual([{ FileId: committed.FileId, DeleteParts: [] }]);
    await client.ConfirmEvents({ SubAppId: 1500000099, EventHandles: [deleted.EventSet![0]!.EventHandle!] });
    expect((await client.PullEvents({ SubAppId: 1500000099 })).EventSet).toBeNull();
  });

  test('an unknown action is InvalidAction; a wrong version is NoSuchVersion', async () => {
    const common = new CommonClient(t.emulator.apiEndpoint, '2018-07-17', {
      credential: { secretId: SECRET_ID, secretKey: SECRET_KEY },
      region: 'ap-guangzhou',
      profile: { httpProfile: { protocol: 'http://' } },
    });
    expect((await apiError(common.request('NoSuchAction', {}))).code).toBe('InvalidAction');
    const old = new CommonClient(t.emulator.apiEndpoint, '2017-01-01', {
      credential: { secretId: SECRET_ID, secretKey: SECRET_KEY },
      profile: { httpProfile: { protocol: 'http://' } },
    });
    expect((await apiError(old.request('DescribeEventConfig', {}))).code).toBe('NoSuchVersion');
  });
});

describe('TC3-HMAC-SHA256 verification', () => {
  test('a wrong secret key is AuthFailure.SignatureFailure, an unknown id AuthFailure.SecretIdNotFound', async () => {
    const wrongKey = vodClient(t.emulator, { secretId: SECRET_ID, secretKey: 'not-the-key' });
    const e1 = await apiError(wrongKey.DescribeEventConfig({}));
    expect(e1.code).toBe('AuthFailure.SignatureFailure');
    expect(e1.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const unknown = vodClient(t.emulator, { secretId: 'AKIDunknown', secretKey: SECRET_KEY });
    expect((await apiError(unknown.DescribeEventConfig({}))).code).toBe('AuthFailure.SecretIdNotFound');
  });

  test('a timestamp more than 5 minutes away is AuthFailure.SignatureExpire', async () => {
    t.clock.advance(301_000);
    try {
      expect((await apiError(client.DescribeEventConfig({}))).code).toBe('AuthFailure.SignatureExpire');
    } finally {
      t.clock.advance(-301_000);
    }
    t.clock.advance(-250_000); // within the window either way
    try {
      await expect(client.DescribeEventConfig({})).resolves.toMatchObject({ Mode: expect.any(String) });
    } finally {
      t.clock.advance(250_000);
    }
  });

  test('a body changed in transit is AuthFailure.SignatureFailure', async () => {
    // A man in the middle between the official SDK and the emulator rewrites one parameter.
    const proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.from(Buffer.concat(chunks).toString('utf8').replace('"PUSH"', '"PULL"'));
        const upstream = http.request(
          {
            host: '127.0.0.1',
            port: t.emulator.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, 'content-length': String(body.length) },
          },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.end(body);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const tampered = new (await import('tencentcloud-sdk-nodejs-vod')).vod.v20180717.Client({
        credential: { secretId: SECRET_ID, secretKey: SECRET_KEY },
        profile: { httpProfile: { endpoint: `127.0.0.1:${(proxy.address() as AddressInfo).port}`, protocol: 'http://' } },
      });
      expect((await apiError(tampered.ModifyEventConfig({ Mode: 'PUSH' }))).code).toBe('AuthFailure.SignatureFailure');
      // The same request untouched goes through the proxy fine.
      await expect(tampered.DescribeEventConfig({})).resolves.toBeDefined();
    } finally {
      proxy.close();
    }
  });

  test('temporary credentials need their X-TC-Token', async () => {
    const temp = { secretId: 'AKIDtemporaryApiKey', secretKey: 'temporary-secret', token: 'session-token-1' };
    const t2 = await startTestEmulator({ credentials: [{ secretId: SECRET_ID, secretKey: SECRET_KEY }, temp] });
    try {
      await expect(vodClient(t2.emulator, temp).DescribeEventConfig({})).resolves.toBeDefined();
      const noToken = vodClient(t2.emulator, { secretId: temp.secretId, secretKey: temp.secretKey });
      expect((await apiError(noToken.DescribeEventConfig({}))).code).toBe('AuthFailure.TokenFailure');
      const wrongToken = vodClient(t2.emulator, { ...temp, token: 'other' });
      expect((await apiError(wrongToken.DescribeEventConfig({}))).code).toBe('AuthFailure.TokenFailure');
    } finally {
      await t2.close();
    }
  });

  test('a request without Authorization gets the error envelope with HTTP 200', async () => {
    const response = await fetch(`${t.emulator.url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-tc-action': 'DescribeEventConfig',
        'x-tc-version': '2018-07-17',
        'x-tc-timestamp': String(Math.floor(Date.now() / 1000)),
      },
      body: '{}',
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { Response: { Error: { Code: string; Message: string }; RequestId: string } };
    expect(body.Response.Error.Code).toBe('AuthFailure.SignatureFailure');
    expect(body.Response.RequestId).toEqual(expect.any(String));
  });
});
