/**
 * `npm run verify:deployment`: proof that a deployment works end to end, in minutes. Against the deployed
 * functions and the real VOD it makes a short clip (ffmpeg), uploads it with the project's upload client
 * (signature, ApplyUploadUGC, COS, CommitUploadUGC), follows `GET /uploads/{id}` until READY, fetches a
 * rendition and the cover through the URLs handed out, and prints every stage with its time. A failure
 * names the stage, what it saw and where to look (diagnosis.ts); exit codes in VERIFY_EXIT.
 *
 *   npm run verify:deployment -- --api https://<upload-signature URL> --token <app user's JWT> \
 *     [--status-api https://<media-status URL>] [--vod-api <UGC API>] [--cos-domain <COS domain>] \
 *     [--origin https://<web app>] [--timeout 600]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_VOD_API_URL, VodUploader, VodUploadError } from '../client/node.ts';
import type { UploadResult, UploadStatus, UploadView } from '../client/node.ts';
import { makeTestClip } from './test-clip.ts';
import { clientFailure, endedFailure, stuckFailure, VERIFY_EXIT, type Failure } from './verify-deployment/diagnosis.ts';
import { checkHls, checkImage, checkMp4, DeliveryError, shortUrl } from './verify-deployment/media-check.ts';

const USAGE = `Usage: npm run verify:deployment -- --api <url> --token <jwt> [options]

Uploads a 2 s test clip through a deployment and checks every stage: signature,
ApplyUploadUGC, COS upload, CommitUploadUGC, processing until READY, a rendition
and the cover fetched through the returned URLs.

Options:
  --api <url>           the upload-signature function URL (also media-status's,
                        unless --status-api)
  --status-api <url>    the media-status function URL (GET /uploads/{id})
  --token <jwt>         an app user's bearer token (env VOD_UPLOAD_TOKEN)
  --vod-api <url>       VOD UGC upload API (default ${DEFAULT_VOD_API_URL})
  --cos-domain <d>      COS Domain override (the local emulator's)
  --origin <origin>     also check the CORS preflight for this web app origin
  --timeout <seconds>   how long to wait for READY (default 600)
  -h, --help            this text

Exit codes:
  0  every stage passed
  1  internal error
  2  usage error, or the clip could not be made (ffmpeg)
  3  token refused (401/403) or rate limited (429)
  4  signature, ApplyUploadUGC, COS or CommitUploadUGC failed, or unreachable
  5  processing ended FAILED, REJECTED, EXPIRED or DELETED
  6  not READY in time (stuck ISSUED, UPLOADED or PROCESSING: see the hint)
  7  delivery failed: a rendition, the cover, HLS or CORS
`;

class StageFailed extends Error {
  constructor(
    readonly stage: string,
    readonly failure: Failure,
    /** How long the stage ran before it failed. */
    readonly ms?: number,
  ) {
    super(failure.saw);
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One line per stage: `[ok]   signature   0.2 s  uploadId …`. */
function report(mark: 'ok' | 'FAIL' | 'skip', stage: string, ms: number | undefined, detail: string): void {
  const time = ms === undefined ? '' : seconds(ms);
  console.log(`[${mark}]${' '.repeat(5 - mark.length)}${stage.padEnd(11)} ${time.padStart(7)}  ${detail}`);
}

async function stage<T>(
  name: string,
  run: () => Promise<{ value: T; detail: string }>,
  toFailure: (error: unknown) => Failure,
): Promise<T> {
  const started = Date.now();
  try {
    const { value, detail } = await run();
    report('ok', name, Date.now() - started, detail);
    return value;
  } catch (error) {
    if (error instanceof StageFailed) throw error;
    throw new StageFailed(name, toFailure(error), Date.now() - started);
  }
}

const deliveryFailure = (error: unknown): Failure =>
  error instanceof DeliveryError
    ? error.failure()
    : {
        saw: error instanceof Error ? error.message : String(error),
        hint: 'an unexpected error',
        exit: VERIFY_EXIT.deliveryFailed,
      };

/** The CORS preflight a browser sends before POST /upload-signature and GET /uploads/{id}. */
async function checkCors(apiUrl: string, statusUrl: string, origin: string): Promise<string> {
  const routes: Array<[string, string]> = [
    [`${apiUrl}/upload-signature`, 'POST'],
    [`${statusUrl}/uploads/00000000-0000-4000-8000-000000000000`, 'GET'],
  ];
  for (const [url, method] of routes) {
    const answer = await fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': 'authorization, content-type',
      },
      signal: AbortSignal.timeout(15_000),
    });
    const allowed = answer.headers.get('access-control-allow-origin');
    if (answer.status >= 300 || (allowed !== origin && allowed !== '*')) {
      throw new DeliveryError(
        `preflight ${method} ${shortUrl(url)} from ${origin} answered ${answer.status}, access-control-allow-origin ${allowed ?? 'absent'}`,
        `add ${origin} to CORS_ALLOWED_ORIGINS of the function`,
      );
    }
  }
  return `${origin} allowed on both routes`;
}

