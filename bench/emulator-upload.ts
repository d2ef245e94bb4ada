/**
 * Upload throughput into the VOD emulator, beside a baseline, on the same machine:
 *   1. cos-nodejs-sdk-v5 sliceUploadFile (multipart, parallel parts) with ApplyUpload's temporary credentials
 *   2. cos-nodejs-sdk-v5 putObject (one streamed PUT)
 *   3. a raw HTTP PUT of the same file (stream → stream) to a bare Node server that writes it to disk
 * and the ratios 1/3 and 2/3. For reference, also sliceUploadFile with the same parts into that bare
 * server, which writes each part to disk and answers the multipart calls without any check: what the
 * SDK's own work (it reads and hashes every part before sending it) leaves of the raw PUT.
 * The four are interleaved run by run; figures are medians, and each ratio is the median of the
 * per-run ratios (the raw PUT swings with the machine's load, so a ratio compares one run's figures).
 * Usage: `npx tsx bench/emulator-upload.ts [--size-mb 256] [--runs 1]`.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import COS from 'cos-nodejs-sdk-v5';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { startEmulator } from '../local/emulator/index.ts';

const SECRET_ID = 'AKIDbenchEmulator0000000000000000000';
const SECRET_KEY = 'benchEmulatorSecretKey0000000000';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

function writeFile(file: string, bytes: number): void {
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE(Math.imul(i + 1, 2654435761) >>> 0, i);
  const fd = fs.openSync(file, 'w');
  for (let written = 0, n = 0; written < bytes; n++) {
    block.writeUInt32LE(n, 0);
    const len = Math.min(block.length, bytes - written);
    fs.writeSync(fd, block, 0, len);
    written += len;
  }
  fs.closeSync(fd);
}

const call = <T>(cos: COS, method: string, params: Record<string, unknown>) =>
  new Promise<T>((resolve, reject) =>
    (cos as any)[method](params, (err: unknown, data: T) => (err ? reject(err) : resolve(data))),
  );

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export interface UploadThroughput {
  sizeMb: number;
  /** MB/s, median of the runs. */
  sliceUploadFile: number;
  putObject: number;
  rawPut: number;
  /** sliceUploadFile into the bare server (no checks): the SDK's own ceiling. */
  sliceUploadFileBare: number;
  /** Medians of the per-run ratios to that run's raw PUT. */
  ratios: { sliceUploadFile: number; putObject: number; sliceUploadFileBare: number };
  /** Writes of the emulator's state document per upload (median): its part and object records share writes. */
  stateWrites: { sliceUploadFile: number; putObject: number };
  /** MB/s of every run, in order. */
  perRun: { sliceUploadFile: number[]; putObject: number[]; rawPut: number[]; sliceUploadFileBare: number[] };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const SLICE = { ChunkSize: 8 * 1024 * 1024, AsyncLimit: 6 };

/** The bare server: a PUT is written to disk; the multipart calls get the least answer the SDK accepts. */
function bareServer(work: string): http.Server {
  let n = 0;
  return http.createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://bare').searchParams;
    if (req.method === 'PUT') {
      const name = query.has('partNumber') ? `bare-part-${n++}` : 'bare.bin';
      pipeline(req, fs.createWriteStream(path.join(work, name))).then(
        () => res.writeHead(200, { etag: '"00000000000000000000000000000000"' }).end(),
        () => res.destroy(),
      );
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      if (req.method === 'GET')
        res.end('<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>');
      else if (query.has('uploads'))
        res.end('<InitiateMultipartUploadResult><UploadId>bare</UploadId></InitiateMultipartUploadResult>');
      else res.end('<CompleteMultipartUploadResult><ETag>"bare"</ETag></CompleteMultipartUploadResult>');
    });
  });
}

