/**
 * Issue #15's proof: uploads through the local stack (a separate process) while the emulator drops 30 %
 * and duplicates 30 % of its callbacks, to a receiver that fails its first three answers for some uploads
 * and does not answer at all for others, with a SIGKILL of the stack halfway. Every request is verified
 * with the standardwebhooks package; every upload's final event arrives, its events in sequence order
 * with none missing, and a webhook seen twice is the same webhook (same id, same content).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { MemoryResumeStore, VodUploader } from '../../client/node';
import { makeTestClip } from '../../scripts/test-clip';
import { freePort, startStackProcess, type StackProcess } from '../support/stack-process';

const UPLOADS = Number(process.env.WEBHOOK_UPLOADS ?? 50);
const work = mkdtempSync(path.join(tmpdir(), 'vub-webhooks-'));
const secret = `whsec_${randomBytes(32).toString('base64')}`;
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Got {
  id: string;
  type: string;
  uploadId: string;
  sequence: number;
  digest: string;
}

/** What the receiver does with an upload's first answers: by its id, so about 3 in 16 fail 3 times, 2 in 16 hang. */
function scriptFor(uploadId: string): Array<number | 'hang'> {
  const c = uploadId[0]!;
  if ('012'.includes(c)) return [500, 503, 500];
  if ('34'.includes(c)) return ['hang'];
  return [];
}

test(`${UPLOADS} uploads, lossy callbacks, a flaky receiver and a SIGKILL: every final webhook arrives, verified, in order`, async () => {
  const verifier = new Webhook(secret);
  const got: Got[] = [];
  let refused = 0;
  const scripts = new Map<string, Array<number | 'hang'>>();
  const receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let payload: { type: string; data: { uploadId: string; sequence: number } };
      try {
        payload = verifier.verify(body, req.headers as Record<string, string>) as typeof payload;
      } catch {
        refused++;
        res.writeHead(401).end();
        return;
      }
      const { uploadId, sequence } = payload.data;
      if (!scripts.has(uploadId)) scripts.set(uploadId, scriptFor(uploadId));
      const answer = scripts.get(uploadId)!.shift() ?? 204;
      if (answer === 'hang') return;
      if (answer === 204) {
        const digest = createHash('sha256')
          .update(JSON.stringify({ t: payload.type, s: sequence, u: uploadId }))
          .digest('hex');
        got.push({ id: String(req.headers['webhook-id']), type: payload.type, uploadId, sequence, digest });
      }
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  const clip = path.join(work, 'clip.mp4');
  makeTestClip(clip, { width: 160, height: 90, seconds: 1, fps: 10, audio: false });
  const ports = { PORT: String(await freePort()), EMULATOR_PORT: String(await freePort()) };
  const env = {
    ...ports,
    DATA_DIR: path.join(work, 'data'),
    PIPELINE_TRANSCODE_DEFINITIONS: '100010',
    PIPELINE_SNAPSHOT_DEFINITION: '0',
    PIPELINE_COVER_DEFINITION: '0',
    PIPELINE_SPRITE_DEFINITION: '0',
    PIPELINE_ADAPTIVE_DEFINITION: '0',
    RATE_LIMIT_SIGNATURES: '1000',
    UPLOAD_MAX_ISSUED_PER_USER: '0',
    UPLOADED_RETRY_AFTER_SECONDS: '0',
    PROCESSING_DEADLINE_SECONDS: '1',
    APP_WEBHOOK_URL: hookUrl,
    APP_WEBHOOK_SECRETS: secret,
    APP_WEBHOOK_TIMEOUT_MS: '1000',
    LOG_LEVEL: 'error',
  };
  const api = `http://127.0.0.1:${ports.PORT}`;
  const emulatorUrl = `http://127.0.0.1:${ports.EMULATOR_PORT}`;
  const lossy = () =>
    fetch(`${emulatorUrl}/__admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ seed: 15, push: { dropRate: 0.3, duplicateRate: 0.3 } }),
    }).then((r) => expect(r.status).toBe(200));
  const cleanup = () => fetch(`${api}/local/timers/cleanup`, { method: 'POST' }).then((r) => r.json());

  let stack: StackProcess = await startStackProcess(env);
  const kill = async () => {
    const exited = stack.child.exitCode !== null ? Promise.resolve() : new Promise((r) => stack.child.once('exit', r));
    stack.child.kill('SIGKILL');
    await exited;
  };
  try {
    await lossy();
    const token = /bearer token \(24 h\):\s+(\S+)/.exec(stack.output())![1]!;
    const cosDomain = /--cos-domain (\S+)/.exec(stack.output())![1]!;
    const client = new VodUploader({
      apiBaseUrl: api,
      token,
      vodApiUrl: emulatorUrl,
      cosDomain,
      resumeStore: new MemoryResumeStore(),
      stateDir: path.join(work, 'client'),
    });
    const uploadIds: string[] = [];
    const batch = async (count: number) => {
      for (let i = 0; i < count; i += 5) {
        const done = await Promise.all(Array.from({ length: Math.min(5, count - i) }, () => client.upload(clip)));
        uploadIds.push(...done.map((u) => u.uploadId));
      }
    };
    const half = Math.floor(UPLOADS / 2);
    await batch(half);
    // Mid-flight: callbacks, processing and webhooks of the first half are under way.
    await kill();
    stack = await startStackProcess(env);
    await lossy();
    await batch(UPLOADS - half);

    const finalOf = (id: string) => got.find((g) => g.uploadId === id && g.type === 'upload.ready');
    const deadline = Date.now() + 200_000;
    while (uploadIds.some((id) => !finalOf(id)) && Date.now() < deadline) {
      await cleanup();
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(uploadIds.filter((id) => !finalOf(id))).toEqual([]);
    expect(refused).toBe(0);
    // The same id is always the same webhook; one (upload, sequence) has one id.
    const byId = new Map<string, string>();
    const idOf = new Map<string, string>();
    for (const g of got) {
      expect(byId.get(g.id) ?? g.digest).toBe(g.digest);
      byId.set(g.id, g.digest);
      const key = `${g.uploadId}:${g.sequence}`;
      expect(idOf.get(key) ?? g.id).toBe(g.id);
      idOf.set(key, g.id);
    }
    for (const id of uploadIds) {
      const firsts = got.filter((g) => g.uploadId === id).filter((g, i, all) => all.findIndex((o) => o.id === g.id) === i);
      const sequences = firsts.map((g) => g.sequence);
      // In order, none missing: 2, 3, … up to READY's (1 is ISSUED, which has no webhook).
      expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => i + 2));
      expect(firsts.at(-1)!.type).toBe('upload.ready');
    }
    // The receiver's faults were met: some uploads needed retries, some a timeout.
    expect(uploadIds.some((id) => '012'.includes(id[0]!))).toBe(true);
  } finally {
    await kill();
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  }
}, 420_000);
