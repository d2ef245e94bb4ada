/**
 * The `vod-upload` CLI in a child process (through the bin/vod-upload.js launcher) against the real
 * upload-signature and media-status functions and the VOD emulator: --json output, --wait until READY
 * with the result URLs, exit codes for a refused token, a missing file, a timeout and Ctrl-C, and a
 * second run after Ctrl-C that continues from the parts already sent.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { updateUpload } from '#lib/upload-store';
import fs from 'node:fs';
import { runCli } from '../../client/cli/run-cli.ts';
import { EXIT_CODES, exitCodeFor, VodUploadError } from '../../client/index.ts';
import { userToken } from '../support/jwt';
import { makeFile, partPuts, stackUsable, startClientStack } from './stack';
import type { ClientStack } from './stack';

const maybe = stackUsable ? test : test.skip;
const ROOT = path.join(__dirname, '..', '..');
const MIB = 1024 * 1024;
let stack: ClientStack;

beforeAll(async () => {
  if (!stackUsable) return;
  stack = await startClientStack();
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/vod-upload.js …` pointed at the test stack; `during` may signal the child. */
function cli(
  args: string[],
  options: { token?: string; env?: Record<string, string>; during?: (child: ReturnType<typeof spawn>) => void } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'vod-upload.js'), ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        XDG_CONFIG_HOME: path.join(stack.work, 'xdg'),
        VOD_UPLOAD_API: stack.apiUrl,
        VOD_UPLOAD_VOD_API: stack.vodApiUrl,
        VOD_UPLOAD_COS_DOMAIN: stack.cosDomain,
        ...(options.token ? { VOD_UPLOAD_TOKEN: options.token } : {}),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    options.during?.(child);
  });
}

/** Plays the VOD-events side: once the commit is done, the user's newest upload becomes READY. */
function readyAfterCommit(user: string): void {
  stack.onRequestDone = (r) => {
    if (!r.url.includes('Action=CommitUploadUGC')) return;
    void stack.testDb.db
      .query<{ upload_id: string }>('SELECT upload_id FROM uploads WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1', [user])
      .then(({ rows }) =>
        updateUpload(stack.testDb.db, rows[0]!.upload_id, {
          status: 'READY',
          result: {
            renditions: [{ url: 'http://media.example/r/720.mp4', definition: 100020, height: 720 }],
            cover: { url: 'http://media.example/r/cover.jpg' },
            snapshots: [{ url: 'http://media.example/r/snap-1.jpg', timeOffsetMs: 1000 }],
            sprite: { imageUrls: ['http://media.example/r/sprite-0.jpg'], webVttUrl: 'http://media.example/r/sprite.vtt' },
          },
        }),
      );
  };
}

maybe(
  '--json prints one JSON object on stdout and exits 0; --wait waits for READY and prints the result URLs',
  async () => {
    const file = makeFile(stack, 'cli-clip.mp4', 3 * MIB + 7, 21);
    const json = await cli([file, '--json', '--chunk-size', '1'], { token: await userToken('cli-json') });
    expect(json.code).toBe(EXIT_CODES.ok);
    const lines = json.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(out).toMatchObject({ ok: true, status: 'COMMITTED', resumed: false, totalBytes: 3 * MIB + 7 });
    expect(out.fileId).toEqual(expect.stringMatching(/^\d+$/));
    expect(out.uploadId).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
    expect(out.videoUrl).toEqual(expect.stringContaining(stack.vodApiUrl));
    // Not a TTY: plain progress lines, ending at 100 %.
    expect(json.stderr).toMatch(/upload 100% 3\.0 MiB \/ 3\.0 MiB/);

    readyAfterCommit('cli-wait');
    const waited = await cli([file, '--wait', '--timeout', '20'], { token: await userToken('cli-wait') });
    stack.onRequestDone = undefined;
    expect(waited.code).toBe(EXIT_CODES.ok);
    expect(waited.stdout).toMatch(/^fileId\s+\d+$/m);
    expect(waited.stdout).toMatch(/^status\s+READY$/m);
    expect(waited.stdout).toContain('http://media.example/r/720.mp4');
    expect(waited.stdout).toContain('http://media.example/r/sprite.vtt');
    expect(waited.stderr).toMatch(/processing\s+READY/);
  },
  30_000,
);