/** Polls the status until READY; prints each status change. Throws StageFailed on an end or the timeout. */
async function followUntilReady(status: VodUploader, uploadId: string, timeoutMs: number): Promise<UploadView> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let current: UploadStatus = 'ISSUED'; // what a committed upload is until the backend hears from VOD
  let since = started;
  const changes: string[] = [];
  let interval = 1000;
  for (;;) {
    let view: UploadView;
    try {
      view = await status.getUpload(uploadId);
    } catch (error) {
      throw new StageFailed('processing', clientFailure('processing', error), Date.now() - started);
    }
    if (view.status !== current || changes.length === 0) {
      if (view.status !== current) since = Date.now();
      current = view.status;
      changes.push(`${current} ${seconds(Date.now() - started)}`);
      console.log(
        `         ${'processing'.padEnd(11)} ${seconds(Date.now() - started).padStart(7)}  ${current}${view.status === 'PROCESSING' ? ` ${view.progress ?? 0} %` : ''}`,
      );
    }
    if (view.status === 'READY') {
      report('ok', 'processing', Date.now() - started, changes.join(' -> '));
      return view;
    }
    if (view.status === 'FAILED' || view.status === 'REJECTED' || view.status === 'EXPIRED' || view.status === 'DELETED') {
      throw new StageFailed('processing', endedFailure(view), Date.now() - started);
    }
    if (Date.now() >= deadline)
      throw new StageFailed('processing', stuckFailure(current, (Date.now() - since) / 1000, view), Date.now() - started);
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, Math.max(0, deadline - Date.now()))));
    interval = Math.min(5000, Math.round(interval * 1.5));
  }
}

interface Options {
  api: string;
  statusApi: string;
  token: string;
  vodApi?: string;
  cosDomain?: string;
  origin?: string;
  timeoutMs: number;
}

