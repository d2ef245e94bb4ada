/**
 * Outbound webhooks on a real database with a real local receiver (127.0.0.1): the trigger's timeline
 * and outbox, signatures checked by the standardwebhooks package's own verifier, rotation, retries with
 * backoff, per-upload order, timeouts, leases between concurrent senders, the address rules.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { runCleanup } from '#lib/cleanup';
import { ConfigError, loadConfig, type Config } from '#lib/config';
import { createLogger } from '#lib/log';
import { expireIssuedUploads } from '#lib/upload-batches';
import { deleteLibraryUpload } from '#lib/upload-library';
import { uploadStatus } from '#lib/upload-status';
import { insertIssuedUpload, updateUpload } from '#lib/upload-store';
import type { VodCalls } from '#lib/vod-api';
import { deliverDueWebhooks, uploadTimeline, uploadWebhooks, webhookBody, webhookHeaders } from '#lib/webhooks';
import { isPublicAddress } from '#lib/webhooks/address';
import { replayWebhooks } from '#lib/webhooks/replay';
import { postWebhook } from '#lib/webhooks/send';
import { main as replayMain } from '../../scripts/webhooks-replay';
import { openTestDatabase, truncateAll, type TestDatabase } from '../support/db';
import { functionEnv } from '../support/env';

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;
const NEW_SECRET = secret();
const OLD_SECRET = secret();

interface Received {
  headers: Record<string, string>;
  body: string;
  answeredWith: number | 'hang';
}

/** A receiver whose answers a test scripts per upload: a list of statuses ('hang': no answer), then 204. */
class Receiver {
  received: Received[] = [];
  script = new Map<string, Array<number | 'hang'>>();
  server!: Server;
  url = '';
  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const uploadId = (JSON.parse(body) as { data: { uploadId: string } }).data.uploadId;
        const answer = this.script.get(uploadId)?.shift() ?? 204;
        this.received.push({ headers: req.headers as Record<string, string>, body, answeredWith: answer });
        if (answer === 'hang') return;
        if (answer === 302) res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' });
        else res.writeHead(answer);
        res.end(answer === 500 ? `\u001b[31m${'x'.repeat(100_000)}` : '');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }
  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
  /** What was received, verified with `secretForVerifier`; throws on the first request that fails. */
  verified(secretForVerifier = NEW_SECRET) {
    const verifier = new Webhook(secretForVerifier);
    return this.received.map((r) => ({
      id: r.headers['webhook-id']!,
      answeredWith: r.answeredWith,
      payload: verifier.verify(r.body, r.headers) as {
        type: string;
        timestamp: string;
        data: { uploadId: string; userId: string; sequence: number; status: string };
      },
    }));
  }
}

let testDb: TestDatabase;
let receiver: Receiver;
let config: Config;
const log = createLogger({}, 'error');

function configWith(overrides: Record<string, string> = {}): Config {
  return loadConfig(
    functionEnv({ APP_WEBHOOK_URL: receiver.url, APP_WEBHOOK_SECRETS: `${NEW_SECRET},${OLD_SECRET}`, ...overrides }),
  );
}

async function issued(userId = 'alice'): Promise<string> {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId, signatureExpiresAt: new Date(Date.now() + 3600_000) });
  return uploadId;
}

/** ISSUED → UPLOADED → PROCESSING → READY, each with its cause, as the event handling writes them. */
async function toReady(uploadId: string): Promise<void> {
  const cause = { source: 'vod-event', via: 'push' } as const;
  await updateUpload(testDb.db, uploadId, { status: 'UPLOADED', fileId: `f-${uploadId}` }, undefined, {
    ...cause,
    detail: 'NewFileUpload',
    requestId: 'req-1',
  });
  await updateUpload(testDb.db, uploadId, { status: 'PROCESSING', taskId: 't-1' }, 'UPLOADED', {
    source: 'processing-start',
  });
  await updateUpload(testDb.db, uploadId, { result: { progress: 50 } });
  await updateUpload(
    testDb.db,
    uploadId,
    { status: 'READY', result: { renditions: [{ url: 'https://cdn.example.com/v.mp4', definition: 100010 }] } },
    undefined,
    { ...cause, detail: 'ProcedureStateChanged', taskId: 't-1' },
  );
}

