/**
 * `vod-upload ls`, `vod-upload rm <uploadId>` and `vod-upload usage`: the user's library through the upload
 * client (library-api.ts), with the upload command's exit codes, `--api`/`--token` and `--json`.
 */
import { parseArgs } from 'node:util';
import { VodUploader, VodUploadError } from '../node.ts';
import type { LibraryUpload, QuotaUse, UploadStatus, UsageReport } from '../node.ts';
import { UPLOAD_STATUSES } from '#contract';
import { EXIT_CODES, exitCodeFor } from './exit-codes.ts';

export const LIBRARY_COMMANDS = ['ls', 'rm', 'usage'] as const;
export type LibraryCommand = (typeof LIBRARY_COMMANDS)[number];

export interface LibraryIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  onInterrupt?: (handler: () => void) => void;
  /** Asks a yes/no question on the terminal; absent when stdin is not one (then `rm` needs `--yes`). */
  confirm?: (question: string) => Promise<boolean>;
}

const COMMON = `  --api <url>           upload backend base URL (env VOD_UPLOAD_API; default http://127.0.0.1:8080)
  --token <jwt>         bearer token: the user's, or a service token (env VOD_UPLOAD_TOKEN)
  --json                print one JSON object on stdout (errors too)
  -h, --help            this text`;

const EXITS = `Exit codes:
  0    done
  1    internal error (a bug)
  2    usage error or bad input (a bad option, an unknown upload id)
  3    token refused (401), forbidden (403: another user's), rate limited (429)
  4    network failure (the backend unreachable, or 5xx after every retry)
  130  interrupted (Ctrl-C)`;

export const LIBRARY_USAGE: Record<LibraryCommand, string> = {
  ls: `Usage: vod-upload ls [--status S] [--limit N] [--cursor C] [--all] [options]

Lists your uploads, newest first (GET <api>/uploads), one page at a time.

Options:
  --status <S>          only uploads in this status (${UPLOAD_STATUSES.join(', ')})
  --limit <n>           uploads per page, 1-100 (default 20)
  --cursor <c>          the page after the one that printed this cursor
  --all                 every page, not just the first
  --user <id>           another user's uploads (service token only)
${COMMON}

${EXITS}
`,
  rm: `Usage: vod-upload rm <uploadId> [--yes] [options]

Deletes an upload (DELETE <api>/uploads/{uploadId}): its video is erased from VOD.
Asks first on a terminal; elsewhere give --yes. Deleting a deleted upload succeeds again.

Options:
  -y, --yes             do not ask
${COMMON}

${EXITS}
`,
  usage: `Usage: vod-upload usage [options]

Shows your quota use and limits (GET <api>/me/usage).

Options:
  --user <id>           another user's (service token only)
${COMMON}

${EXITS}
`,
};

const MIB = 1024 * 1024;

