import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ScfHttpResult } from '#lib/http';

export const distBundle = (name: string) => path.resolve(__dirname, '../../dist', name, 'index.js');

/** Invokes a built bundle in a fresh Node process with exactly `env` (plus PATH). */
export async function invokeBundle(
  name: string,
  events: unknown[],
  env: Record<string, string | undefined>,
): Promise<{ loadedMs: number; results: ScfHttpResult[]; stdout: string; stderr: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vub-bundle-'));
  try {
    const file = path.join(dir, 'events.json');
    writeFileSync(file, JSON.stringify(events));
    const cleanEnv = Object.fromEntries(
      Object.entries({ PATH: process.env.PATH, ...env }).filter(([, v]) => v !== undefined),
    ) as Record<string, string>;
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        [path.join(__dirname, 'bundle-runner.js'), distBundle(name), file],
        { env: cleanEnv, maxBuffer: 64 * 1024 * 1024 },
        (error, out, err) =>
          error ? reject(Object.assign(error, { stderr: err, stdout: out })) : resolve({ stdout: out, stderr: err }),
      );
    });
    const marker = stdout.lastIndexOf('@@RESULTS@@');
    return { ...JSON.parse(stdout.slice(marker + '@@RESULTS@@'.length)), stdout: stdout.slice(0, marker), stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