function parseOptions(argv: string[]): Options | string {
  const { values } = parseArgs({
    args: argv,
    options: {
      api: { type: 'string' },
      'status-api': { type: 'string' },
      token: { type: 'string' },
      'vod-api': { type: 'string' },
      'cos-domain': { type: 'string' },
      origin: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return USAGE;
  const token = values.token ?? process.env.VOD_UPLOAD_TOKEN;
  const url = (name: string, value: string | undefined) => {
    if (value !== undefined && !/^https?:\/\/[^/\s]+/i.test(value))
      throw new Error(`--${name} must be an http(s) URL, got "${value}"`);
    return value?.replace(/\/+$/, '');
  };
  const api = url('api', values.api);
  if (!api) throw new Error('--api <upload-signature function URL> is required');
  if (!token) throw new Error("--token <an app user's JWT> (or VOD_UPLOAD_TOKEN) is required");
  const timeout = values.timeout === undefined ? 600 : Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new Error(`--timeout must be a positive number of seconds, got "${values.timeout}"`);
  if (values.origin !== undefined && !/^https?:\/\/[^/]+$/i.test(values.origin))
    throw new Error(`--origin must be an origin (https://app.example.com), got "${values.origin}"`);
  return {
    api,
    statusApi: url('status-api', values['status-api']) ?? api,
    token,
    vodApi: url('vod-api', values['vod-api']),
    cosDomain: values['cos-domain'],
    origin: values.origin,
    timeoutMs: timeout * 1000,
  };
}

async function verify(options: Options, work: string): Promise<void> {
  const clientOptions = {
    token: options.token,
    vodApiUrl: options.vodApi,
    cosDomain: options.cosDomain,
    resume: false,
    stateDir: path.join(work, 'state'),
  };
  const uploader = new VodUploader({ apiBaseUrl: options.api, ...clientOptions });
  const status = new VodUploader({ apiBaseUrl: options.statusApi, ...clientOptions });
  console.log(
    `verify-deployment: ${options.api}${options.statusApi === options.api ? '' : ` + ${options.statusApi}`}, VOD upload API ${uploader.vodApiUrl}`,
  );

  const clip = await stage(
    'clip',
    async () => {
      const file = makeTestClip(path.join(work, `verify-deployment-${Date.now()}.mp4`), { width: 320, height: 180, seconds: 2 });
      return { value: file, detail: `2 s 320x180 H.264/AAC, ${(fs.statSync(file).size / 1024).toFixed(1)} KiB` };
    },
    (error) => ({
      saw: error instanceof Error ? error.message : String(error),
      hint: 'ffmpeg could not make the clip: is @ffmpeg-installer/ffmpeg installed (npm ci), or FFMPEG_PATH set?',
      exit: VERIFY_EXIT.usage,
    }),
  );

  if (options.origin)
    await stage(
      'cors',
      async () => ({ value: undefined, detail: await checkCors(options.api, options.statusApi, options.origin!) }),
      deliveryFailure,
    );

  // The client's stages, each reported when the next one starts.
  let current = 'signature';
  let currentAt = Date.now();
  let uploadId: string | undefined;
  const details: Record<string, () => string> = {
    signature: () => `uploadId ${uploadId}`,
    apply: () => 'ApplyUploadUGC: storage path and temporary COS credential',
    upload: () => `${(fs.statSync(clip).size / 1024).toFixed(1)} KiB to COS`,
  };
  let result: UploadResult;
  try {
    result = await uploader.upload(clip, {
      mediaName: path.basename(clip, '.mp4'),
      onStage: (event) => {
        uploadId ??= event.uploadId;
        if (event.stage === current || event.stage === 'done') return;
        report('ok', current, Date.now() - currentAt, details[current]?.() ?? '');
        current = event.stage;
        currentAt = Date.now();
      },
    });
  } catch (error) {
    if (error instanceof VodUploadError) uploadId ??= error.uploadId;
    throw new StageFailed(current, clientFailure(current, error), Date.now() - currentAt);
  }
  report('ok', 'commit', Date.now() - currentAt, `fileId ${result.fileId}`);

  const view = await followUntilReady(status, result.uploadId, options.timeoutMs);

  const renditions = [...view.renditions].sort((a, b) => Number(/\.mp4($|\?)/.test(b.url)) - Number(/\.mp4($|\?)/.test(a.url)));
  const rendition = renditions[0];
  if (!rendition) {
    throw new StageFailed('rendition', {
      saw: 'READY without renditions',
      hint: 'PIPELINE_TRANSCODE_DEFINITIONS is empty, or VOD reported no transcode outputs',
      exit: VERIFY_EXIT.deliveryFailed,
    });
  }
  await stage(
    'rendition',
    async () => {
      const what = /\.m3u8($|\?)/.test(rendition.url) ? await checkHls(rendition.url) : await checkMp4(rendition.url, work);
      return { value: undefined, detail: `definition ${rendition.definition}: ${what}` };
    },
    deliveryFailure,
  );

  const cover = view.cover?.url;
  if (!cover)
    throw new StageFailed('cover', {
      saw: 'READY without a cover',
      hint: 'PIPELINE_COVER_DEFINITION is 0, or VOD reported no cover',
      exit: VERIFY_EXIT.deliveryFailed,
    });
  await stage('cover', async () => ({ value: undefined, detail: await checkImage(cover) }), deliveryFailure);

  const adaptive = view.adaptiveStreams[0];
  if (adaptive) await stage('hls', async () => ({ value: undefined, detail: await checkHls(adaptive.url) }), deliveryFailure);
  else report('skip', 'hls', undefined, 'no adaptive stream (PIPELINE_ADAPTIVE_DEFINITION is 0)');
}

async function main(argv: string[]): Promise<number> {
  let options: Options | string;
  try {
    options = parseOptions(argv);
  } catch (error) {
    console.error(`verify-deployment: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return VERIFY_EXIT.usage;
  }
  if (typeof options === 'string') {
    console.log(options);
    return VERIFY_EXIT.passed;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-deployment-'));
  const started = Date.now();
  try {
    await verify(options, work);
    console.log(`PASSED: every stage, in ${seconds(Date.now() - started)}`);
    return VERIFY_EXIT.passed;
  } catch (error) {
    if (!(error instanceof StageFailed)) throw error;
    report('FAIL', error.stage, error.ms, error.failure.saw);
    console.log(`  hint: ${error.failure.hint}`);
    console.log(`FAILED at stage ${error.stage} (exit ${error.failure.exit}) after ${seconds(Date.now() - started)}`);
    return error.failure.exit;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(
      `verify-deployment: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exit(VERIFY_EXIT.internal);
  },
);
