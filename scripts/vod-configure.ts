/**
 * `npm run vod:configure`: points VOD's event notifications at this deployment (ModifyEventConfig), then
 * prints the resulting DescribeEventConfig. `--dry-run` prints what would change and changes nothing.
 *
 *   npm run vod:configure -- --callback-url https://<vod-events function URL>/vod-events [--dry-run]
 *   npm run vod:configure -- --mode PULL [--dry-run]
 *
 * Sets: Mode (PUSH or PULL: `--mode`, else VOD_EVENT_MODE, else PUSH); in PUSH mode NotificationUrl =
 * the callback URL carrying the first CALLBACK_TOKENS entry (`?token=…`, or `/vod-events/…` with
 * `--token-in path`); UploadMediaCompleteEventSwitch and DeleteMediaCompleteEventSwitch ON; SignKey = the
 * first CALLBACK_SIGN_KEYS entry when there is one (`--clear-sign-key` removes it from VOD).
 *
 * Reads the same variables as the functions: VOD_SECRET_ID, VOD_SECRET_KEY (a key allowed
 * vod:DescribeEventConfig and vod:ModifyEventConfig), VOD_SUB_APP_ID, VOD_REGION, VOD_API_ENDPOINT /
 * VOD_API_PROTOCOL (e.g. the emulator), CALLBACK_TOKENS, CALLBACK_SIGN_KEYS, VOD_EVENT_MODE, plus
 * VOD_CALLBACK_URL (same as --callback-url). Secrets are never printed: tokens appear as
 * `<CALLBACK_TOKENS[0]>` or, when not one of ours, as a short fingerprint.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '#lib/config';
import type { Config } from '#lib/config';
import { createVodClient, vodErrorCode } from '#lib/vod-api';
import type { VodClient } from '#lib/vod-api';

type EventMode = 'PUSH' | 'PULL';

/** The DescribeEventConfig fields this script manages or shows. */
const SHOWN_FIELDS = [
  'Mode',
  'NotificationUrl',
  'UploadMediaCompleteEventSwitch',
  'DeleteMediaCompleteEventSwitch',
  'PersistenceCompleteEventSwitch',
] as const;
type ShownField = (typeof SHOWN_FIELDS)[number];
type EventConfigView = Partial<Record<ShownField, string>>;

export interface ModifyRequest {
  SubAppId?: number;
  Mode: EventMode;
  NotificationUrl?: string;
  UploadMediaCompleteEventSwitch: 'ON';
  DeleteMediaCompleteEventSwitch: 'ON';
  SignKey?: string;
}

export interface Change {
  field: ShownField | 'SignKey';
  from?: string;
  to: string;
}

export interface ConfigureIo {
  argv: string[];
  env: Record<string, string | undefined>;
  out: (line: string) => void;
  err: (line: string) => void;
}

const USAGE = `Usage: npm run vod:configure -- [--callback-url URL] [--mode PUSH|PULL] [--token-in query|path] [--clear-sign-key] [--dry-run]

  --callback-url URL  the vod-events endpoint, e.g. https://<id>.<region>.tencentscf.com/vod-events
                      (or VOD_CALLBACK_URL); required in PUSH mode; give it without the token
  --mode PUSH|PULL    how VOD delivers events (default: VOD_EVENT_MODE, else PUSH)
  --token-in          where the token rides: query (?token=…, default) or path (/vod-events/…)
  --clear-sign-key    remove VOD's SignKey (default: set the first CALLBACK_SIGN_KEYS entry, if any)
  --dry-run           print the current configuration and what would change; change nothing`;

class UsageError extends Error {}

