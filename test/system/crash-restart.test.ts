/**
 * The local stack killed with SIGKILL in the middle of work and started again on the same data: no
 * upload is lost or duplicated, and the cleanup run finishes what was in flight.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeTestClip } from '../../scripts/test-clip';
import { freePort, projectRoot as root, startStackProcess } from '../support/stack-process';
import { vod } from 'tencentcloud-sdk-nodejs-vod';

const work = mkdtempSync(path.join(tmpdir(), 'vub-crash-'));
const clip = path.join(work, 'clip.mp4');
let ports: { PORT: string; EMULATOR_PORT: string };

const startStack = () =>
  startStackProcess({
    ...ports,
    DATA_DIR: path.join(work, 'data'),
    PIPELINE_TRANSCODE_DEFINITIONS: '100010',
    UPLOADED_RETRY_AFTER_SECONDS: '0',
  });

function upload(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(root, 'bin', 'vod-upload.js'), clip, ...args, '--json', '--quiet'],
      { cwd: root, env: { ...process.env, XDG_CONFIG_HOME: path.join(work, 'config') } },
      (error, stdout) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout }),
    );
  });
}

beforeAll(async () => {
  makeTestClip(clip, { width: 320, height: 180, seconds: 2, audio: false });
  ports = { PORT: String(await freePort()), EMULATOR_PORT: String(await freePort()) };
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

test('SIGKILL mid-work, restart on the same data: nothing lost, nothing duplicated', async () => {
  let stack = await startStack();
  const api = `http://127.0.0.1:${ports.PORT}`;
  const token = /bearer token \(24 h\):\s+(\S+)/.exec(stack.output())![1]!;
  const cosDomain = /--cos-domain (\S+)/.exec(stack.output())![1]!;
  const args = [
    '--api',
    api,
    '--vod-api',
    `http://127.0.0.1:${ports.EMULATOR_PORT}`,
    '--cos-domain',
    cosDomain,
    '--token',
    token,
  ];

  // Three uploads committed; the stack dies right after, while callbacks and processing are in flight.
  const committed = await Promise.all([upload(args), upload(args), upload(args)]);
  for (const result of committed) expect(result.code).toBe(0);
  const uploadIds = committed.map((r) => (JSON.parse(r.stdout) as { uploadId: string }).uploadId);
  const killed = stack.child;
  const exited = killed.exitCode !== null ? Promise.resolve() : new Promise((resolve) => killed.once('exit', resolve));
  killed.kill('SIGKILL');
  await exited;

  stack = await startStack();
  try {
    const status = async (id: string) =>
      (await (await fetch(`${api}/uploads/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        status: string;
        fileId: string;
      };
    const deadline = Date.now() + 90_000;
    let views = await Promise.all(uploadIds.map(status));
    while (views.some((v) => v.status !== 'READY') && Date.now() < deadline) {
      // What the timer would do every few minutes: pull the stuck ones forward.
      await fetch(`${api}/local/timers/cleanup`, { method: 'POST' });
      await new Promise((resolve) => setTimeout(resolve, 500));
      views = await Promise.all(uploadIds.map(status));
    }
    expect(views.map((v) => v.status)).toEqual(['READY', 'READY', 'READY']);
    expect(new Set(views.map((v) => v.fileId)).size).toBe(3);
    // One processing task per file: nothing was started twice across the crash.
    const secrets = JSON.parse(readFileSync(path.join(work, 'data', 'local-secrets.json'), 'utf8')) as {
      secretId: string;
      secretKey: string;
    };
    const client = new vod.v20180717.Client({
      credential: secrets,
      region: 'ap-guangzhou',
      profile: { httpProfile: { endpoint: `127.0.0.1:${ports.EMULATOR_PORT}`, protocol: 'http://' } },
    });
    for (const view of views) expect((await client.DescribeTasks({ FileId: view.fileId })).TaskSet).toHaveLength(1);
  } finally {
    const child = stack.child;
    const exited = child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
  }
}, 180_000);