function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  if (n >= 1024 * MIB) return `${(n / 1024 / MIB).toFixed(2)} GiB`;
  if (n >= MIB) return `${(n / MIB).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function formatSeconds(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** `2026-12-01T20:10:33.120Z` → `2026-12-01 20:10 UTC`. */
const formatTime = (iso: string | undefined) =>
  iso && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : (iso ?? '-');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

function uploadRows(uploads: LibraryUpload[], withUser: boolean): string[][] {
  return uploads.map((u) => [
    u.uploadId,
    ...(withUser ? [u.userId ?? '-'] : []),
    u.status,
    formatTime(u.createdAt),
    formatBytes(u.media?.size),
    formatSeconds(u.media?.duration),
    u.fileName ?? '-',
  ]);
}

const QUOTA_LABELS: Array<[keyof UsageReport['quotas'], string, (n: number) => string]> = [
  ['uploadsPerDay', 'uploads today', String],
  ['bytesPerDay', 'bytes today', formatBytes],
  ['storedBytes', 'stored bytes', formatBytes],
  ['storedSeconds', 'stored duration', formatSeconds],
  ['concurrentUploads', 'uploads in progress', String],
];

function usageText(report: UsageReport): string {
  const rows = [['quota', 'used', 'limit', 'frees up']];
  for (const [key, label, format] of QUOTA_LABELS) {
    const q: QuotaUse | undefined = report.quotas[key];
    if (!q) continue;
    rows.push([
      label,
      format(q.used),
      q.limit === null ? 'no limit' : format(q.limit),
      q.resetsAt ? formatTime(q.resetsAt) : '-',
    ]);
  }
  return `user  ${report.userId}\n${table(rows)}`;
}

export async function runLibraryCommand(command: LibraryCommand, argv: string[], io: LibraryIo): Promise<number> {
  const json = argv.includes('--json');
  const fail = (code: number, error: Error): number => {
    const known = error instanceof VodUploadError;
    if (json) {
      io.stdout.write(
        `${JSON.stringify({ ok: false, exitCode: code, error: known ? error.toJSON() : { kind: 'internal', message: error.message } })}\n`,
      );
    }
    io.stderr.write(`vod-upload ${command}: ${known ? '' : 'internal error: '}${error.message}\n`);
    return code;
  };
  const usage = (message: string) => {
    if (!json) io.stderr.write(LIBRARY_USAGE[command]);
    return fail(EXIT_CODES.badInput, new VodUploadError('bad-input', message));
  };

  let args: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        api: { type: 'string' },
        token: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        ...(command === 'ls'
          ? { status: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' }, all: { type: 'boolean' } }
          : {}),
        ...(command === 'ls' || command === 'usage' ? { user: { type: 'string' } } : {}),
        ...(command === 'rm' ? { yes: { type: 'boolean', short: 'y' } } : {}),
      },
    });
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
  const o = args.values;
  const str = (name: string) => (typeof o[name] === 'string' ? (o[name] as string) : undefined);
  if (o.help) {
    io.stdout.write(LIBRARY_USAGE[command]);
    return EXIT_CODES.ok;
  }
  const expected = command === 'rm' ? 1 : 0;
  if (args.positionals.length !== expected) {
    return usage(command === 'rm' ? 'give exactly one upload id' : `unexpected argument "${args.positionals[0]}"`);
  }

  const controller = new AbortController();
  io.onInterrupt?.(() => controller.abort());
  const signal = controller.signal;
  try {
    const client = new VodUploader({
      apiBaseUrl: str('api') ?? io.env.VOD_UPLOAD_API ?? 'http://127.0.0.1:8080',
      token: str('token') ?? io.env.VOD_UPLOAD_TOKEN,
      resume: false,
    });
    if (command === 'ls') return await list(client, o, str, io, json, signal, usage);
    if (command === 'rm') return await remove(client, args.positionals[0]!, o.yes === true, io, json, signal, usage);
    const report = await client.usage({ userId: str('user'), signal });
    io.stdout.write(json ? `${JSON.stringify({ ok: true, ...report })}\n` : `${usageText(report)}\n`);
    return EXIT_CODES.ok;
  } catch (error) {
    return fail(exitCodeFor(error), error instanceof Error ? error : new Error(String(error)));
  }
}

async function list(
  client: VodUploader,
  o: Record<string, string | boolean | undefined>,
  str: (name: string) => string | undefined,
  io: LibraryIo,
  json: boolean,
  signal: AbortSignal,
  usage: (message: string) => number,
): Promise<number> {
  const status = str('status')?.toUpperCase();
  if (status !== undefined && !(UPLOAD_STATUSES as string[]).includes(status)) {
    return usage(`--status must be one of ${UPLOAD_STATUSES.join(', ')}, not "${str('status')}"`);
  }
  const limitText = str('limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 100)) {
    return usage(`--limit must be a whole number from 1 to 100, not "${limitText}"`);
  }
  const options = { status: status as UploadStatus | undefined, limit, cursor: str('cursor'), userId: str('user'), signal };
  const uploads: LibraryUpload[] = [];
  let nextCursor: string | null = null;
  if (o.all) {
    for await (const page of client.listAll(options)) uploads.push(...page.uploads);
  } else {
    const page = await client.list(options);
    uploads.push(...page.uploads);
    nextCursor = page.nextCursor;
  }
  if (json) {
    io.stdout.write(`${JSON.stringify({ ok: true, uploads, nextCursor })}\n`);
    return EXIT_CODES.ok;
  }
  if (uploads.length === 0) {
    io.stdout.write(status ? `no ${status} uploads\n` : 'no uploads\n');
  } else {
    const withUser = uploads.some((u) => u.userId !== undefined);
    const head = ['UPLOAD ID', ...(withUser ? ['USER'] : []), 'STATUS', 'CREATED', 'SIZE', 'LENGTH', 'NAME'];
    io.stdout.write(`${table([head, ...uploadRows(uploads, withUser)])}\n`);
  }
  if (nextCursor) io.stderr.write(`more: vod-upload ls --cursor ${nextCursor} (or --all)\n`);
  return EXIT_CODES.ok;
}

async function remove(
  client: VodUploader,
  uploadId: string,
  yes: boolean,
  io: LibraryIo,
  json: boolean,
  signal: AbortSignal,
  usage: (message: string) => number,
): Promise<number> {
  if (!yes) {
    if (!io.confirm) return usage('not deleting without --yes: there is no terminal to ask on');
    const view = await client.getUpload(uploadId, signal);
    const what = `upload ${uploadId}${view.fileName ? ` ("${view.fileName}", ${view.status})` : ` (${view.status})`}`;
    if (!(await io.confirm(`Delete ${what}? Its video is erased from VOD. [y/N] `))) {
      io.stderr.write('vod-upload rm: not deleted\n');
      return EXIT_CODES.ok;
    }
  }
  const result = await client.deleteUpload(uploadId, signal);
  if (json) {
    io.stdout.write(
      `${JSON.stringify({ ok: true, uploadId, status: result.upload.status, mediaDeletion: result.mediaDeletion, upload: result.upload })}\n`,
    );
  } else {
    io.stdout.write(`deleted    ${uploadId}\nstatus     ${result.upload.status}\n`);
    if (result.mediaDeletion === 'pending')
      io.stdout.write('media      VOD could not be reached: the next cleanup run erases the video\n');
  }
  return EXIT_CODES.ok;
}
