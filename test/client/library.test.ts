/**
 * The library calls of the upload client (`list`, `listAll`, `deleteUpload`, `usage`) and the CLI's
 * `vod-upload ls`, `rm` and `usage`, against the real local stack (local/stack.ts: the gateway running
 * the built functions from serverless.yml, PGlite, the VOD emulator): pages newest first, a delete that
 * erases the media, a service token, quota use and a quota refusal, and the error kinds and exit codes.
 * The option checks that need no backend run always; the rest under `npm run test:jest`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { setLogSink } from '#lib/log';
import { runCli } from '../../client/cli/run-cli.ts';
import { EXIT_CODES, VodUploader, VodUploadError } from '../../client/index.ts';
import { startStack, type Stack } from '../../local/stack';
import { makeTestClip } from '../../scripts/test-clip';

const ROOT = path.join(__dirname, '..', '..');
// PGlite needs --experimental-vm-modules under jest (`npm run test:jest` passes it); the stack runs dist/.
const usable = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('--experimental-vm-modules'));
if (!usable) console.warn('library client tests skipped: they need `npm run test:jest` (--experimental-vm-modules)');
const withLibrary = usable ? test : test.skip;

const DAILY_UPLOADS = 6;
let stack: Stack;
let work: string;
let previousSink: (line: string) => void;

beforeAll(async () => {
  if (!usable) return;
  previousSink = setLogSink(() => undefined);
  work = mkdtempSync(path.join(tmpdir(), 'vub-library-'));
  stack = await startStack({
    dataDir: path.join(work, 'data'),
    port: 0,
    emulatorPort: 0,
    timers: false,
    log: () => undefined,
    env: { AUTH_ADMIN_CLAIM: 'scope=vod-upload:admin', QUOTA_UPLOADS_PER_DAY: String(DAILY_UPLOADS) },
  });
  // The first call of each function opens the database (and migrates it): here, not inside a test's time.
  const warm = client(await stack.demoToken('warm-up'));
  await warm.list();
  await warm.getSignature({ fileName: 'warm-up.mp4', fileSize: 1, fileType: 'mp4' });
}, 120_000);

afterAll(async () => {
  if (!usable) return;
  await stack?.close();
  setLogSink(previousSink);
  rmSync(work, { recursive: true, force: true });
});

/** A token of the app's backend: the stack's own key, and the admin scope among others. */
function serviceToken(): Promise<string> {
  return new SignJWT({ scope: 'openid vod-upload:admin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('app-backend')
    .setIssuer('vod-upload-backend-local')
    .setAudience('vod-upload-local')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(stack.secrets.jwtSecret));
}

function client(token: string | undefined): VodUploader {
  return new VodUploader({
    apiBaseUrl: stack.apiUrl,
    token,
    vodApiUrl: stack.emulator.url,
    cosDomain: stack.emulator.cosDomain,
    resume: false,
    // A cold function under a loaded machine may take long; a timed-out signature retried would issue two.
    requestTimeoutMs: 60_000,
    retry: { retries: 1, minDelayMs: 50, maxDelayMs: 100 },
  });
}

/** `n` ISSUED uploads named `<prefix>-01.mp4`…, one after the other (so newest first is the reverse). */
async function issue(c: VodUploader, prefix: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 1; i <= n; i++) {
    const name = `${prefix}-${String(i).padStart(2, '0')}.mp4`;
    ids.push((await c.getSignature({ fileName: name, fileSize: 1000 + i, fileType: 'mp4' })).uploadId);
  }
  return ids;
}

async function failureOf(promise: Promise<unknown>): Promise<VodUploadError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VodUploadError);
  return error as VodUploadError;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `runCli` in this process with the stack's URLs in its environment. */
async function cli(args: string[], token?: string, confirm?: (q: string) => Promise<boolean>): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: {
      VOD_UPLOAD_API: stack?.apiUrl ?? 'http://127.0.0.1:9',
      VOD_UPLOAD_VOD_API: stack?.emulator.url,
      VOD_UPLOAD_COS_DOMAIN: stack?.emulator.cosDomain,
      ...(token ? { VOD_UPLOAD_TOKEN: token } : {}),
    },
    confirm,
  });
  return { code, stdout, stderr };
}