const deliver = (clock = Date.now, cfg = config) => deliverDueWebhooks({ config: cfg, db: testDb.db, log, clock });

beforeAll(async () => {
  testDb = await openTestDatabase();
  receiver = new Receiver();
  await receiver.start();
  config = configWith();
}, 60_000);
afterAll(async () => {
  await receiver.stop();
  await testDb.close();
});
beforeEach(async () => {
  await truncateAll(testDb.db);
  await testDb.db.exec('TRUNCATE webhook_outbox, upload_timeline');
  receiver.received = [];
  receiver.script.clear();
});

test('every status change writes a timeline row with its cause and (after ISSUED) one outbox row; other updates none', async () => {
  const uploadId = await issued();
  await toReady(uploadId);
  const timeline = await uploadTimeline(testDb.db, uploadId);
  expect(timeline.map((e) => [e.seq, e.from, e.to])).toEqual([
    [1, null, 'ISSUED'],
    [2, 'ISSUED', 'UPLOADED'],
    [3, 'UPLOADED', 'PROCESSING'],
    [4, 'PROCESSING', 'READY'],
  ]);
  expect(timeline[1]!.cause).toEqual({ source: 'vod-event', via: 'push', detail: 'NewFileUpload', requestId: 'req-1' });
  expect(timeline[3]!.cause).toMatchObject({ detail: 'ProcedureStateChanged', taskId: 't-1' });
  const outbox = await uploadWebhooks(testDb.db, uploadId);
  expect(outbox.map((r) => [r.seq, r.eventType, r.state])).toEqual([
    [2, 'upload.uploaded', 'pending'],
    [3, 'upload.processing', 'pending'],
    [4, 'upload.ready', 'pending'],
  ]);
  // The cause is consumed by the trigger: a later status change without one records none.
  await updateUpload(testDb.db, uploadId, { status: 'DELETED' });
  expect((await uploadTimeline(testDb.db, uploadId)).at(-1)).toMatchObject({ to: 'DELETED', cause: null });
});

test('the batch expiry goes through the same trigger: timeline and upload.expired', async () => {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId: 'bob', signatureExpiresAt: new Date(Date.now() - 7200_000) });
  expect(await expireIssuedUploads(testDb.db, { maxAgeSeconds: 86_400, graceSeconds: 60 }, 10, new Date())).toBe(1);
  expect((await uploadTimeline(testDb.db, uploadId)).at(-1)).toMatchObject({
    to: 'EXPIRED',
    cause: { source: 'cleanup', detail: 'expire' },
  });
  expect((await uploadWebhooks(testDb.db, uploadId)).map((r) => r.eventType)).toEqual(['upload.expired']);
});

test('a delivered webhook verifies with the standard verifier and carries the view, user, type, time and sequence', async () => {
  const uploadId = await issued('carol');
  await toReady(uploadId);
  expect(await deliver()).toEqual({ delivered: 3, failed: 0, undeliverable: 0 });
  const got = receiver.verified();
  expect(got.map((g) => [g.payload.type, g.payload.data.sequence])).toEqual([
    ['upload.uploaded', 2],
    ['upload.processing', 3],
    ['upload.ready', 4],
  ]);
  expect(got[2]!.payload.data).toMatchObject({ uploadId, userId: 'carol', status: 'READY', fileId: `f-${uploadId}` });
  expect(got[2]!.id).toBe(`msg_${uploadId.replaceAll('-', '')}_4`);
  // A verifier holding only the old secret accepts too while both are configured (rotation).
  expect(receiver.verified(OLD_SECRET)).toHaveLength(3);
  expect((await uploadWebhooks(testDb.db, uploadId)).every((r) => r.state === 'delivered')).toBe(true);
});

