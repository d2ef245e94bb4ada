/**
 * The library client suites' shared set-up (test/client/library*.test.ts): the real local stack
 * (local/stack.ts: the gateway running the built functions from serverless.yml, PGlite, the VOD emulator)
 * for a test file that asks for it, a client and a service token for it, and `runCli` run in this process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setLogSink } from '#lib/log';
import { runCli } from '../../client/cli/run-cli.ts';
import { VodUploader, VodUploadError } from '../../client/index.ts';
import { startStack, type Stack } from '../../local/stack';
import { userToken } from './jwt';

export const ROOT = path.join(__dirname, '..', '..');
// PGlite needs --experimental-vm-modules under jest (`npm run test:jest` passes it); the stack runs dist/.
const usable = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('--experimental-vm-modules'));
if (!usable) console.warn('library client tests skipped: they need `npm run test:jest` (--experimental-vm-modules)');
export const withLibrary = usable ? test : test.skip;

export const DAILY_UPLOADS = 6;
export let stack: Stack;
export let work: string;
let previousSink: (line: string) => void;

/** Registers the suite's hooks: the local stack for the file, warmed up, and closed after. */
export function useLibraryStack(): void {
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
}

/** A token of the app's backend: the stack's own key, and the admin scope among others. */
export function serviceToken(): Promise<string> {
  return userToken('app-backend', {
    claims: { scope: 'openid vod-upload:admin' },
    issuer: 'vod-upload-backend-local',
    audience: 'vod-upload-local',
    secret: stack.secrets.jwtSecret,
  });
}

export function client(token: string | undefined): VodUploader {
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
export async function issue(c: VodUploader, prefix: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 1; i <= n; i++) {
    const name = `${prefix}-${String(i).padStart(2, '0')}.mp4`;
    ids.push((await c.getSignature({ fileName: name, fileSize: 1000 + i, fileType: 'mp4' })).uploadId);
  }
  return ids;
}

export async function failureOf(promise: Promise<unknown>): Promise<VodUploadError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VodUploadError);
  return error as VodUploadError;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `runCli` in this process with the stack's URLs in its environment. */
export async function cli(args: string[], token?: string, confirm?: (q: string) => Promise<boolean>): Promise<Run> {
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
