#!/usr/bin/env node
/**
 * The `vod-upload` executable: `npx tsx client/cli/vod-upload.ts <file> [options]` (or the `bin/vod-upload.js`
 * launcher). Usage and exit codes: `--help`, client/README.md.
 */
import { createInterface } from 'node:readline/promises';
import { runCli } from './run-cli.ts';

let interrupted = false;
runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  onInterrupt(handler) {
    const onSignal = () => {
      if (interrupted) process.exit(130); // a second Ctrl-C: stop now
      interrupted = true;
      handler();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  },
  confirm: process.stdin.isTTY
    ? async (question) => {
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          return /^y(es)?$/i.test((await rl.question(question)).trim());
        } finally {
          rl.close();
        }
      }
    : undefined,
}).then(
  (code) => exit(code),
  (error: unknown) => {
    process.stderr.write(
      `vod-upload: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    exit(1);
  },
);

/** Exits once stdout and stderr are flushed (kept-alive COS sockets must not hold the process open). */
function exit(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
