/**
 * ffmpeg dies with the emulator, however the emulator dies (`kill -9`, a crash, the OOM killer), not only
 * on a clean `close()`. A child does not die with its parent by itself, and Node has no `prctl` death
 * signal, so a small watcher process (Node itself, `node -e`) holds the read end of a pipe from this
 * process and the list of running ffmpeg pids. The kernel closes the pipe when this process ends for any
 * reason; the watcher then SIGKILLs every pid still listed and exits. It ignores SIGINT, SIGTERM and SIGHUP
 * (a Ctrl-C reaches the whole process group), so it always outlives this process by its own choice.
 *
 * Limit: a pid that exits in the instant before this process is killed, before its `-pid` line is
 * written, could be reused by another process before the watcher acts; a window of microseconds.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';

const WATCHER = `
const pids = new Set();
let rest = '';
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => {});
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (rest + chunk).split('\\n');
  rest = lines.pop();
  for (const line of lines) {
    const pid = Number(line.slice(1));
    if (line[0] === '+') pids.add(pid);
    else if (line[0] === '-') pids.delete(pid);
  }
});
const reap = () => {
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch {} }
  process.exit(0);
};
process.stdin.on('end', reap);
process.stdin.on('error', reap);
`;

export class Reaper {
  private watcher: ChildProcess | undefined;

  constructor(private readonly log: (line: string) => void) {}

  /**
   * Starts the watcher if none is running. Called before a command is spawned: started lazily in `watch`,
   * the watcher's own start (a fork and exec of Node, long on a busy machine) would stand between the
   * command's start and the moment it is listed, and a kill in that gap would leave the command behind.
   */
  ready(): void {
    this.pipe();
  }

  /** Lists a running command with the watcher until it exits. */
  watch(child: ChildProcess): void {
    const pid = child.pid;
    if (pid === undefined) return; // it did not start
    const pipe = this.pipe();
    if (!pipe) return;
    pipe.write(`+${pid}\n`);
    child.once('exit', () => {
      if (pipe.writable) pipe.write(`-${pid}\n`);
    });
  }

  /** A clean stop: the watcher sees the pipe close, kills whatever is left (normally nothing) and exits. */
  close(): void {
    this.watcher?.stdin?.end();
    this.watcher = undefined;
  }

  private pipe(): Writable | undefined {
    const current = this.watcher;
    if (current?.stdin?.writable && current.exitCode === null && current.signalCode === null) return current.stdin;
    try {
      // No environment: NODE_OPTIONS (loaders, inspectors) has nothing to do in the watcher.
      const watcher = spawn(process.execPath, ['-e', WATCHER], { stdio: ['pipe', 'ignore', 'ignore'], env: {} });
      watcher.on('error', (error) => this.log(`processing: the ffmpeg watcher failed: ${error.message}`));
      watcher.stdin!.on('error', () => {}); // the watcher is gone: the next command starts another
      // Neither keeps this process alive.
      watcher.unref();
      (watcher.stdin as unknown as { unref?: () => void }).unref?.();
      this.watcher = watcher;
      return watcher.stdin!;
    } catch (error) {
      this.log(`processing: cannot start the ffmpeg watcher: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }
}