test('the CLI checks its options before calling anything: usage errors exit 2, --help exits 0', async () => {
  const [badStatus, badLimit, noId, twoIds, extra, unknown, help, helpMain] = await Promise.all([
    cli(['ls', '--status', 'nope', '--json']),
    cli(['ls', '--limit', '101']),
    cli(['rm']),
    cli(['rm', 'a', 'b']),
    cli(['usage', 'extra']),
    cli(['usage', '--status', 'READY']),
    cli(['ls', '--help']),
    cli(['--help']),
  ]);
  expect(badStatus.code).toBe(EXIT_CODES.badInput);
  expect(JSON.parse(badStatus.stdout)).toMatchObject({
    ok: false,
    exitCode: 2,
    error: { kind: 'bad-input', message: expect.stringContaining('--status must be one of ISSUED') },
  });
  expect(badLimit.code).toBe(2);
  expect(badLimit.stderr).toContain('--limit must be a whole number from 1 to 100, not "101"');
  expect(badLimit.stderr).toContain('Usage: vod-upload ls');
  expect([noId.code, twoIds.code, extra.code, unknown.code]).toEqual([2, 2, 2, 2]);
  expect(noId.stderr).toContain('give exactly one upload id');
  expect(unknown.stderr).toMatch(/Unknown option '--status'/);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^Usage: vod-upload ls \[--status S\] \[--limit N\]/);
  expect(help.stdout).toContain('--all');
  expect(helpMain.stdout).toMatch(/vod-upload rm <uploadId> \[--yes\]/);
  expect(helpMain.stdout).toMatch(/vod-upload usage/);
});

test('the client refuses a limit outside 1-100 as bad-input naming the field, without a request', async () => {
  let requests = 0;
  const c = new VodUploader({
    apiBaseUrl: 'http://127.0.0.1:9',
    fetch: (() => {
      requests += 1;
      return Promise.reject(new Error('no request expected'));
    }) as typeof fetch,
  });
  for (const limit of [0, 101, 2.5]) {
    const error = await failureOf(c.list({ limit }));
    expect([error.kind, error.field]).toEqual(['bad-input', 'limit']);
  }
  expect((await failureOf(c.deleteUpload(''))).kind).toBe('bad-input');
  expect(requests).toBe(0);
});

test('a backend that never answers: network errors after requestTimeoutMs, retried like the upload calls', async () => {
  const sockets = new Set<net.Socket>();
  let requests = 0;
  const silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
  try {
    const c = new VodUploader({
      apiBaseUrl: url,
      requestTimeoutMs: 200,
      retry: { retries: 2, minDelayMs: 10, maxDelayMs: 20 },
      fetch: ((input: Parameters<typeof fetch>[0], init?: RequestInit) => {
        requests += 1;
        return fetch(input, init);
      }) as typeof fetch,
    });
    for (const call of [() => c.list(), () => c.usage(), () => c.deleteUpload('00000000-0000-4000-8000-000000000000')]) {
      const before = requests;
      const error = await failureOf(call());
      expect(error.kind).toBe('network');
      expect(error.message).toMatch(/no answer from http:\/\/127\.0\.0\.1:\d+\/(uploads|me\/usage)\S* within 200 ms/);
      expect(requests - before).toBe(3);
    }
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});

withLibrary(
  'list and delete retry a 503 and a dropped connection, then answer',
  async () => {
    const token = await stack.demoToken('ines');
    const c0 = client(token);
    const [id] = await issue(c0, 'ines', 1);
    const answers: string[] = [];
    let call = 0;
    const flaky = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      call += 1;
      if (call % 3 === 1) {
        answers.push('503');
        return new Response('{"error":{"code":"Unavailable","message":"try again"}}', { status: 503 });
      }
      if (call % 3 === 2) {
        answers.push('dropped');
        throw new TypeError('fetch failed');
      }
      const response = await fetch(input, init);
      answers.push(String(response.status));
      return response;
    }) as typeof fetch;
    const c = new VodUploader({
      apiBaseUrl: stack.apiUrl,
      token,
      resume: false,
      fetch: flaky,
      requestTimeoutMs: 60_000,
      retry: { retries: 2, minDelayMs: 10, maxDelayMs: 20 },
    });
    expect((await c.list()).uploads.map((u) => u.uploadId)).toEqual([id]);
    expect((await c.deleteUpload(id!)).upload.status).toBe('DELETED');
    expect(answers).toEqual(['503', 'dropped', '200', '503', 'dropped', '200']);
  },
  30_000,
);

