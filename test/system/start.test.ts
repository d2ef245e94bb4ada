/**
 * What a new user does: README's start command in a child process (on free ports), then the `vod-upload`
 * CLI uploads a clip and waits for READY; the CLI's exit codes for a refused token and a missing file;
 * Ctrl-C stops the stack cleanly.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeTestClip } from '../../scripts/test-clip';
import { freePort, projectRoot as root, startStackProcess, type StackProcess } from '../support/stack-process';

const work = mkdtempSync(path.join(tmpdir(), 'vub-start-'));
let stack: StackProcess;
let apiUrl: string;
let token: string;
let cliArgs: string[];

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(root, 'bin', 'vod-upload.js'), ...args],
      { cwd: root, env: { ...process.env, XDG_CONFIG_HOME: path.join(work, 'config') } },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  makeTestClip(path.join(work, 'clip.mp4'), { width: 320, height: 180, seconds: 2 });
  const [port, emulatorPort] = [await freePort(), await freePort()];
  stack = await startStackProcess({ PORT: String(port), EMULATOR_PORT: String(emulatorPort), DATA_DIR: path.join(work, 'data') });
  const output = stack.output();
  apiUrl = /web page and API\s+(\S+)\//.exec(output)![1]!;
  token = /bearer token \(24 h\):\s+(\S+)/.exec(output)![1]!;
  const vodApi = /VOD emulator\s+(\S+)/.exec(output)![1]!;
  const cosDomain = /--cos-domain (\S+)/.exec(output)![1]!;
  cliArgs = ['--api', apiUrl, '--vod-api', vodApi, '--cos-domain', cosDomain];
}, 90_000);

afterAll(() => {
  if (stack && stack.child.exitCode === null) stack.child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

test('the start command prints the URLs and a demo token, and serves the web page', async () => {
  expect(stack.output()).toContain('vod-upload-backend local stack');
  const page = await fetch(`${apiUrl}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('<title>');
});

test('the CLI uploads a clip and waits for READY (--json)', async () => {
  const { code, stdout, stderr } = await cli([
    path.join(work, 'clip.mp4'),
    ...cliArgs,
    '--token',
    token,
    '--wait',
    '--json',
    '--timeout',
    '90',
  ]);
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
  const exited = new Promise<number | null>((resolve) => stack.child.once('exit', (code) => resolve(code)));
  stack.child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(stack.output()).toContain('stopping');
}, 30_000);
