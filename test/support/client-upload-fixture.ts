/**
 * The upload client suites' shared set-up (test/client/upload*.test.ts): one client stack per test file
 * (the real upload-signature and media-status functions, a rate-limited copy, the VOD emulator; see
 * test/client/stack.ts), reset before each test, and an uploader for a user with fast retries.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { VodUploader } from '../../client/index.ts';
import type { NodeUploaderOptions } from '../../client/index.ts';
import { stackUsable, startClientStack } from '../client/stack';
import type { ClientStack } from '../client/stack';
import { userToken } from './jwt';

export const maybe = stackUsable ? test : test.skip;
if (!stackUsable)
  console.warn('client upload tests skipped: run them with `npm run test:jest` (PGlite needs --experimental-vm-modules)');

export const MIB = 1024 * 1024;
export let stack: ClientStack;

/** Registers the suite's hooks: the stack for the file, its request log and faults cleared before each test. */
export function useClientUploadStack(): void {
  beforeAll(async () => {
    if (!stackUsable) return;
    stack = await startClientStack({ limitedSignatures: 2 });
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
  });

  beforeEach(() => {
    if (!stackUsable) return;
    stack.requests.length = 0;
    stack.onRequestDone = undefined;
    stack.t.emulator.setFaults({});
  });
}

export async function uploader(user: string, extra: Partial<NodeUploaderOptions> = {}): Promise<VodUploader> {
  return new VodUploader({
    apiBaseUrl: stack.apiUrl,
    token: await userToken(user),
    vodApiUrl: stack.vodApiUrl,
    cosDomain: stack.cosDomain,
    chunkSize: MIB,
    parallel: 3,
    stateDir: path.join(stack.work, `state-${user}`),
    retry: { retries: 3, minDelayMs: 20, maxDelayMs: 100 },
    ...extra,
  });
}

export const md5 = (file: string) => createHash('md5').update(fs.readFileSync(file)).digest('hex');
export const storedObject = (key: string) => Object.values(stack.t.emulator.context.store.doc.objects).find((o) => o.key === key);