withLibrary(
  'list: newest first, a page at a time with nextCursor, listAll, a status filter; each user sees their own',
  async () => {
    const ann = client(await stack.demoToken('ann'));
    const bob = client(await stack.demoToken('bob'));
    const annIds = await issue(ann, 'ann', 5);
    const bobIds = await issue(bob, 'bob', 1);

    const first = await ann.list({ limit: 2 });
    expect(first.uploads.map((u) => u.uploadId)).toEqual([annIds[4], annIds[3]]);
    expect(first.uploads[0]).toMatchObject({ status: 'ISSUED', fileName: 'ann-05.mp4' });
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await ann.list({ limit: 2, cursor: first.nextCursor! });
    expect(second.uploads.map((u) => u.uploadId)).toEqual([annIds[2], annIds[1]]);
    const last = await ann.list({ limit: 2, cursor: second.nextCursor! });
    expect(last.uploads.map((u) => u.uploadId)).toEqual([annIds[0]]);
    expect(last.nextCursor).toBeNull();

    const pages: string[][] = [];
    for await (const page of ann.listAll({ limit: 2 })) pages.push(page.uploads.map((u) => u.uploadId));
    expect(pages).toEqual([[annIds[4], annIds[3]], [annIds[2], annIds[1]], [annIds[0]]]);
    expect((await ann.list()).uploads.map((u) => u.uploadId)).toEqual([...annIds].reverse());
    expect((await ann.list({ status: 'READY' })).uploads).toEqual([]);
    expect((await bob.list()).uploads.map((u) => u.uploadId)).toEqual(bobIds);

    // The CLI: a table on stdout, the next cursor on stderr; --all follows every page.
    const token = await stack.demoToken('ann');
    const ls = await cli(['ls', '--limit', '2'], token);
    expect(ls.code).toBe(0);
    const lines = ls.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^UPLOAD ID\s+STATUS\s+CREATED\s+SIZE\s+LENGTH\s+NAME$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([annIds[4], annIds[3]]);
    expect(lines[1]).toMatch(/\sISSUED\s.*ann-05\.mp4$/);
    expect(ls.stderr).toMatch(/^more: vod-upload ls --cursor \S+ \(or --all\)$/m);
    const all = await cli(['ls', '--all', '--limit', '2', '--json'], token);
    expect(all.code).toBe(0);
    const out = JSON.parse(all.stdout) as { ok: boolean; uploads: Array<{ uploadId: string }>; nextCursor: null };
    expect(out.ok).toBe(true);
    expect(out.uploads.map((u) => u.uploadId)).toEqual([...annIds].reverse());
    expect(out.nextCursor).toBeNull();
    const none = await cli(['ls', '--status', 'ready'], token);
    expect([none.code, none.stdout]).toEqual([0, 'no READY uploads\n']);
  },
  60_000,
);

