/** Shared set-up for the emulator tests: a fresh emulator in a temp folder and the official clients. */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import COS from 'cos-nodejs-sdk-v5';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { sign } from '#lib/upload-signature-codec';
import type { SignInput } from '#lib/upload-signature-codec';
import { startEmulator } from '../../local/emulator/index.ts';
import { functionEnv } from '../support/env.ts';
import type { Emulator, StartOptions } from '../../local/emulator/index.ts';

export const SECRET_ID = 'AKIDemulatorTestSecretId000000000000';
export const SECRET_KEY = 'emulatorTestSecretKey0123456789ab';
export const FIXTURES = path.join(__dirname, '..', 'fixtures', 'emulator');
export const CLIP = path.join(FIXTURES, 'clip.mp4');
export const COVER = path.join(FIXTURES, 'cover.png');

/** A clock tests move by hand; starts at the wall clock so the SDKs' own timestamps stay valid. */
export class ManualClock {
  private offset = 0;
  readonly now = () => Date.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
}

export function tempDir(prefix = 'vod-emulator-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestEmulator {
  emulator: Emulator;
  clock: ManualClock;
  dataDir: string;
  options: StartOptions;
  /** Stops the emulator and starts a new one on the same data folder (and port). */
  restart(): Promise<Emulator>;
  close(): Promise<void>;
}

/** A function environment (test/support/env.ts) whose VOD is this emulator, through the official SDK. */
export function emulatorEnv(
  t: TestEmulator,
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return functionEnv({
    VOD_SECRET_ID: SECRET_ID,
    VOD_SECRET_KEY: SECRET_KEY,
    VOD_SUB_APP_ID: undefined,
    VOD_API_ENDPOINT: t.emulator.apiEndpoint,
    VOD_API_PROTOCOL: 'http://',
    ...overrides,
  });
}

