/**
 * `vod-upload`: uploads one video (and optional cover) through the upload client, with a progress bar on
 * stderr, then prints the fileId, status and URLs (or one JSON object with --json). `runCli` returns the
 * exit code; `vod-upload.ts` is the executable wrapper.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_VOD_API_URL, VodUploader, VodUploadError } from '../node.ts';
import type { StageEvent, UploadProgress, UploadResult, UploadView } from '../node.ts';
import { EXIT_CODES, exitCodeFor } from './exit-codes.ts';
import { LIBRARY_COMMANDS, type LibraryCommand, runLibraryCommand } from './library-commands.ts';

const DEFAULT_API_URL = 'http://127.0.0.1:8080';

const USAGE = `Usage: vod-upload <file> [options]
       vod-upload ls [--status S] [--limit N] [--all]   your uploads, newest first
       vod-upload rm <uploadId> [--yes]               delete an upload (erased from VOD)
       vod-upload usage                               your quota use and limits
       (vod-upload <command> --help for each command's options)

Uploads a video to Tencent Cloud VOD through the upload backend: a signature from
POST <api>/upload-signature, ApplyUploadUGC, COS multipart upload, CommitUploadUGC.
An interrupted upload (Ctrl-C, lost network) continues from the parts already sent
when you run the same command again.

Options:
  --cover <image>       cover image uploaded with the video
  --api <url>           upload backend base URL
                        (env VOD_UPLOAD_API; default ${DEFAULT_API_URL})
  --token <jwt>         the app user's bearer token (env VOD_UPLOAD_TOKEN)
  --vod-api <url>       VOD UGC upload API base URL
                        (env VOD_UPLOAD_VOD_API; default ${DEFAULT_VOD_API_URL})
  --cos-domain <d>      COS Domain override, e.g. the local emulator's
                        127.0.0.1:8081/cos/{Bucket}/{Region} (env VOD_UPLOAD_COS_DOMAIN)
  --name <name>         media name in VOD (default: the file name without extension)
  --wait                wait until processing is done (READY) and print the results
  --timeout <seconds>   with --wait: give up after this long (default 600)
  --json                print one JSON object on stdout (errors too)
  --quiet               no progress output on stderr
  --parallel <n>        parts uploaded at once (default 4)
  --chunk-size <MiB>    part size in MiB (default 8)
  --no-resume           neither continue an interrupted upload nor remember this one
  -h, --help            this text

Exit codes:
  0    uploaded (and READY with --wait)
  1    internal error (a bug)
  2    usage error, bad input, missing or unreadable file, type refused by the backend
  3    token refused (401/403), rate limited or over a quota (429),
       or the upload id refused (404/409)
  4    upload failed: ApplyUploadUGC, COS, CommitUploadUGC, expired credentials, network
  5    processing failed (FAILED, REJECTED, EXPIRED, BLOCKED or DELETED) with --wait
  6    --wait timed out
  130  interrupted (Ctrl-C); run the same command again to resume
`;

interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  env: Record<string, string | undefined>;
  /** Fires on Ctrl-C; default: none. */
  onInterrupt?: (handler: () => void) => void;
  /** A yes/no question on the terminal (`rm` without --yes); absent when stdin is not a terminal. */
  confirm?: (question: string) => Promise<boolean>;
}

const MIB = 1024 * 1024;