withLibrary(
  'errors: a bad cursor is bad-input naming the field (exit 2), another user is 403 (exit 3), a bad token exit 3',
  async () => {
    const cara = client(await stack.demoToken('cara'));
    await issue(cara, 'cara', 1);
    const badCursor = await failureOf(cara.list({ cursor: 'not-a-cursor' }));
    expect([badCursor.kind, badCursor.status, badCursor.field]).toEqual(['bad-input', 400, 'cursor']);
    const other = await failureOf(cara.list({ userId: 'ann' }));
    expect([other.kind, other.status]).toEqual(['signature-refused', 403]);
    // Naming itself is allowed.
    expect((await cara.list({ userId: 'cara' })).uploads).toHaveLength(1);
    const anonymous = await failureOf(client(undefined).list());
    expect([anonymous.kind, anonymous.status]).toEqual(['signature-refused', 401]);

    const token = await stack.demoToken('cara');
    const cursorRun = await cli(['ls', '--cursor', 'not-a-cursor', '--json'], token);
    expect(cursorRun.code).toBe(EXIT_CODES.badInput);
    expect(JSON.parse(cursorRun.stdout).error).toMatchObject({ kind: 'bad-input', field: 'cursor', status: 400 });
    expect((await cli(['ls', '--user', 'ann'], token)).code).toBe(EXIT_CODES.authRefused);
    const badToken = await cli(['ls'], 'not.a.jwt');
    expect(badToken.code).toBe(EXIT_CODES.authRefused);
    expect(badToken.stderr).toMatch(/^vod-upload ls: listing the uploads: token refused \(401/m);
  },
  60_000,
);

withLibrary(
  'delete: an uploaded video is DELETED and its media erased; idempotent; another user gets 404; rm asks first',
  async () => {
    const clip = makeTestClip(path.join(work, 'dora.mp4'), { width: 160, height: 90, seconds: 1 });
    const dora = client(await stack.demoToken('dora'));
    const uploaded = await dora.upload(clip);
    expect(uploaded.videoUrl).toEqual(expect.any(String));
    expect((await fetch(uploaded.videoUrl!)).status).toBe(200);
    // Until the VOD event has arrived the backend knows no file; wait for it, as a user would.
    const deadline = Date.now() + 30_000;
    while ((await dora.getUpload(uploaded.uploadId)).status === 'ISSUED' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));

    const eve = client(await stack.demoToken('eve'));
    const notHers = await failureOf(eve.deleteUpload(uploaded.uploadId));
    expect([notHers.kind, notHers.status]).toEqual(['bad-input', 404]);
    expect((await dora.getUpload(uploaded.uploadId)).status).not.toBe('DELETED');

    const token = await stack.demoToken('dora');
    // No terminal and no --yes: nothing is deleted.
    const unasked = await cli(['rm', uploaded.uploadId], token);
    expect(unasked.code).toBe(EXIT_CODES.badInput);
    expect(unasked.stderr).toContain('not deleting without --yes');
    // Asked, and the answer is no.
    const questions: string[] = [];
    const declined = await cli(['rm', uploaded.uploadId], token, async (q) => {
      questions.push(q);
      return false;
    });
    expect(declined.code).toBe(0);
    expect(questions).toEqual([expect.stringMatching(/^Delete upload \S+ \("dora\.mp4", [A-Z]+\)\? .*\[y\/N\] $/)]);
    expect((await dora.getUpload(uploaded.uploadId)).status).not.toBe('DELETED');

    const removed = await cli(['rm', uploaded.uploadId, '--yes', '--json'], token);
    expect(removed.code).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({
      ok: true,
      uploadId: uploaded.uploadId,
      status: 'DELETED',
      mediaDeletion: 'done',
    });
    expect((await dora.getUpload(uploaded.uploadId)).status).toBe('DELETED');
    expect((await fetch(uploaded.videoUrl!)).status).toBe(404);
    // Again: the same answer.
    const again = await dora.deleteUpload(uploaded.uploadId);
    expect([again.upload.status, again.mediaDeletion]).toEqual(['DELETED', 'done']);
    const human = await cli(['rm', uploaded.uploadId, '-y'], token);
    expect(human.stdout).toMatch(/^deleted\s+\S+\nstatus\s+DELETED\n$/);

    const unknownId = await cli(['rm', '00000000-0000-4000-8000-000000000000', '--yes'], token);
    expect(unknownId.code).toBe(EXIT_CODES.badInput);
    expect(unknownId.stderr).toContain('not found (404)');
    expect((await dora.list({ status: 'DELETED' })).uploads.map((u) => u.uploadId)).toEqual([uploaded.uploadId]);
  },
  90_000,
);

withLibrary(
  'rm through the executable: with stdin not a terminal it needs --yes (exit 2)',
  async () => {
    const fred = client(await stack.demoToken('fred'));
    const [id] = await issue(fred, 'fred', 1);
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'vod-upload.js'), 'rm', id!], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', VOD_UPLOAD_API: stack.apiUrl },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
      child.stdin.end('y\n');
    });
    expect(run.code).toBe(EXIT_CODES.badInput);
    expect(run.stderr).toContain('not deleting without --yes');
    expect((await fred.getUpload(id!)).status).toBe('ISSUED');
  },
  30_000,
);