test('DELETE /uploads/{id} sends upload.deleted right after its commit, not at the next timer', async () => {
  const uploadId = await issued('dave');
  const deps = { config, db: testDb.db, log, deleteMedia: async () => {}, webhookDeadline: Date.now() + 5_000 };
  expect((await deleteLibraryUpload(deps, { userId: 'dave', admin: false }, uploadId)).status).toBe(200);
  const got = receiver.verified();
  expect(got.map((g) => [g.payload.type, g.payload.data.uploadId, g.payload.data.status])).toEqual([
    ['upload.deleted', uploadId, 'DELETED'],
  ]);
  expect((await uploadWebhooks(testDb.db, uploadId)).map((r) => r.state)).toEqual(['delivered']);
});

test('forged, re-timestamped and old-secret requests are refused by the standard verifier', async () => {
  const uploadId = await issued();
  await updateUpload(testDb.db, uploadId, { status: 'UPLOADED' });
  const [row] = await uploadWebhooks(testDb.db, uploadId);
  const body = webhookBody(row!, undefined);
  const verifier = new Webhook(NEW_SECRET);
  const fresh = webhookHeaders([NEW_SECRET], row!.webhookId, body, new Date());
  expect(() => verifier.verify(body, fresh)).not.toThrow();
  expect(() => verifier.verify(body.replace('"alice"', '"mallory"'), fresh)).toThrow();
  expect(() => verifier.verify(body, { ...fresh, 'webhook-id': 'msg_other' })).toThrow();
  const old = webhookHeaders([NEW_SECRET], row!.webhookId, body, new Date(Date.now() - 6 * 60_000));
  expect(() => verifier.verify(body, old)).toThrow(/timestamp/i);
  // Once the rotation is over the receiver holds only the new secret: the old one's signature is refused.
  const oldSecretOnly = webhookHeaders([OLD_SECRET], row!.webhookId, body, new Date());
  expect(() => verifier.verify(body, oldSecretOnly)).toThrow();
  expect(() => new Webhook(secret()).verify(body, fresh)).toThrow();
});

test("a receiver failing 3 times: the same webhook-id is retried with backoff, the upload's later events wait their turn", async () => {
  const uploadId = await issued();
  await toReady(uploadId);
  receiver.script.set(uploadId, [500, 503, 302]);
  let now = Date.now();
  const clock = () => now;
  const attempts: number[] = [];
  for (let i = 0; i < 3; i++) {
    expect(await deliver(clock)).toEqual({ delivered: 0, failed: 1, undeliverable: 0 });
    const [head, ...rest] = await uploadWebhooks(testDb.db, uploadId);
    const wait = head!.nextAttemptAt.getTime() - now;
    // Doubling with jitter: 2.5-5 s, 5-10 s, 10-20 s. The first retry is within a minute.
    expect(wait).toBeGreaterThanOrEqual(2_500 * 2 ** i);
    expect(wait).toBeLessThanOrEqual(5_000 * 2 ** i);
    expect(head!.lastError).toMatch(/^HTTP (500|503|302)/);
    expect(head!.lastError!.length).toBeLessThanOrEqual(500);
    expect(rest.every((r) => r.attempts === 0)).toBe(true);
    attempts.push(head!.attempts);
    // Not due yet: nothing is sent.
    expect(await deliver(clock)).toEqual({ delivered: 0, failed: 0, undeliverable: 0 });
    now += wait;
  }
  expect(attempts).toEqual([1, 2, 3]);
  expect(await deliver(clock)).toEqual({ delivered: 3, failed: 0, undeliverable: 0 });
  const got = receiver.verified();
  expect(got.map((g) => [g.payload.data.sequence, g.answeredWith])).toEqual([
    [2, 500],
    [2, 503],
    [2, 302],
    [2, 204],
    [3, 204],
    [4, 204],
  ]);
  expect(new Set(got.slice(0, 4).map((g) => g.id)).size).toBe(1);
});

