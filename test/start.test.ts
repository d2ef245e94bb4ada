/**
 * What a new user does: README's start command in a child process (on free ports), then the `vod-upload`
 * CLI uploads a clip and waits for READY; the CLI's exit codes for a refused token and a missing file;
 * Ctrl-C stops the stack cleanly.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ffmpeg from '@ffmpeg-installer/ffmpeg';

const root = path.resolve(__dirname, '..');
const work = mkdtempSync(path.join(tmpdir(), 'vub-start-'));
let stackProcess: ChildProcess;
let output = '';
let apiUrl: string;
let token: string;
let cliArgs: string[];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(root, 'bin', 'vod-upload.js'), ...args], { cwd: root, env: { ...process.env, XDG_CONFIG_HOME: path.join(work, 'config') } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  execFileSync(ffmpeg.path, [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=2',
    '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2',
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', path.join(work, 'clip.mp4'),
  ]);
  const [port, emulatorPort] = [await freePort(), await freePort()];
  // `npm start` is `npm run build && tsx local/start.ts`; the suite has just built dist/, so this runs the
  // second half, exactly as npm would.
  stackProcess = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), EMULATOR_PORT: String(emulatorPort), DATA_DIR: path.join(work, 'data') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stackProcess.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  stackProcess.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 60_000;
  while (!output.includes('Ctrl-C stops everything')) {
    if (Date.now() > deadline || stackProcess.exitCode !== null) throw new Error(`npm start did not come up:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  apiUrl = /web page and API\s+(\S+)\//.exec(output)![1]!;
  token = /bearer token \(24 h\):\s+(\S+)/.exec(output)![1]!;
  const vodApi = /VOD emulator\s+(\S+)/.exec(output)![1]!;
  const cosDomain = /--cos-domain (\S+)/.exec(output)![1]!;
  cliArgs = ['--api', apiUrl, '--vod-api', vodApi, '--cos-domain', cosDomain];
}, 90_000);

afterAll(() => {
  if (stackProcess.exitCode === null) stackProcess.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

test('the start command prints the URLs and a demo token, and serves the web page', async () => {
  expect(output).toContain('vod-upload-backend local stack');
  const page = await fetch(`${apiUrl}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('<title>');
});

test('the CLI uploads a clip and waits for READY (--json)', async () => {
  const { code, stdout, stderr } = await cli([path.join(work, 'clip.mp4'), ...cliArgs, '--token', token, '--wait', '--json', '--timeout', '90']);
  expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
  const result = JSON.parse(stdout);
  expect(result).toMatchObject({ status: 'READY', fileId: expect.any(String) });
  const renditionUrl = JSON.stringify(result).match(/"url":"([^"]+v\.f100010\.mp4)"/)?.[1];
  expect(renditionUrl).toBeDefined();
  expect((await fetch(renditionUrl!)).status).toBe(200);
}, 120_000);

test('the CLI exit codes: 3 for a refused token, 2 for a missing file', async () => {
  expect((await cli([path.join(work, 'clip.mp4'), ...cliArgs, '--token', 'not-a-valid-token'])).code).toBe(3);
  expect((await cli([path.join(work, 'missing.mp4'), ...cliArgs, '--token', token])).code).toBe(2);
}, 60_000);

test('SIGINT stops the stack cleanly', async () => {
  const exited = new Promise<number | null>((resolve) => stackProcess.once('exit', (code) => resolve(code)));
  stackProcess.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(output).toContain('stopping');
}, 30_000);