withLibrary(
  'a service token lists every user (items carry userId), or one user, and deletes any upload',
  async () => {
    const gus = client(await stack.demoToken('gus'));
    const [gusId] = await issue(gus, 'gus', 1);
    await issue(client(await stack.demoToken('gwen')), 'gwen', 1);
    const app = client(await serviceToken());
    const one = await app.list({ userId: 'gus' });
    expect(one.uploads.map((u) => u.uploadId)).toEqual([gusId]);
    const everyone: Array<{ uploadId: string; userId?: string }> = [];
    for await (const page of app.listAll({ limit: 100 })) everyone.push(...page.uploads);
    expect(everyone.find((u) => u.uploadId === gusId)?.userId).toBe('gus');
    expect(new Set(everyone.map((u) => u.userId)).size).toBeGreaterThan(1);

    const ls = await cli(['ls', '--limit', '100'], await serviceToken());
    expect(ls.stdout.split('\n')[0]).toMatch(/^UPLOAD ID\s+USER\s+STATUS/);
    expect(ls.stdout).toMatch(new RegExp(`^${gusId}\\s+gus\\s+ISSUED`, 'm'));
    const deleted = await app.deleteUpload(gusId!);
    expect(deleted.upload.status).toBe('DELETED');
    expect((await gus.getUpload(gusId!)).status).toBe('DELETED');
  },
  60_000,
);

withLibrary(
  'usage: the quotas with their limits and use; a refusal past the daily limit is signature-refused with the quota (exit 3)',
  async () => {
    const hana = client(await stack.demoToken('hana'));
    const fresh = await hana.usage();
    expect(fresh.userId).toBe('hana');
    expect(Object.keys(fresh.quotas).sort()).toEqual(
      ['bytesPerDay', 'concurrentUploads', 'storedBytes', 'storedSeconds', 'uploadsPerDay'].sort(),
    );
    expect(fresh.quotas.uploadsPerDay).toMatchObject({ limit: DAILY_UPLOADS, used: 0, resetsAt: expect.any(String) });
    expect(fresh.quotas.storedBytes.limit).toBeNull();

    await issue(hana, 'hana', DAILY_UPLOADS);
    expect((await hana.usage()).quotas.uploadsPerDay.used).toBe(DAILY_UPLOADS);
    const refused = await failureOf(hana.getSignature({ fileName: 'one-too-many.mp4', fileSize: 10, fileType: 'mp4' }));
    expect([refused.kind, refused.status, refused.code]).toEqual(['signature-refused', 429, 'QuotaExceeded']);
    expect(refused.quota).toMatchObject({ name: 'uploadsPerDay', limit: DAILY_UPLOADS, used: DAILY_UPLOADS });
    expect(refused.message).toContain('quota exceeded');

    const token = await stack.demoToken('hana');
    const human = await cli(['usage'], token);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^user {2}hana$/m);
    expect(human.stdout).toMatch(
      new RegExp(`^uploads today\\s+${DAILY_UPLOADS}\\s+${DAILY_UPLOADS}\\s+\\d{4}-\\d\\d-\\d\\d`, 'm'),
    );
    expect(human.stdout).toMatch(/^stored bytes\s+\d[\d.]* (B|KiB)\s+no limit\s+-$/m);
    const json = JSON.parse((await cli(['usage', '--json'], token)).stdout);
    expect(json).toMatchObject({ ok: true, userId: 'hana', quotas: { uploadsPerDay: { used: DAILY_UPLOADS } } });
    const app = await serviceToken();
    expect((await client(app).usage({ userId: 'hana' })).quotas.uploadsPerDay.used).toBe(DAILY_UPLOADS);
    expect((await cli(['usage', '--user', 'ann'], token)).code).toBe(EXIT_CODES.authRefused);

    // The upload command itself: refused by the quota, exit 3.
    const clip = makeTestClip(path.join(work, 'hana.mp4'), { width: 160, height: 90, seconds: 1 });
    const upload = await cli([clip, '--json', '--quiet', '--no-resume'], token);
    expect(upload.code).toBe(EXIT_CODES.authRefused);
    expect(JSON.parse(upload.stdout).error).toMatchObject({ code: 'QuotaExceeded', quota: { name: 'uploadsPerDay' } });
  },
  60_000,
);