/** Measures the three uploads of the same file side by side. */
export async function measureUploadThroughput(sizeMb: number, runs = 1): Promise<UploadThroughput> {
  const bytes = sizeMb * 1024 * 1024;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vod-emulator-bench-'));
  const file = path.join(work, 'upload.bin');
  writeFile(file, bytes);

  const emulator = await startEmulator({
    dataDir: path.join(work, 'emulator'),
    credentials: [{ secretId: SECRET_ID, secretKey: SECRET_KEY }],
  });
  const client = new vod.v20180717.Client({
    credential: { secretId: SECRET_ID, secretKey: SECRET_KEY },
    region: 'ap-guangzhou',
    profile: { httpProfile: { endpoint: emulator.apiEndpoint, protocol: 'http://' } },
  });

  const bare = bareServer(work);
  bare.listen(0, '127.0.0.1');
  await once(bare, 'listening');
  const barePort = (bare.address() as AddressInfo).port;

  const bareCos = new COS({
    SecretId: 'bare',
    SecretKey: 'bare',
    Domain: `127.0.0.1:${barePort}`,
    Protocol: 'http:',
    ConfCwd: work,
  });
  const results = { slice: [] as number[], put: [] as number[], raw: [] as number[], sliceBare: [] as number[] };
  const writes = { slice: [] as number[], put: [] as number[] };
  const store = emulator.context.store;
  try {
    for (let run = 0; run < runs; run++) {
      for (const mode of ['slice', 'put'] as const) {
        const applied = await client.ApplyUpload({ MediaType: 'bin' });
        const cos = new COS({
          SecretId: applied.TempCertificate!.SecretId,
          SecretKey: applied.TempCertificate!.SecretKey,
          SecurityToken: applied.TempCertificate!.Token,
          Domain: emulator.cosDomain,
          Protocol: 'http:',
          ConfCwd: work,
        });
        const target = { Bucket: applied.StorageBucket, Region: applied.StorageRegion, Key: applied.MediaStoragePath!.slice(1) };
        const writesBefore = store.diskWrites;
        results[mode].push(
          await timed(() =>
            mode === 'slice'
              ? call(cos, 'sliceUploadFile', { ...target, FilePath: file, ...SLICE })
              : call(cos, 'putObject', { ...target, Body: fs.createReadStream(file), ContentLength: bytes }),
          ),
        );
        writes[mode].push(store.diskWrites - writesBefore);
      }
      results.sliceBare.push(
        await timed(() =>
          call(bareCos, 'sliceUploadFile', {
            Bucket: 'bare-1250000000',
            Region: 'ap-guangzhou',
            Key: `bare-${run}`,
            FilePath: file,
            ...SLICE,
          }),
        ),
      );
      for (const name of fs.readdirSync(work)) if (name.startsWith('bare-part-')) fs.rmSync(path.join(work, name));
      results.raw.push(
        await timed(async () => {
          const req = http.request({
            host: '127.0.0.1',
            port: barePort,
            method: 'PUT',
            path: '/upload.bin',
            headers: { 'content-length': String(bytes) },
          });
          const response = once(req, 'response');
          await pipeline(fs.createReadStream(file), req);
          const [res] = (await response) as [http.IncomingMessage];
          res.resume();
          await once(res, 'end');
        }),
      );
    }
  } finally {
    bare.close();
    await emulator.close();
    fs.rmSync(work, { recursive: true, force: true });
  }

  const mbps = (seconds: number[]) => seconds.map((s) => sizeMb / s);
  const perRun = {
    sliceUploadFile: mbps(results.slice),
    putObject: mbps(results.put),
    rawPut: mbps(results.raw),
    sliceUploadFileBare: mbps(results.sliceBare),
  };
  const ratio = (xs: number[]) => median(xs.map((x, i) => x / perRun.rawPut[i]!));
  return {
    sizeMb,
    sliceUploadFile: median(perRun.sliceUploadFile),
    putObject: median(perRun.putObject),
    rawPut: median(perRun.rawPut),
    sliceUploadFileBare: median(perRun.sliceUploadFileBare),
    ratios: {
      sliceUploadFile: ratio(perRun.sliceUploadFile),
      putObject: ratio(perRun.putObject),
      sliceUploadFileBare: ratio(perRun.sliceUploadFileBare),
    },
    stateWrites: { sliceUploadFile: median(writes.slice), putObject: median(writes.put) },
    perRun,
  };
}

async function main(): Promise<void> {
  const sizeMb = arg('--size-mb', 256);
  const runs = arg('--runs', 1);
  const r = await measureUploadThroughput(sizeMb, runs);
  const runsOf = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
  const ratiosOf = (xs: number[]) => xs.map((x, i) => (x / r.perRun.rawPut[i]!).toFixed(2)).join(' ');
  console.log(`Upload of ${sizeMb} MB on 127.0.0.1 (median of ${runs}; every run's MB/s in brackets):`);
  console.log(
    `  cos-nodejs-sdk-v5 sliceUploadFile → emulator  ${r.sliceUploadFile.toFixed(1)} MB/s [${runsOf(r.perRun.sliceUploadFile)}]`,
  );
  console.log(`  cos-nodejs-sdk-v5 putObject       → emulator  ${r.putObject.toFixed(1)} MB/s [${runsOf(r.perRun.putObject)}]`);
  console.log(`  raw HTTP PUT                      → bare node ${r.rawPut.toFixed(1)} MB/s [${runsOf(r.perRun.rawPut)}]`);
  console.log(
    `  cos-nodejs-sdk-v5 sliceUploadFile → bare node ${r.sliceUploadFileBare.toFixed(1)} MB/s [${runsOf(r.perRun.sliceUploadFileBare)}] (no checks: the SDK's own ceiling)`,
  );
  console.log(
    `  ratio sliceUploadFile / raw PUT: ${r.ratios.sliceUploadFile.toFixed(2)} [${ratiosOf(r.perRun.sliceUploadFile)}]`,
  );
  console.log(`  ratio putObject / raw PUT: ${r.ratios.putObject.toFixed(2)} [${ratiosOf(r.perRun.putObject)}]`);
  console.log(
    `  ratio sliceUploadFile → bare / raw PUT: ${r.ratios.sliceUploadFileBare.toFixed(2)} [${ratiosOf(r.perRun.sliceUploadFileBare)}]`,
  );
  const parts = Math.ceil(sizeMb / (SLICE.ChunkSize / 1024 / 1024));
  console.log(
    `  emulator state writes per upload: sliceUploadFile ${r.stateWrites.sliceUploadFile} (for ${parts} parts, initiate and complete), putObject ${r.stateWrites.putObject}`,
  );
  console.log(
    `  sliceUploadFile → emulator / → bare node: ${median(r.perRun.sliceUploadFile.map((x, i) => x / r.perRun.sliceUploadFileBare[i]!)).toFixed(2)}`,
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
