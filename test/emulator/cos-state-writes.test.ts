/**
 * How the emulator's COS requests write its state (local/emulator/state.ts `commit`): off the event
 * loop, one write in flight, later changes folded into the next write, and a reply only once its
 * change is on disk. Checked on the store itself, then on an emulator process killed with SIGKILL
 * right after it answered parts and a Complete: what it answered is there after the restart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import COS from 'cos-nodejs-sdk-v5';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { StateStore } from '../../local/emulator/state.ts';
import { cosCall, SECRET_ID, SECRET_KEY, tempDir } from './helpers';

const onDisk = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));

describe('StateStore.commit', () => {
  test('parallel commits each resolve with their change on disk, in two writes for twenty changes', async () => {
    const dir = tempDir('vod-state-');
    try {
      const store = new StateStore(dir);
      const seen = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          await store.commit((doc) => {
            doc.usedSignatures[`s${i}`] = i;
          });
          return onDisk(dir).usedSignatures[`s${i}`];
        }),
      );
      expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
      // The first write carries the first change; the 19 made while it is in flight share the second.
      expect(store.diskWrites).toBe(2);
      expect(Object.keys(new StateStore(dir).doc.usedSignatures)).toHaveLength(20);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an update made while a commit is being written is not replaced by that older document', async () => {
    const dir = tempDir('vod-state-');
    try {
      const store = new StateStore(dir);
      const first = store.commit((doc) => {
        doc.usedSignatures.a = 1;
      });
      store.update((doc) => {
        doc.usedSignatures.b = 2;
      });
      await first;
      await store.flush();
      expect(onDisk(dir).usedSignatures).toEqual({ a: 1, b: 2 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a failed write rejects the commits it carried; the next commit writes them all', async () => {
    const dir = tempDir('vod-state-');
    try {
      const store = new StateStore(dir);
      const blocker = path.join(dir, `state.json.${process.pid}.commit.tmp`);
      fs.mkdirSync(blocker); // the temp file cannot be opened for writing
      await expect(
        store.commit((doc) => {
          doc.usedSignatures.a = 1;
        }),
      ).rejects.toThrow();
      expect(fs.existsSync(path.join(dir, 'state.json'))).toBe(false);
      fs.rmdirSync(blocker);
      await store.commit((doc) => {
        doc.usedSignatures.b = 2;
      });
      expect(onDisk(dir).usedSignatures).toEqual({ a: 1, b: 2 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The emulator as its own process (local/emulator/main.ts), so it can be killed with SIGKILL. */
class EmulatorProcess {
  child!: ChildProcess;
  constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {}

  async start(): Promise<void> {
    const root = path.join(__dirname, '..', '..');
    this.child = spawn(process.execPath, ['--import', 'tsx', 'local/emulator/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        EMULATOR_PORT: String(this.port),
        EMULATOR_DATA_DIR: this.dataDir,
        VOD_SECRET_ID: SECRET_ID,
        VOD_SECRET_KEY: SECRET_KEY,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('VOD emulator listening')) resolve();
      };
      this.child.stdout!.on('data', onData);
      this.child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      this.child.once('exit', (code) => reject(new Error(`emulator exited (${code}): ${output}`)));
    });
  }

  kill(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    return exited;
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const MB = 1024 * 1024;
const part = (n: number) => Buffer.alloc(MB, n);

test('SIGKILL right after parts and a Complete were answered: after a restart they are all there', async () => {
  const dataDir = tempDir('vod-emulator-kill-');
  const emulator = new EmulatorProcess(dataDir, await freePort());
  try {
    await emulator.start();
    const endpoint = `127.0.0.1:${emulator.port}`;
    const client = new vod.v20180717.Client({
      credential: { secretId: SECRET_ID, secretKey: SECRET_KEY },
      region: 'ap-guangzhou',
      profile: { httpProfile: { endpoint, protocol: 'http://' } },
    });
    const applied = await client.ApplyUpload({ MediaType: 'mp4' });
    const cosClient = () =>
      new COS({
        SecretId: applied.TempCertificate!.SecretId,
        SecretKey: applied.TempCertificate!.SecretKey,
        SecurityToken: applied.TempCertificate!.Token,
        Domain: `${endpoint}/cos/{Bucket}/{Region}`,
        Protocol: 'http:',
        ConfCwd: dataDir,
      });
    const p = { Bucket: applied.StorageBucket!, Region: applied.StorageRegion!, Key: applied.MediaStoragePath!.slice(1) };
    let cos = cosClient();
    const { UploadId } = await cosCall(cos, 'multipartInit', p);

    // Six parts in parallel; the emulator is killed the moment the third answer arrives.
    const answered = new Map<number, string>();
    let killed: Promise<void> | undefined;
    await Promise.allSettled(
      [1, 2, 3, 4, 5, 6].map(async (n) => {
        const { ETag } = await cosCall(cos, 'multipartUpload', { ...p, UploadId, PartNumber: n, Body: part(n) });
        if (killed) return;
        answered.set(n, ETag);
        if (answered.size === 3) killed = emulator.kill();
      }),
    );
    await killed;
    expect(answered.size).toBe(3);

    await emulator.start();
    cos = cosClient();
    const listed = await cosCall(cos, 'multipartListPart', { ...p, UploadId });
    const stored = new Map<number, string>(listed.Part.map((x: any) => [Number(x.PartNumber), x.ETag]));
    for (const [n, etag] of answered) expect(stored.get(n)).toBe(etag);

    const parts: { PartNumber: number; ETag: string }[] = [];
    for (const n of [1, 2, 3, 4, 5, 6]) {
      const etag =
        answered.get(n) ?? (await cosCall(cos, 'multipartUpload', { ...p, UploadId, PartNumber: n, Body: part(n) })).ETag;
      parts.push({ PartNumber: n, ETag: etag });
    }
    const completed = await cosCall(cos, 'multipartComplete', { ...p, UploadId, Parts: parts });
    await emulator.kill();

    await emulator.start();
    cos = cosClient();
    const head = await cosCall(cos, 'headObject', p);
    expect(head.ETag).toBe(completed.ETag);
    expect(Number(head.headers['content-length'])).toBe(6 * MB);
    const got = await cosCall(cos, 'getObject', p);
    expect(Buffer.from(got.Body).equals(Buffer.concat([1, 2, 3, 4, 5, 6].map(part)))).toBe(true);
  } finally {
    if (emulator.child && emulator.child.exitCode === null) await emulator.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
