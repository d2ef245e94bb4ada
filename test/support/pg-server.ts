/**
 * A throwaway PostgreSQL server (Debian's `postgresql` package) that a test can stop and start again on
 * the same data and port, to see what the functions do when the database goes away.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function postgresBinaries(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const version = readdirSync(base).sort((a, b) => Number(b) - Number(a))[0];
  const bin = version && path.join(base, version, 'bin');
  return bin && existsSync(path.join(bin, 'pg_ctl')) ? bin : undefined;
}

export interface PgServer {
  url: string;
  stop(): void;
  start(): void;
  destroy(): void;
}

export function startPgServer(port: number): PgServer {
  const bin = postgresBinaries();
  if (!bin) throw new Error('PostgreSQL server binaries not found (apt-get install postgresql)');
  const dir = mkdtempSync(path.join(tmpdir(), 'vub-pgserver-'));
  const asRoot = process.getuid?.() === 0;
  const run = (tool: string, args: string[]) =>
    execFileSync(
      asRoot ? 'runuser' : path.join(bin, tool),
      asRoot ? ['-u', 'postgres', '--', path.join(bin, tool), ...args] : args,
      { stdio: 'pipe' },
    );
  if (asRoot) execFileSync('chown', ['postgres', dir]);
  run('initdb', ['-D', path.join(dir, 'data'), '--auth=trust', '-U', 'postgres']);
  const start = () =>
    run('pg_ctl', [
      '-D',
      path.join(dir, 'data'),
      '-l',
      path.join(dir, 'log'),
      '-w',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      'start',
    ]);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => run('pg_ctl', ['-D', path.join(dir, 'data'), '-m', 'immediate', '-w', 'stop']),
    start,
    destroy() {
      try {
        run('pg_ctl', ['-D', path.join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