test('a receiver that does not answer times out and is retried; past the maximum age the webhook stays undeliverable', async () => {
  const uploadId = await issued();
  await updateUpload(testDb.db, uploadId, { status: 'UPLOADED' });
  receiver.script.set(uploadId, ['hang', 'hang']);
  const quick = configWith({ APP_WEBHOOK_TIMEOUT_MS: '300', APP_WEBHOOK_MAX_AGE_HOURS: '1' });
  const started = Date.now();
  expect(await deliver(Date.now, quick)).toEqual({ delivered: 0, failed: 1, undeliverable: 0 });
  expect(Date.now() - started).toBeLessThan(3000);
  expect((await uploadWebhooks(testDb.db, uploadId))[0]!.lastError).toMatch(/timed out/);
  // An hour later the next failure is the last one.
  const later = () => started + 3600_000;
  expect(await deliver(later, quick)).toEqual({ delivered: 0, failed: 0, undeliverable: 1 });
  const [row] = await uploadWebhooks(testDb.db, uploadId);
  expect(row).toMatchObject({ state: 'undeliverable', attempts: 2 });
  expect(await deliver(() => started + 7200_000, quick)).toEqual({ delivered: 0, failed: 0, undeliverable: 0 });
});

test('two senders at once never send the same webhook; each upload still in order', async () => {
  const ids = await Promise.all(Array.from({ length: 12 }, () => issued()));
  for (const id of ids) await toReady(id);
  const results = await Promise.all([deliver(), deliver(), deliver()]);
  expect(results.reduce((sum, r) => sum + r.delivered, 0)).toBe(36);
  const got = receiver.verified();
  expect(got).toHaveLength(36);
  expect(new Set(got.map((g) => g.id)).size).toBe(36);
  for (const id of ids) {
    expect(got.filter((g) => g.payload.data.uploadId === id).map((g) => g.payload.data.sequence)).toEqual([2, 3, 4]);
  }
});

test('the cleanup runs the webhooks step (alone on the webhooks timer); without APP_WEBHOOK_URL pending rows are dropped', async () => {
  const uploadId = await issued();
  await toReady(uploadId);
  const deps = { db: testDb.db, vod: {} as VodCalls, log, deadline: Date.now() + 20_000 };
  const summary = await runCleanup({ ...deps, config, webhooksOnly: true });
  expect(summary).toMatchObject({ webhooksDelivered: 3, stepsFailed: 0 });
  const other = await issued();
  await updateUpload(testDb.db, other, { status: 'UPLOADED' });
  await runCleanup({ ...deps, config: loadConfig(functionEnv()), webhooksOnly: true });
  expect(await uploadWebhooks(testDb.db, other)).toEqual([]);
  expect((await uploadWebhooks(testDb.db, uploadId)).map((r) => r.state)).toEqual(['delivered', 'delivered', 'delivered']);
});

test('GET /uploads/{id} shows the history: time, status and a short reason, no internal ids', async () => {
  const uploadId = await issued();
  await toReady(uploadId);
  const view = (await uploadStatus({ config, db: testDb.db }, { userId: 'alice' }, uploadId)) as { history: unknown[] };
  expect(view.history).toEqual([
    { at: expect.any(String), status: 'ISSUED', reason: 'Upload signature issued' },
    { at: expect.any(String), status: 'UPLOADED', reason: 'VOD received the file' },
    { at: expect.any(String), status: 'PROCESSING', reason: 'Processing started' },
    { at: expect.any(String), status: 'READY', reason: 'Processing finished' },
  ]);
  expect(JSON.stringify(view.history)).not.toMatch(/t-1|req-1/);
});

