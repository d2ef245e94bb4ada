/**
 * Issue #20 §10b: `kill -9` of the local stack in the middle of a long processing job leaves no ffmpeg
 * behind (local/emulator/processing/reaper.ts). Linux: the processes are found in /proc by the stack's
 * own data folder (their input file and working directory are in it).
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ffmpeg from '@ffmpeg-installer/ffmpeg';
import { makeTestClip } from '../../scripts/test-clip';
import { freePort, projectRoot as root, startStackProcess } from '../support/stack-process';

const work = fs.mkdtempSync(path.join(tmpdir(), 'vub-kill-'));
const clip = path.join(work, 'clip.mp4');
const hasProc = fs.existsSync('/proc/self/cmdline');

/** ffmpeg processes working on files of this test's stack. */
function straysOfThisStack(): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!path.basename(argv[0] ?? '').startsWith('ffmpeg')) continue;
      const cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      if (cwd.startsWith(work) || argv.some((a) => a.startsWith(work))) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

afterAll(() => {
  // Whatever this test may have left behind must not go on encoding.
  if (hasProc) for (const pid of straysOfThisStack()) process.kill(pid, 'SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

(hasProc ? test : test.skip)(
  'SIGKILL of the stack during a long transcode: its ffmpeg processes die with it',
  async () => {
    // Cheap to make, slow to process: 10 s of 360p repeated (stream copy) to 10 minutes, transcoded to 360p
    // (the emulator does not scale up), minutes of ffmpeg work.
    const short = makeTestClip(path.join(work, 'short.mp4'), { width: 640, height: 360, seconds: 10, audio: false });
    execFileSync(process.env.FFMPEG_PATH || ffmpeg.path, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-stream_loop',
      '59',
      '-i',
      short,
      '-c',
      'copy',
      clip,
    ]);
    const ports = { PORT: String(await freePort()), EMULATOR_PORT: String(await freePort()) };
    const stack = await startStackProcess({
      ...ports,
      DATA_DIR: path.join(work, 'data'),
      PIPELINE_TRANSCODE_DEFINITIONS: '100020',
    });
    try {
      const token = /bearer token \(24 h\):\s+(\S+)/.exec(stack.output())![1]!;
      const cosDomain = /--cos-domain (\S+)/.exec(stack.output())![1]!;
      const args = [
        '--api',
        `http://127.0.0.1:${ports.PORT}`,
        '--vod-api',
        `http://127.0.0.1:${ports.EMULATOR_PORT}`,
        '--cos-domain',
        cosDomain,
        '--token',
        token,
      ];
      const uploaded = await new Promise<{ code: number; output: string }>((resolve) => {
        execFile(
          process.execPath,
          [path.join(root, 'bin', 'vod-upload.js'), clip, ...args, '--json', '--quiet'],
          { cwd: root, env: { ...process.env, XDG_CONFIG_HOME: path.join(work, 'config') } },
          (error, stdout, stderr) =>
            resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
        );
      });
      expect(uploaded).toMatchObject({ code: 0 });
      expect(await waitFor(() => straysOfThisStack().length > 0, 60_000)).toBe(true);
    } finally {
      const exited =
        stack.child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => stack.child.once('exit', resolve));
      stack.child.kill('SIGKILL');
      await exited;
    }
    expect(await waitFor(() => straysOfThisStack().length === 0, 10_000)).toBe(true);
  },
  180_000,
);