/** Runs the command; returns the process exit code (0 ok, 1 failed, 2 bad usage or configuration). */
export async function configureVodEvents(io: ConfigureIo, deps: { client?: VodClient } = {}): Promise<number> {
  let secrets: string[] = [];
  const redact = (text: string) => secrets.reduce((t, s) => (s.length >= 4 ? t.split(s).join('<redacted>') : t), text);
  try {
    const { values } = parseArgs({
      args: io.argv,
      options: {
        'callback-url': { type: 'string' },
        mode: { type: 'string' },
        'token-in': { type: 'string' },
        'clear-sign-key': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    const config = vodSettings(io.env);
    secrets = [config.vod.secretKey, ...config.callback.tokens, ...config.callback.signKeys];

    const mode = (values.mode ?? (io.env.VOD_EVENT_MODE?.trim() || 'PUSH')).toUpperCase();
    if (mode !== 'PUSH' && mode !== 'PULL') throw new UsageError(`--mode must be PUSH or PULL, got ${JSON.stringify(mode)}`);
    const tokenIn = values['token-in'] ?? 'query';
    if (tokenIn !== 'query' && tokenIn !== 'path')
      throw new UsageError(`--token-in must be query or path, got ${JSON.stringify(tokenIn)}`);
    const baseUrl = values['callback-url'] ?? io.env.VOD_CALLBACK_URL?.trim() ?? '';

    const request: ModifyRequest = {
      ...(config.vod.subAppId === undefined ? {} : { SubAppId: config.vod.subAppId }),
      Mode: mode,
      UploadMediaCompleteEventSwitch: 'ON',
      DeleteMediaCompleteEventSwitch: 'ON',
    };
    if (mode === 'PUSH' || baseUrl !== '') {
      const token = config.callback.tokens[0];
      if (baseUrl === '') {
        throw new UsageError(
          'PUSH mode needs the vod-events URL: pass --callback-url https://<function URL>/vod-events or set VOD_CALLBACK_URL',
        );
      }
      if (token === undefined)
        throw new UsageError(
          'CALLBACK_TOKENS is empty: set it (the same value the vod-events function has) so the callback URL can carry the token',
        );
      request.NotificationUrl = callbackUrl(baseUrl, token, tokenIn, io.err);
    }
    if (values['clear-sign-key']) request.SignKey = '';
    else if (config.callback.signKeys[0] !== undefined) request.SignKey = config.callback.signKeys[0];

    const client = deps.client ?? createVodClient(config, { timeoutSeconds: 15 });
    const target = config.vod.subAppId === undefined ? {} : { SubAppId: config.vod.subAppId };
    const label = (url: string | undefined) => (url === undefined ? undefined : maskUrl(url, config.callback.tokens));
    const signKeyLabel = (key: string) =>
      key === '' ? '(none: callbacks unsigned)' : `<CALLBACK_SIGN_KEYS[${config.callback.signKeys.indexOf(key)}]>`;

    io.out(
      `VOD event configuration of ${config.vod.subAppId === undefined ? 'the primary application (VOD_SUB_APP_ID not set)' : `sub-application ${config.vod.subAppId}`}, region ${config.vod.region}${config.vod.endpoint ? `, endpoint ${config.vod.endpoint}` : ''}`,
    );
    const before = await client.DescribeEventConfig(target);
    io.out('Current (DescribeEventConfig):');
    printConfig(io, before, label);

    const changes = planChanges(before, request);
    io.out(changes.length === 0 ? 'Changes: none' : 'Changes:');
    for (const change of changes) {
      const show = (v: string | undefined) =>
        v === undefined || v === '' ? '(unset)' : change.field === 'NotificationUrl' ? label(v) : v;
      io.out(
        change.field === 'SignKey'
          ? `  ${'SignKey'.padEnd(32)} set to ${signKeyLabel(change.to)} (write-only: DescribeEventConfig never shows it)`
          : `  ${change.field.padEnd(32)} ${show(change.from)} -> ${show(change.to)}`,
      );
    }
    if (values['dry-run']) {
      io.out('Dry run: nothing was changed.');
      return 0;
    }
    if (changes.length === 0) return 0;

    await client.ModifyEventConfig(request);
    const after = await client.DescribeEventConfig(target);
    io.out('Applied. DescribeEventConfig now:');
    printConfig(io, after, label);
    const missed = planChanges(after, { ...request, SignKey: undefined });
    if (missed.length > 0) {
      io.err(
        `Error: VOD did not take ${missed.map((c) => c.field).join(', ')}; run again, or check the configuration in the VOD console`,
      );
      return 1;
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.err(`Error: ${redact(error.message)}`);
      io.err(USAGE);
      return 2;
    }
    // Duck-typed: errors from Node's built-ins may come from another realm (jest runs tests in a vm).
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      io.err(`Error: ${String((error as { message?: unknown }).message)}`);
      io.err(USAGE);
      return 2;
    }
    io.err(`Error: ${redact(describeVodError(error))}`);
    return 1;
  }
}

/**
 * The VOD and callback settings, validated by the functions' own rules (lib/config.ts). Only those
 * variables are passed in: this script does not need database or user-auth settings.
 */
function vodSettings(env: Record<string, string | undefined>): Config {
  const names = [
    'VOD_SECRET_ID',
    'VOD_SECRET_KEY',
    'VOD_SUB_APP_ID',
    'VOD_REGION',
    'VOD_API_ENDPOINT',
    'VOD_API_PROTOCOL',
    'CALLBACK_TOKENS',
    'CALLBACK_SIGN_KEYS',
  ];
  const picked = Object.fromEntries(names.map((name) => [name, env[name]]));
  return loadConfig({ ...picked, STAGE: 'vod-configure', AUTH_MODE: 'none' });
}

/** The callback URL with the token added; refuses URLs that would not reach the vod-events route. */
export function callbackUrl(
  base: string,
  token: string,
  tokenIn: 'query' | 'path',
  warn: (line: string) => void = () => {},
): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`--callback-url is not a URL: ${JSON.stringify(base)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError('--callback-url must be an http(s) URL');
  if (url.searchParams.has('token') || /\/vod-events\/[^/]+\/?$/.test(url.pathname)) {
    throw new UsageError(
      '--callback-url must not carry a token: give the vod-events URL alone, the first CALLBACK_TOKENS entry is added',
    );
  }
  if (url.username || url.password || url.hash)
    throw new UsageError('--callback-url must not contain credentials or a #fragment');
  const path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith('/vod-events')) {
    throw new UsageError(
      `--callback-url must end with /vod-events (the route the vod-events function serves), got path ${JSON.stringify(url.pathname)}`,
    );
  }
  if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    warn('Warning: the callback URL is plain http: callbacks, token included, will cross the network unencrypted');
  }
  if (tokenIn === 'path') {
    url.pathname = `${path}/${encodeURIComponent(token)}`;
  } else {
    url.pathname = path;
    url.searchParams.set('token', token);
  }
  return url.toString();
}

/** A URL safe to print: the token (query or path suffix) replaced by its name or a fingerprint. */
export function maskUrl(url: string, knownTokens: readonly string[]): string {
  const name = (token: string) => {
    const index = knownTokens.indexOf(token);
    return index >= 0
      ? `<CALLBACK_TOKENS[${index}]>`
      : `<token sha256:${createHash('sha256').update(token).digest('hex').slice(0, 8)}>`;
  };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url === '' ? '' : '<unparsable URL hidden>';
  }
  let text = `${parsed.protocol}//${parsed.host}`;
  const match = /^(.*\/vod-events\/)([^/]+)\/?$/.exec(parsed.pathname);
  text += match ? `${match[1]}${name(decodeURIComponent(match[2]!))}` : parsed.pathname;
  const query = [...parsed.searchParams].map(([k, v]) =>
    k === 'token' ? `${k}=${name(v)}` : /token|sign|key|secret/i.test(k) ? `${k}=<hidden>` : `${k}=${v}`,
  );
  return query.length > 0 ? `${text}?${query.join('&')}` : text;
}

/** Field-by-field differences between VOD's current configuration and the request. */
export function planChanges(current: EventConfigView, request: Partial<ModifyRequest>): Change[] {
  const changes: Change[] = [];
  for (const field of ['Mode', 'NotificationUrl', 'UploadMediaCompleteEventSwitch', 'DeleteMediaCompleteEventSwitch'] as const) {
    const wanted = request[field];
    if (wanted !== undefined && (current[field] ?? '') !== wanted) changes.push({ field, from: current[field], to: wanted });
  }
  if (request.SignKey !== undefined) changes.push({ field: 'SignKey', to: request.SignKey });
  return changes;
}

function printConfig(io: ConfigureIo, view: EventConfigView, label: (url: string | undefined) => string | undefined): void {
  for (const field of SHOWN_FIELDS) {
    const value = field === 'NotificationUrl' ? label(view[field]) : view[field];
    io.out(`  ${field.padEnd(32)} ${value === undefined || value === '' ? '(unset)' : value}`);
  }
}

function describeVodError(error: unknown): string {
  const code = vodErrorCode(error);
  const raw = (error as { message?: unknown } | null)?.message;
  const message = typeof raw === 'string' ? raw : String(error);
  const requestId = (error as { requestId?: unknown } | null)?.requestId;
  const hint = code?.startsWith('AuthFailure')
    ? ' (check VOD_SECRET_ID / VOD_SECRET_KEY, and VOD_API_ENDPOINT if set)'
    : code?.startsWith('UnauthorizedOperation')
      ? ' (the CAM key needs vod:DescribeEventConfig and vod:ModifyEventConfig on this sub-application)'
      : code?.includes('SubAppId')
        ? ' (check VOD_SUB_APP_ID)'
        : '';
  if (code === undefined) return `could not reach the VOD API: ${message}`;
  return `VOD API error ${code}: ${message}${typeof requestId === 'string' ? ` (RequestId ${requestId})` : ''}${hint}`;
}

if (require.main === module) {
  configureVodEvents({
    argv: process.argv.slice(2),
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
