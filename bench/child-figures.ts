/** Figures measured in a process of their own, read from the last line of its JSON output. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { RoundTrips } from './round-trips';

function jsonFromChild<T>(label: string, args: string[], env?: Record<string, string>): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      env: env && { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as T) : reject(new Error(`${label}: exit ${code}`)),
    );
  });
}

export interface ProcessingFigures {
  procedure: string;
  seconds: number;
  width: number;
  height: number;
  commands: number;
  overheads: number[];
  emulatorSeconds: number;
  directSeconds: number;
  ratio: number;
}

/** bench/emulator-processing.ts, once each way. */
export function emulatorProcessing(height: number): Promise<ProcessingFigures> {
  const script = path.join(__dirname, 'emulator-processing.ts');
  return jsonFromChild('processing', [script, '--seconds', '30', '--height', String(height), '--runs', '1', '--json']);
}

/** bench/round-trips.ts: apart, because the bundles it loads keep their database pools open. */
export function roundTrips(env: Record<string, string>): Promise<RoundTrips> {
  return jsonFromChild('round trips', [path.join(__dirname, 'round-trips.ts'), '--json'], env);
}
