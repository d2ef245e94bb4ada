#!/usr/bin/env node
/**
 * The `vod-upload` executable: `npx tsx client/cli/vod-upload.ts <file> [options]` (or the `bin/vod-upload.js`
 * launcher). Usage and exit codes: `--help`, client/README.md.
 */
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