maybe(
  'exit codes: 3 for a refused token, 2 for a missing file or bad usage, 6 for a --wait timeout',
  async () => {
    const file = makeFile(stack, 'cli-codes.mp4', 200_000, 22);
    const badToken = await userToken('mallory', { secret: 'not-the-servers-secret-but-long-enough-0000' });
    const [refused, refusedJson, missing, usage, timedOut] = await Promise.all([
      cli([file], { token: badToken }),
      cli([file, '--json'], { token: badToken }),
      cli([path.join(stack.work, 'nope.mp4')], { token: await userToken('cli-codes') }),
      cli([], {}),
      cli([file, '--wait', '--timeout', '1', '--quiet'], { token: await userToken('cli-timeout') }),
    ]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/token refused \(401 Unauthorized\)/);
    expect(refusedJson.code).toBe(3);
    expect(JSON.parse(refusedJson.stdout)).toMatchObject({
      ok: false,
      exitCode: 3,
      error: { kind: 'signature-refused', status: 401 },
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('not found');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Usage: vod-upload');
    expect(timedOut.code).toBe(6);
    expect(timedOut.stderr).toMatch(/fileId \d+/);
    expect(timedOut.stderr).toMatch(/still ISSUED/);
    expect(timedOut.stderr).not.toMatch(/upload [\d.]+%/); // --quiet
  },
  30_000,
);

maybe(
  'Ctrl-C stops with exit 130; the same command again continues from the parts already sent',
  async () => {
    const file = makeFile(stack, 'cli-resume.mp4', 12 * MIB, 23);
    const token = await userToken('cli-resume');
    stack.requests.length = 0;
    let parts = 0;
    const first = await cli([file, '--chunk-size', '1', '--parallel', '1'], {
      token,
      during: (child) => {
        stack.onRequestDone = (r) => {
          if (partPuts([r]).length && ++parts === 3) child.kill('SIGINT');
        };
      },
    });
    stack.onRequestDone = undefined;
    expect(first.code).toBe(130);
    expect(first.stderr).toContain('run the same command again');
    const firstParts = partPuts(stack.requests);
    expect(firstParts.length).toBeGreaterThanOrEqual(3);
    expect(firstParts.length).toBeLessThan(12);

    stack.requests.length = 0;
    const second = await cli([file, '--chunk-size', '1', '--parallel', '1', '--json'], { token });
    expect(second.code).toBe(0);
    const out = JSON.parse(second.stdout) as { resumed: boolean; resumedBytes: number };
    expect(out.resumed).toBe(true);
    const secondParts = partPuts(stack.requests);
    expect(out.resumedBytes).toBe((12 - secondParts.length) * MIB);
    expect(secondParts.length).toBeLessThanOrEqual(12 - 3);
    expect(second.stderr).toMatch(/continuing the interrupted upload/);
  },
  30_000,
);

maybe('on a terminal the progress bar is redrawn in place with bytes, rate and ETA (runCli in-process)', async () => {
  const file = makeFile(stack, 'cli-tty.mp4', 4 * MIB, 24);
  let out = '';
  let err = '';
  const code = await runCli([file, '--chunk-size', '1', '--parallel', '1'], {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t), isTTY: true, columns: 100 },
    env: {
      VOD_UPLOAD_API: stack.apiUrl,
      VOD_UPLOAD_VOD_API: stack.vodApiUrl,
      VOD_UPLOAD_COS_DOMAIN: stack.cosDomain,
      VOD_UPLOAD_TOKEN: await userToken('cli-tty'),
      XDG_CONFIG_HOME: path.join(stack.work, 'xdg'),
    },
  });
  expect(code).toBe(0);
  expect(err).toMatch(/\r\x1b\[2K\[#+-*\]\s+\d+(\.\d)?% {2}[\d.]+ [KM]iB \/ 4\.0 MiB {2}([\d.]+ [KM]iB|-- )\/s {2}ETA [\d:-]+/);
  expect(err).toMatch(/\[#{10,}\]\s+100% {2}4\.0 MiB \/ 4\.0 MiB/);
  expect(out).toMatch(/^status\s+COMMITTED \(run with --wait/m);
});

maybe(
  'a script using the library exits by itself after the upload (no sockets left holding the process)',
  async () => {
    const file = makeFile(stack, 'script.mp4', 2 * MIB, 25);
    const script = path.join(stack.work, 'upload-script.mts');
    fs.writeFileSync(
      script,
      `import { uploadVideo } from ${JSON.stringify(path.join(ROOT, 'client', 'index.ts'))};
const r = await uploadVideo(${JSON.stringify(file)}, { apiBaseUrl: process.env.VOD_UPLOAD_API!, token: process.env.VOD_UPLOAD_TOKEN, vodApiUrl: process.env.VOD_UPLOAD_VOD_API, cosDomain: process.env.VOD_UPLOAD_COS_DOMAIN, stateDir: ${JSON.stringify(path.join(stack.work, 'script-state'))} });
console.log(JSON.stringify({ fileId: r.fileId }));
`,
    );
    const token = await userToken('cli-script');
    const started = Date.now();
    const run = await new Promise<Run>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          VOD_UPLOAD_API: stack.apiUrl,
          VOD_UPLOAD_VOD_API: stack.vodApiUrl,
          VOD_UPLOAD_COS_DOMAIN: stack.cosDomain,
          VOD_UPLOAD_TOKEN: token,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).fileId).toMatch(/^\d+$/);
    expect(Date.now() - started).toBeLessThan(10_000);
  },
  20_000,
);

test('exit codes by error kind', () => {
  const code = (kind: ConstructorParameters<typeof VodUploadError>[0]) => exitCodeFor(new VodUploadError(kind, 'x'));
  expect([
    code('bad-input'),
    code('signature-refused'),
    code('apply-failed'),
    code('upload-failed'),
    code('commit-failed'),
    code('credentials-expired'),
    code('network'),
  ]).toEqual([2, 3, 4, 4, 4, 4, 4]);
  expect([code('processing-failed'), code('timeout'), code('cancelled'), exitCodeFor(new Error('bug'))]).toEqual([5, 6, 130, 1]);
});
