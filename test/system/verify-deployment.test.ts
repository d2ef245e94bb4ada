/**
 * `npm run verify:deployment` against the local stack, as README's Deploy §8 runs it after a deploy: the
 * command `npm start` prints passes every stage (with Key hotlink protection and an adaptive stream, so
 * the signed rendition, cover and HLS are fetched as a viewer would); a bad token, lost VOD callbacks and
 * a failed transcode each fail with the stage named, the diagnosis and the documented exit code.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, projectRoot as root, startStackProcess, type StackProcess } from '../support/stack-process';

const work = mkdtempSync(path.join(tmpdir(), 'vub-verify-'));
let stack: StackProcess;
let printed: string[];
let emulatorUrl: string;

/** The verify command exactly as `npm start` prints it, split into its arguments after `--`. */
function printedArgs(output: string): string[] {
  const line = /npm run verify:deployment -- (.+)/.exec(output)?.[1];
  if (!line) throw new Error(`npm start printed no verify:deployment command:\n${output}`);
  return line.trim().split(/\s+/);
}

function verify(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('npx', ['tsx', 'scripts/verify-deployment.ts', ...args], { cwd: root, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

const withOption = (args: string[], name: string, value: string) => {
  const copy = [...args];
  copy[copy.indexOf(name) + 1] = value;
  return copy;
};

async function setFaults(faults: object): Promise<void> {
  const answer = await fetch(`${emulatorUrl}/__admin/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  expect(answer.status).toBe(200);
}

beforeAll(async () => {
  const [port, emulatorPort] = [await freePort(), await freePort()];
  stack = await startStackProcess({
    PORT: String(port),
    EMULATOR_PORT: String(emulatorPort),
    DATA_DIR: path.join(work, 'data'),
    HOTLINK_KEY: 'verifyKey2026',
    PIPELINE_ADAPTIVE_DEFINITION: '10',
  });
  printed = printedArgs(stack.output());
  emulatorUrl = printed[printed.indexOf('--vod-api') + 1]!;
}, 90_000);

afterAll(async () => {
  if (stack?.child.exitCode === null) {
    const exited = new Promise((resolve) => stack.child.once('exit', resolve));
    stack.child.kill('SIGINT');
    await exited;
  }
  rmSync(work, { recursive: true, force: true });
});

afterEach(() => setFaults({}));

test('the command npm start prints passes every stage and exits 0', async () => {
  const { code, out } = await verify(printed);
  expect(out).not.toContain('[FAIL]');
  for (const stage of ['clip', 'signature', 'apply', 'upload', 'commit', 'processing', 'rendition', 'cover', 'hls']) {
    expect(out).toMatch(new RegExp(`^\\[ok\\]\\s+${stage}\\s+\\d+\\.\\d s`, 'm'));
  }
  expect(out).toMatch(/\[ok\]\s+processing .*READY/);
  expect(out).toMatch(/\[ok\]\s+rendition .*MP4 \(ftyp\).*ffprobe: h264 320x180/);
  expect(out).toMatch(/\[ok\]\s+cover .*(JPEG|PNG)/);
  // Under Key hotlink protection a plain HLS player gets 403; carrying the playlist's query plays.
  expect(out).toMatch(/\[ok\]\s+hls .*TS segment.*without it \(a plain player\) the CDN answers 403/);
  expect(out).toContain('PASSED: every stage');
  expect(code).toBe(0);
}, 120_000);

test('a bad token fails at the signature stage with exit 3', async () => {
  const { code, out } = await verify(withOption(printed, '--token', 'not-a-valid-token'));
  expect(out).toMatch(/\[FAIL\]\s+signature .*401/);
  expect(out).toMatch(/hint: the backend refused the token/);
  expect(out).toContain('FAILED at stage signature (exit 3)');
  expect(code).toBe(3);
}, 120_000);

test('lost VOD callbacks: stuck ISSUED, with the diagnosis, exit 6', async () => {
  await setFaults({ push: { dropRate: 1 } });
  const { code, out } = await verify([...printed, '--timeout', '3']);
  expect(out).toMatch(/\[ok\]\s+commit/);
  expect(out).toMatch(/\[FAIL\]\s+processing\s+\d+\.\d s\s+stuck ISSUED for \d+ s/);
  expect(out).toMatch(/NewFileUpload event is not reaching \/vod-events.*CALLBACK_DIAGNOSTICS/);
  expect(code).toBe(6);
}, 120_000);

test('a failed transcode: the upload ends FAILED, its error printed, exit 5', async () => {
  await setFaults({ processing: { failTypes: ['Transcode'] } });
  const { code, out } = await verify(printed);
  expect(out).toMatch(/\[FAIL\]\s+processing\s+\d+\.\d s\s+the upload ended FAILED \(\S+: .+\)/);
  expect(code).toBe(5);
}, 120_000);