test('production: only public https addresses, also after resolution; answers read up to a small limit', async () => {
  for (const address of [
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '::1',
    'fd00::1',
    '::ffff:10.0.0.1',
    '100.64.0.1',
  ]) {
    expect(isPublicAddress(address)).toBe(false);
  }
  for (const address of ['8.8.8.8', '2001:4860:4860::8888', '1.1.1.1']) expect(isPublicAddress(address)).toBe(true);
  const production =
    (url: string, secrets = NEW_SECRET) =>
    () =>
      loadConfig(
        functionEnv({ STAGE: 'production', DATABASE_URL: 'postgres://x/y', APP_WEBHOOK_URL: url, APP_WEBHOOK_SECRETS: secrets }),
      );
  expect(production('http://hooks.example.com/x')).toThrow(/https/);
  expect(production('https://10.0.0.5/x')).toThrow(/private/);
  expect(production('https://localhost/x')).toThrow(/localhost/);
  expect(production('https://hooks.example.com/x', '')).toThrow(/APP_WEBHOOK_SECRETS/);
  expect(production('https://hooks.example.com/x', 'whsec_c2hvcnQ=')).toThrow(/24 to 64 bytes/);
  expect(production('https://hooks.example.com/x')).not.toThrow(ConfigError);
  // A public-looking name that resolves to loopback is refused when connecting.
  const refused = await postWebhook('https://localhost.localdomain.invalid/x', {}, '{}', { timeoutMs: 2000, publicOnly: true });
  expect(refused.ok).toBe(false);
  const viaLocalhost = await postWebhook(receiver.url.replace('127.0.0.1', 'localhost').replace('http:', 'https:'), {}, '{}', {
    timeoutMs: 2000,
    publicOnly: true,
  });
  expect(viaLocalhost).toMatchObject({ ok: false, detail: expect.stringMatching(/non-public/) });
  // A big error page: only the first KiB is read.
  const uploadId = await issued();
  receiver.script.set(uploadId, [500]);
  await updateUpload(testDb.db, uploadId, { status: 'UPLOADED' });
  const [row] = await uploadWebhooks(testDb.db, uploadId);
  const big = await postWebhook(receiver.url, {}, webhookBody(row!, undefined), { timeoutMs: 2000, publicOnly: false });
  expect(big.status).toBe(500);
  expect(big.detail.length).toBeLessThanOrEqual(1024);
  // The terminal escape the receiver sent is not kept as such.
  expect(big.detail).toMatch(/^ \[31mx+$/);
});

test('replay re-sends delivered webhooks with their original id and a fresh signature, filtered', async () => {
  const first = await issued();
  const second = await issued();
  await toReady(first);
  await toReady(second);
  receiver.script.set(second, [500]);
  await deliver();
  receiver.received = [];
  const lines: string[] = [];
  const deps = { config, db: testDb.db, log };
  const since = new Date(Date.now() - 60_000);
  expect(await replayWebhooks(deps, { since, eventType: 'upload.ready' }, (l) => lines.push(l.webhookId))).toEqual({
    sent: 1,
    failed: 0,
  });
  // `second` was never delivered (its first event failed, the rest wait): nothing of it is replayed.
  expect(receiver.verified().map((g) => [g.id, g.payload.data.uploadId])).toEqual([
    [`msg_${first.replaceAll('-', '')}_4`, first],
  ]);
  expect(lines).toEqual([`msg_${first.replaceAll('-', '')}_4`]);
  receiver.received = [];
  await replayWebhooks(deps, { since, uploadId: first }, () => undefined);
  expect(receiver.verified().map((g) => g.payload.data.sequence)).toEqual([2, 3, 4]);
  expect(await replayWebhooks(deps, { since: new Date(Date.now() + 60_000) }, () => undefined)).toEqual({ sent: 0, failed: 0 });
  // Bad arguments: exit code 2 and a message naming the problem, before any database is opened.
  const errors: string[] = [];
  expect(
    await replayMain(
      ['--since', 'yesterday'],
      {},
      () => undefined,
      (l) => errors.push(l),
    ),
  ).toBe(2);
  expect(
    await replayMain(
      ['--since', since.toISOString(), '--type', 'upload.nope'],
      {},
      () => undefined,
      (l) => errors.push(l),
    ),
  ).toBe(2);
  expect(errors.join('\n')).toMatch(/--since must be an ISO 8601 time[\s\S]*--type must be one of upload.uploaded/);
});
