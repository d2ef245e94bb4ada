/**
 * Shared set-up for the UGC upload suites (ugc-cos*.test.ts): one emulator per file, a work folder for the
 * COS SDK, and the ApplyUploadUGC / md5 / COS-error helpers their tests use.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { startTestEmulator, tempDir, ugc, uploadSignature } from './helpers';
import type { ApplyData, TestEmulator } from './helpers';
import type { StartOptions } from '../../local/emulator/index.ts';

/** The file's emulator; set by useUgcEmulator's beforeAll (read it through the live import binding). */
export let t: TestEmulator;
export const work = tempDir('vod-emulator-files-');

/** Starts the file's emulator before its tests and stops it (and removes the work folder) after them. */
export function useUgcEmulator(overrides: Partial<StartOptions> = {}): void {
  beforeAll(async () => {
    t = await startTestEmulator(overrides);
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(work, { recursive: true, force: true });
  });
}

export async function apply(body: Record<string, unknown> = {}, signInput = {}): Promise<ApplyData> {
  const reply = await ugc(t.emulator, 'ApplyUploadUGC', {
    signature: uploadSignature(t.clock, signInput),
    videoName: 'clip',
    videoType: 'mp4',
    uploadFromWeb: true,
    ...body,
  });
  expect(reply).toMatchObject({ code: 0 });
  return reply.data as ApplyData;
}

export function md5File(file: string): string {
  return createHash('md5').update(fs.readFileSync(file)).digest('hex');
}

export async function cosError(
  promise: Promise<unknown>,
): Promise<{ statusCode?: number; code?: string; message?: string; error?: any }> {
  try {
    await promise;
  } catch (error) {
    return error as { statusCode?: number; code?: string };
  }
  throw new Error('expected the COS call to fail');
}