export async function startTestEmulator(overrides: Partial<StartOptions> = {}): Promise<TestEmulator> {
  const clock = new ManualClock();
  const dataDir = overrides.dataDir ?? tempDir();
  const options: StartOptions = {
    dataDir,
    credentials: [{ secretId: SECRET_ID, secretKey: SECRET_KEY }],
    clock: clock.now,
    events: { pullWaitMs: 300, pushRetryDelayMs: 50, pushTimeoutMs: 2000 },
    ...overrides,
  };
  const result: TestEmulator = {
    emulator: await startEmulator(options),
    clock,
    dataDir,
    options,
    async restart() {
      const port = result.emulator.port;
      await result.emulator.close();
      result.emulator = await startEmulator({ ...options, port });
      // Let clients notice that their kept-alive sockets to the old server are gone.
      await new Promise((resolve) => setTimeout(resolve, 50));
      return result.emulator;
    },
    async close() {
      await result.emulator.close();
      if (!overrides.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return result;
}

export type VodClient = InstanceType<typeof vod.v20180717.Client>;

export function vodClient(
  emulator: Emulator,
  credential: { secretId: string; secretKey: string; token?: string } = { secretId: SECRET_ID, secretKey: SECRET_KEY },
  reqTimeout = 30,
): VodClient {
  return new vod.v20180717.Client({
    credential,
    region: 'ap-guangzhou',
    profile: { httpProfile: { endpoint: emulator.apiEndpoint, protocol: 'http://', reqTimeout } },
  });
}

/** Pulls and confirms every event VOD holds for the primary application, so a test starts with none. */
export async function drainPulledEvents(emulator: Emulator): Promise<void> {
  const client = vodClient(emulator);
  for (;;) {
    const { EventSet } = await client.PullEvents({});
    if (!EventSet?.length) return;
    await client.ConfirmEvents({ EventHandles: EventSet.map((e) => e.EventHandle!) });
  }
}

/** A client-upload signature as the app server would issue it (times on the emulator's clock). */
export function uploadSignature(clock: ManualClock, input: Partial<SignInput> = {}, secretKey = SECRET_KEY): string {
  return sign({ secretId: SECRET_ID, ...input }, secretKey, new Date(clock.now()));
}

export interface UgcReply<T = Record<string, any>> {
  code: number;
  message: string;
  data: T;
}

/**
 * Calls the UGC API the way vod-js-sdk-v6 does (POST JSON to /v3/index.php?Action=…). There is no
 * official Node client for this API (the web SDK needs a browser: see browser.test.ts).
 */
export async function ugc(emulator: Emulator, action: string, body: Record<string, unknown>): Promise<UgcReply> {
  const response = await fetch(`${emulator.url}/v3/index.php?Action=${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=UTF-8' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as UgcReply;
}

export interface ApplyData {
  storageBucket: string;
  storageAppId: number;
  storageRegionV5: string;
  timestamp: number;
  vodSessionKey: string;
  video: { storagePath: string };
  cover?: { storagePath: string };
  tempCertificate: { secretId: string; secretKey: string; token: string; expiredTime: number };
}

/** cos-nodejs-sdk-v5 set up the way vod-js-sdk-v6 sets up COS, but pointed at the emulator (Domain form). */
export function cosForApply(emulator: Emulator, data: ApplyData, confDir: string, extra: Record<string, unknown> = {}): COS {
  return new COS({
    Domain: emulator.cosDomain,
    Protocol: 'http:',
    ConfCwd: confDir,
    ForceSignHost: false,
    getAuthorization(_options, callback) {
      callback({
        TmpSecretId: data.tempCertificate.secretId,
        TmpSecretKey: data.tempCertificate.secretKey,
        SecurityToken: data.tempCertificate.token,
        StartTime: data.timestamp,
        ExpiredTime: data.tempCertificate.expiredTime,
      });
    },
    ...extra,
  });
}

export const bucketOf = (data: ApplyData) => `${data.storageBucket}-${data.storageAppId}`;
export const keyOf = (storagePath: string) => storagePath.replace(/^\//, '');

/** Promisified COS call: `cosCall(cos, 'putObject', {...})`. */
export function cosCall<T = any>(cos: COS, method: string, params: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    (cos as any)[method](params, (err: unknown, data: T) => (err ? reject(err) : resolve(data)));
  });
}

/** Writes `size` pseudo-random bytes (fast: one random block repeated with a counter). */
export function writeRandomFile(file: string, size: number, seed = 1): void {
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ seed) >>> 0, i);
  const fd = fs.openSync(file, 'w');
  try {
    for (let written = 0, n = 0; written < size; n++) {
      const len = Math.min(block.length, size - written);
      block.writeUInt32LE(n ^ seed, 0);
      fs.writeSync(fd, block, 0, len);
      written += len;
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface Receiver {
  url: string;
  bodies: Record<string, any>[];
  /** Decides the status of each callback (default 200); may hang by returning 'hang'. */
  respond: (n: number) => number | 'hang';
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    bodies: [],
    respond: () => 200,
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      const status = receiver.respond(receiver.bodies.length);
      if (status === 'hang') return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/vod-events?token=t0k`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

/** Uploads the fixture through ApplyUpload/CommitUpload and returns the file id. */
export async function uploadViaApi(
  t: TestEmulator,
  client: VodClient,
  sourceContext = 'ctx',
  file = CLIP,
  subAppId?: number,
): Promise<string> {
  const confDir = path.join(t.dataDir, '..', `${path.basename(t.dataDir)}-cos-conf`);
  const sub = subAppId === undefined ? {} : { SubAppId: subAppId };
  const applied = await client.ApplyUpload({
    MediaType: path.extname(file).slice(1) || 'mp4',
    MediaName: path.basename(file, path.extname(file)),
    SourceContext: sourceContext,
    ...sub,
  });
  const cos = new COS({
    SecretId: applied.TempCertificate!.SecretId,
    SecretKey: applied.TempCertificate!.SecretKey,
    SecurityToken: applied.TempCertificate!.Token,
    Domain: t.emulator.cosDomain,
    Protocol: 'http:',
    ConfCwd: confDir,
  });
  await cosCall(cos, 'putObject', {
    Bucket: applied.StorageBucket,
    Region: applied.StorageRegion,
    Key: applied.MediaStoragePath!.slice(1),
    Body: fs.readFileSync(file),
  });
  return (await client.CommitUpload({ VodSessionKey: applied.VodSessionKey!, ...sub })).FileId!;
}