function formatBytes(n: number): string {
  if (n >= 1024 * MIB) return `${(n / 1024 / MIB).toFixed(2)} GiB`;
  if (n >= MIB) return `${(n / MIB).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Progress on stderr: a redrawn bar on a TTY, else a plain line every 10 % or 5 s. */
class ProgressView {
  private lastDraw = 0;
  private lastPlainFraction = -1;
  private lastPlainTime = 0;
  private drawn = false;

  constructor(
    private readonly err: CliIo['stderr'],
    private readonly enabled: boolean,
  ) {}

  line(text: string): void {
    if (!this.enabled) return;
    this.clear();
    this.err.write(`${text}\n`);
  }

  progress(p: UploadProgress): void {
    if (!this.enabled) return;
    const now = Date.now();
    const pct = `${(p.fraction * 100).toFixed(p.fraction < 1 ? 1 : 0)}%`;
    const detail = `${formatBytes(p.loaded)} / ${formatBytes(p.total)}  ${p.bytesPerSecond > 0 ? `${formatBytes(p.bytesPerSecond)}/s` : '-- /s'}  ETA ${formatDuration(p.etaSeconds)}`;
    if (this.err.isTTY) {
      if (now - this.lastDraw < 100 && p.fraction < 1) return;
      this.lastDraw = now;
      const width = Math.max(10, Math.min(40, (this.err.columns ?? 80) - detail.length - 12));
      const full = Math.round(p.fraction * width);
      this.err.write(`\r\x1b[2K[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${pct.padStart(6)}  ${detail}`);
      this.drawn = true;
    } else {
      const step = Math.floor(p.fraction * 10);
      if (step === this.lastPlainFraction && now - this.lastPlainTime < 5000 && p.fraction < 1) return;
      if (p.fraction >= 1 && this.lastPlainFraction === 10) return;
      this.lastPlainFraction = p.fraction >= 1 ? 10 : step;
      this.lastPlainTime = now;
      this.err.write(`upload ${pct} ${detail}\n`);
    }
  }

  clear(): void {
    if (this.drawn) {
      this.err.write('\r\x1b[2K');
      this.drawn = false;
    }
  }
}

function resultUrls(result: UploadResult): Array<[string, string]> {
  const urls: Array<[string, string]> = [];
  if (result.videoUrl) urls.push(['original', result.videoUrl]);
  if (result.coverUrl) urls.push(['uploaded cover', result.coverUrl]);
  const view: UploadView | undefined = result.upload;
  if (view) {
    for (const r of view.renditions ?? [])
      urls.push([`rendition${r.definition ? ` ${r.definition}` : ''}${r.height ? ` (${r.height}p)` : ''}`, r.url]);
    for (const s of view.adaptiveStreams ?? []) urls.push([`adaptive${s.package ? ` ${s.package}` : ''}`, s.url]);
    if (view.cover?.url) urls.push(['cover', view.cover.url]);
    for (const s of view.snapshots ?? [])
      urls.push([`snapshot${s.timeOffsetMs !== undefined ? ` @${s.timeOffsetMs} ms` : ''}`, s.url]);
    for (const s of view.sampleSnapshots ?? []) for (const u of s.imageUrls) urls.push(['sample snapshot', u]);
    for (const u of view.sprite?.imageUrls ?? []) urls.push(['sprite', u]);
    if (view.sprite?.webVttUrl) urls.push(['sprite vtt', view.sprite.webVttUrl]);
    for (const g of view.animatedGraphics ?? []) urls.push(['animated', g.url]);
  }
  return urls;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if ((LIBRARY_COMMANDS as readonly string[]).includes(argv[0] ?? ''))
    return runLibraryCommand(argv[0] as LibraryCommand, argv.slice(1), io);
  const parse = (a: string[]) =>
    parseArgs({
      args: a,
      allowPositionals: true,
      strict: true,
      options: {
        cover: { type: 'string' },
        api: { type: 'string' },
        token: { type: 'string' },
        'vod-api': { type: 'string' },
        'cos-domain': { type: 'string' },
        name: { type: 'string' },
        wait: { type: 'boolean' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean' },
        parallel: { type: 'string' },
        'chunk-size': { type: 'string' },
        'no-resume': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  const json = argv.includes('--json');
  const fail = (code: number, error: VodUploadError | Error): number => {
    const kind = error instanceof VodUploadError ? error.kind : 'internal';
    if (json) {
      io.stdout.write(
        `${JSON.stringify({ ok: false, exitCode: code, error: error instanceof VodUploadError ? error.toJSON() : { kind, message: error.message } })}\n`,
      );
    }
    io.stderr.write(`vod-upload: ${kind === 'internal' ? 'internal error: ' : ''}${error.message}\n`);
    return code;
  };
  const usage = (message: string) => {
    if (!json) io.stderr.write(USAGE);
    return fail(EXIT_CODES.badInput, new VodUploadError('bad-input', message));
  };

  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
  const o = args.values;
  if (o.help) {
    io.stdout.write(USAGE);
    return EXIT_CODES.ok;
  }
  if (args.positionals.length !== 1)
    return usage(args.positionals.length ? 'give exactly one file' : 'give the video file to upload');
  const file = args.positionals[0]!;

  const positiveNumber = (name: string, value: string | undefined): number | undefined | Error => {
    if (value === undefined) return undefined;
    const n = Number(value);
    return Number.isFinite(n) && n > 0 ? n : new Error(`--${name} must be a positive number, not "${value}"`);
  };
  const timeout = positiveNumber('timeout', o.timeout);
  const parallel = positiveNumber('parallel', o.parallel);
  const chunk = positiveNumber('chunk-size', o['chunk-size']);
  for (const v of [timeout, parallel, chunk]) if (v instanceof Error) return usage(v.message);

  const apiBaseUrl = o.api ?? io.env.VOD_UPLOAD_API ?? DEFAULT_API_URL;
  const token = o.token ?? io.env.VOD_UPLOAD_TOKEN;
  const view = new ProgressView(io.stderr, !o.quiet);
  const controller = new AbortController();
  io.onInterrupt?.(() => {
    view.line('vod-upload: interrupted; stopping…');
    controller.abort();
  });

  let uploader: VodUploader;
  try {
    uploader = new VodUploader({
      apiBaseUrl,
      token,
      vodApiUrl: o['vod-api'] ?? io.env.VOD_UPLOAD_VOD_API,
      cosDomain: o['cos-domain'] ?? io.env.VOD_UPLOAD_COS_DOMAIN,
      parallel: parallel as number | undefined,
      chunkSize: chunk === undefined ? undefined : Math.round((chunk as number) * MIB),
      resume: !o['no-resume'],
    });
  } catch (error) {
    return fail(exitCodeFor(error), error as Error);
  }

  const stageText = (e: StageEvent): string | undefined => {
    switch (e.stage) {
      case 'signature':
        return `signature   ${apiBaseUrl}/upload-signature${e.uploadId ? ` (renewing upload ${e.uploadId})` : ''}`;
      case 'apply':
        return `apply       ${e.resumed ? 'continuing the interrupted upload ' : 'upload '}${e.uploadId}`;
      case 'upload':
        return 'upload      COS';
      case 'commit':
        return 'commit';
      case 'processing':
        return `processing  ${e.status}`;
      default:
        return undefined;
    }
  };

  try {
    const result = await uploader.upload(file, {
      cover: o.cover,
      mediaName: o.name,
      signal: controller.signal,
      onStage: (e) => {
        const text = stageText(e);
        if (text) view.line(`${formatDuration(e.elapsedMs / 1000).padStart(5)}  ${text}`);
      },
      onProgress: (p) => view.progress(p),
      onCredentialsRefreshed: () => view.line('        renewed the temporary COS credential'),
      waitForReady: o.wait ? { timeoutMs: ((timeout as number | undefined) ?? 600) * 1000, signal: controller.signal } : false,
    });
    view.clear();
    if (json) {
      io.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
    } else {
      const lines: string[] = [];
      lines.push(`fileId     ${result.fileId}`);
      lines.push(`uploadId   ${result.uploadId}`);
      lines.push(
        `status     ${result.status}${result.status === 'COMMITTED' ? ' (run with --wait to wait for processing)' : ''}`,
      );
      if (result.resumed)
        lines.push(`resumed    ${formatBytes(result.resumedBytes)} of ${formatBytes(result.totalBytes)} were already uploaded`);
      for (const [label, url] of resultUrls(result)) lines.push(`${label.padEnd(10)} ${url}`);
      io.stdout.write(`${lines.join('\n')}\n`);
    }
    return EXIT_CODES.ok;
  } catch (error) {
    view.clear();
    const code = exitCodeFor(error);
    if (error instanceof VodUploadError && error.fileId) {
      io.stderr.write(`vod-upload: the video was uploaded as fileId ${error.fileId} (uploadId ${error.uploadId ?? '?'})\n`);
    }
    if (error instanceof VodUploadError && error.kind === 'cancelled') {
      error.message = `${error.message}; run the same command again to continue where it stopped`;
    }
    return fail(code, error instanceof Error ? error : new Error(String(error)));
  }
}
