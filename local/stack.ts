/**
 * The whole system on one machine, in one process: the VOD emulator, the gateway running the built
 * functions, and the embedded database (PGlite, opened by the functions under DATA_DIR). Wired so they
 * talk to each other: the functions call the emulator's API 3.0; the emulator calls back the
 * vod-events function (PUSH, with the secret token and a SignKey) or queues events for the cleanup
 * function (PULL). Local secrets are generated once and kept in DATA_DIR/local-secrets.json.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { SignJWT } from 'jose';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { closeEmbeddedDatabases } from '#lib/db';
import { buildOpenApiDocument } from '#lib/openapi';
import { describeFfmpegTools, ffmpegTools } from './emulator/ffmpeg.ts';
import { startEmulator, type Emulator } from './emulator/index.ts';
import { readFunctions } from './functions-config';
import { startGateway, type EventShape, type Gateway } from './gateway';
import { readBody, sendJson } from './http-body.ts';
import { createWebhookReceiver, type WebhookReceiver } from './webhook-receiver.ts';

export interface StackOptions {
  root?: string;
  dataDir?: string;
  port?: number;
  emulatorPort?: number;
  host?: string;
  eventMode?: 'PUSH' | 'PULL';
  eventShape?: EventShape;
  /** Extra environment for the functions (overrides the stack's own). */
  env?: Record<string, string>;
  timers?: boolean;
  log?: (line: string) => void;
}

/**
 * Whose sign-in the functions accept: the stack's own (a secret it made, demo tokens from
 * `/local/session`), or the app's, when AUTH_JWT_SECRET or AUTH_JWKS_URL is set in the shell.
 */
export type StackAuth =
  | { source: 'local' }
  | { source: 'AUTH_JWT_SECRET' | 'AUTH_JWKS_URL'; jwksUrl?: string; issuer?: string; audience?: string; userClaim?: string };

/** The app's settings the stack passes on as they are (README, "The local stack"). */
const APP_AUTH_SETTINGS = [
  'AUTH_JWT_SECRET',
  'AUTH_JWKS_URL',
  'AUTH_JWT_ISSUER',
  'AUTH_JWT_AUDIENCE',
  'AUTH_USER_CLAIM',
  'AUTH_ALLOW_ANY_AUDIENCE',
  'AUTH_CLOCK_SKEW_SECONDS',
];

export interface Stack {
  gateway: Gateway;
  emulator: Emulator;
  apiUrl: string;
  auth: StackAuth;
  /**
   * A JWT for the demo user, valid for a day; refused (rejects) when the app's sign-in is in use. With
   * `admin`, a service token (it carries the AUTH_ADMIN_CLAIM claim).
   */
  demoToken(userId?: string, admin?: boolean): Promise<string>;
  secrets: LocalSecrets;
  /** The functions' environment. */
  env: Record<string, string | undefined>;
  /** The stack's own webhook receiver (`/local/webhooks`), used unless APP_WEBHOOK_URL is given. */
  webhooks: WebhookReceiver;
  close(): Promise<void>;
}

export interface LocalSecrets {
  secretId: string;
  secretKey: string;
  jwtSecret: string;
  callbackToken: string;
  signKey: string;
}

const JWT_ISSUER = 'vod-upload-backend-local';
const JWT_AUDIENCE = 'vod-upload-local';
/** The service-token claim the stack sets when the demo sign-in is on and the caller named none. */
export const DEMO_ADMIN_CLAIM = 'scope=vod-upload:admin';

/** `<claim>=<value>` (AUTH_ADMIN_CLAIM, split at the first `=` as lib/config.ts does); none when unset or ''. */
function adminClaimOf(setting: string | undefined): { name: string; value: string } | undefined {
  const at = setting ? setting.indexOf('=') : -1;
  return setting && at > 0 ? { name: setting.slice(0, at), value: setting.slice(at + 1) } : undefined;
}

function localSecrets(dataDir: string): LocalSecrets {
  const file = path.join(dataDir, 'local-secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as LocalSecrets;
  const hex = (bytes: number) => randomBytes(bytes).toString('hex');
  const secrets: LocalSecrets = {
    secretId: `AKIDlocal${hex(14)}`,
    secretKey: hex(16),
    jwtSecret: hex(32),
    callbackToken: hex(24),
    signKey: hex(12),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

/** The app's sign-in, when the shell (or `options.env`) names a key source for it. */
function appAuth(env: Record<string, string | undefined>): StackAuth {
  const source = env.AUTH_JWKS_URL ? 'AUTH_JWKS_URL' : env.AUTH_JWT_SECRET ? 'AUTH_JWT_SECRET' : undefined;
  if (source === undefined) return { source: 'local' };
  if (env.AUTH_JWKS_URL && env.AUTH_JWT_SECRET)
    throw new Error('Set only one of AUTH_JWT_SECRET and AUTH_JWKS_URL (the app signs its tokens with one of them)');
  const set = (name: string) => env[name] || undefined;
  return {
    source,
    jwksUrl: set('AUTH_JWKS_URL'),
    issuer: set('AUTH_JWT_ISSUER'),
    audience: set('AUTH_JWT_AUDIENCE'),
    userClaim: set('AUTH_USER_CLAIM'),
  };
}

function demoSignInRefusal(auth: StackAuth): string {
  return `The demo sign-in is off: the stack accepts your app's tokens (${auth.source} is set in the shell), and mints none itself. Sign in with your identity provider and send its token as "Authorization: Bearer <token>"; unset AUTH_JWT_SECRET and AUTH_JWKS_URL for demo users.`;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const root = path.resolve(options.root ?? path.join(__dirname, '..'));
  const dataDir = path.resolve(root, options.dataDir ?? '.data');
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? ((line: string) => console.log(line));
  const secrets = localSecrets(dataDir);
  const eventMode = options.eventMode ?? 'PUSH';

  // Key hotlink protection: the emulator's CDN checks what media-status signs, with the same key.
  const hotlinkKey = options.env?.HOTLINK_KEY ?? process.env.HOTLINK_KEY;
  // Player signatures: the emulator's play-info API checks what media-status signs (derived, so the
  // secrets file keeps its shape).
  const playKey =
    options.env?.PLAYBACK_KEY ??
    process.env.PLAYBACK_KEY ??
    createHmac('sha256', secrets.secretKey).update('play-key').digest('hex').slice(0, 24);
  const emulator = await startEmulator({
    port: options.emulatorPort ?? 8081,
    host,
    hotlinkKey: hotlinkKey || undefined,
    playKey: playKey || undefined,
    dataDir: path.join(dataDir, 'emulator'),
    credentials: [{ secretId: secrets.secretId, secretKey: secrets.secretKey }],
    log: process.env.EMULATOR_LOG === '1' ? (line) => log(`[vod-emulator] ${line}`) : undefined,
  }).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'EADDRINUSE'
      ? new Error(`Port ${options.emulatorPort ?? 8081} is already in use: set EMULATOR_PORT to a free port`)
      : error;
  });

  // Which ffmpeg processes the media (system 5+ or the packaged builds): said once, at start.
  log(`[vod-emulator] ${describeFfmpegTools(ffmpegTools())}`);

  // The functions read their configuration from their environment, as on SCF. A DATABASE_URL from the
  // shell (say, a deployment's) is not inherited: the local stack uses its embedded database unless told.
  const { DATABASE_URL: _shellDatabaseUrl, ...inherited } = process.env;
  const auth = appAuth({ ...process.env, ...options.env });
  const env: Record<string, string | undefined> = {
    ...inherited,
    STAGE: 'local',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    DATA_DIR: dataDir,
    VOD_SECRET_ID: secrets.secretId,
    VOD_SECRET_KEY: secrets.secretKey,
    VOD_API_ENDPOINT: emulator.apiEndpoint,
    VOD_API_PROTOCOL: 'http://',
    AUTH_MODE: 'jwt',
    ...(auth.source === 'local'
      ? { AUTH_JWT_SECRET: secrets.jwtSecret, AUTH_JWT_ISSUER: JWT_ISSUER, AUTH_JWT_AUDIENCE: JWT_AUDIENCE }
      : Object.fromEntries(APP_AUTH_SETTINGS.map((name) => [name, options.env?.[name] ?? process.env[name]]))),
    CORS_ALLOWED_ORIGINS: '*',
    CALLBACK_TOKENS: secrets.callbackToken,
    CALLBACK_SIGN_KEYS: secrets.signKey,
    VOD_EVENT_MODE: eventMode,
    PLAYBACK_KEY: playKey,
    VOD_APP_ID: String(emulator.appId),
    ...options.env,
  };

  // The demo admin (`/local/session {admin:true}`, the review page) needs a claim that makes a service token:
  // the stack names one unless the caller did ('' from the caller leaves service tokens off).
  if (auth.source === 'local' && env.AUTH_ADMIN_CLAIM === undefined) env.AUTH_ADMIN_CLAIM = DEMO_ADMIN_CLAIM;
  const adminClaim = adminClaimOf(env.AUTH_ADMIN_CLAIM);

  // Webhooks go to the stack's own receiver unless the shell or the caller names a URL ('' turns them off).
  const webhooks = createWebhookReceiver(secrets.secretKey);
  const ownReceiver = options.env?.APP_WEBHOOK_URL === undefined && process.env.APP_WEBHOOK_URL === undefined;
  if (ownReceiver) env.APP_WEBHOOK_SECRETS = webhooks.secret;

  const functions = readFunctions(path.join(root, 'serverless.yml'));
  let gateway: Gateway;
  try {
    gateway = await startGateway({
      functions,
      env,
      port: options.port ?? 8080,
      host,
      eventShape: options.eventShape,
      staticDir: existsSync(path.join(root, 'dist', 'web')) ? path.join(root, 'dist', 'web') : undefined,
      timers: options.timers,
      log,
      localRoutes: (req, res, url) => localEndpoints(req, res, url),
    });
  } catch (error) {
    await emulator.close();
    throw error;
  }
  // Known once the gateway listens; the functions read their environment at their first invocation.
  if (ownReceiver) env.APP_WEBHOOK_URL = `${gateway.url}/local/webhooks`;

  /**
   * Local-only endpoints. `POST /local/session {userId}`: the demo page's sign-in; `{userId, admin: true}`: the
   * demo admin's (a service token, for the review page). Local only: it hands out a token for any user name,
   * admin included, which is exactly what a real deployment's own login must never do.
   */
  async function localEndpoints(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    // The API's description (docs/openapi.json, built from the same schemas), with this stack as its server.
    if (url.pathname === '/openapi.json' && (req.method === 'GET' || req.method === 'HEAD')) {
      sendJson(
        res,
        200,
        { ...buildOpenApiDocument(), servers: [{ url: gateway.url, description: 'this local stack' }] },
        { 'access-control-allow-origin': '*', 'cache-control': 'no-cache' },
      );
      return true;
    }
    if (!url.pathname.startsWith('/local/')) return false;
    const reply = (status: number, body: unknown) => sendJson(res, status, body, { 'cache-control': 'no-store' });
    // Only for this machine: not for other hosts (HOST=0.0.0.0), nor for pages that rebind a DNS name
    // to 127.0.0.1 (their requests carry their own Host).
    const hostname = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (
      !['127.0.0.1', 'localhost', '[::1]'].includes(hostname) ||
      !['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(req.socket.remoteAddress ?? '')
    ) {
      reply(403, { error: { code: 'Forbidden', message: 'The /local endpoints answer only on localhost' } });
      return true;
    }
    if (await webhooks.handle(req, res, url)) return true;
    // `POST /local/timers/<function>`: run a timer function now (tests, impatient operators).
    const timer = /^\/local\/timers\/([\w-]+)$/.exec(url.pathname);
    if (timer && req.method === 'POST') {
      if (!readFunctionsTimers().includes(timer[1]!)) {
        reply(404, { error: { code: 'NotFound', message: `No timer function named ${timer[1]}` } });
        return true;
      }
      try {
        reply(200, (await gateway.invokeTimer(timer[1]!)) ?? null);
      } catch (error) {
        reply(502, { error: { code: 'FunctionError', message: (error as Error).message } });
      }
      return true;
    }
    if (url.pathname !== '/local/session') return false;
    if (req.method !== 'POST') {
      reply(405, { error: { code: 'MethodNotAllowed', message: 'Use POST' } });
      return true;
    }
    if (auth.source !== 'local') {
      req.resume();
      reply(409, { error: { code: 'DemoSignInDisabled', message: demoSignInRefusal(auth) } });
      return true;
    }
    const body = await readBody(req, 4096);
    // A larger body is no sign-in; its rest is read and dropped.
    if (body === undefined) req.resume();
    let userId: unknown;
    let admin: unknown;
    try {
      ({ userId, admin } = JSON.parse(body?.toString('utf8') ?? '') as { userId?: unknown; admin?: unknown });
    } catch {
      userId = undefined;
    }
    if (typeof userId !== 'string' || !/^[\w.@-]{1,64}$/.test(userId)) {
      reply(400, {
        error: {
          code: 'InvalidRequest',
          message: 'userId: 1-64 letters, digits, dots, dashes, underscores or @',
          field: 'userId',
        },
      });
      return true;
    }
    if (admin !== undefined && typeof admin !== 'boolean') {
      reply(400, { error: { code: 'InvalidRequest', message: 'admin: true or false', field: 'admin' } });
      return true;
    }
    if (admin && !adminClaim) {
      reply(409, {
        error: {
          code: 'AdminSignInDisabled',
          message: 'No demo admin: AUTH_ADMIN_CLAIM is set empty, so no token is a service token. Unset it for the demo admin.',
        },
      });
      return true;
    }
    reply(200, {
      userId,
      ...(admin ? { admin: true } : {}),
      token: await demoToken(userId, admin === true),
      apiUrl: gatewayUrl(),
      vodApiUrl: emulator.url,
      cosDomain: emulator.cosDomain,
      reviewMode: env.REVIEW_MODE || 'off',
    });
    return true;
  }
  const demoToken = async (userId: string, admin = false) => {
    if (auth.source !== 'local') throw new Error(demoSignInRefusal(auth));
    if (admin && !adminClaim) throw new Error('No demo admin: AUTH_ADMIN_CLAIM is set empty');
    const claims: Record<string, string> = admin && adminClaim ? { [adminClaim.name]: adminClaim.value } : {};
    return new SignJWT({ ...claims, name: userId })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('24h')
      .sign(new TextEncoder().encode(secrets.jwtSecret));
  };
  const gatewayUrl = () => gateway.url;
  const readFunctionsTimers = () => functions.filter((fn) => fn.schedules.length > 0).map((fn) => fn.name);

  // Point VOD's event delivery at this stack, through the same API an operator would use.
  const client = new vod.v20180717.Client({
    credential: { secretId: secrets.secretId, secretKey: secrets.secretKey },
    region: 'ap-guangzhou',
    profile: { httpProfile: { endpoint: emulator.apiEndpoint, protocol: 'http://' } },
  });
  try {
    await client.ModifyEventConfig({
      Mode: eventMode,
      NotificationUrl: `${gateway.url}/vod-events/${secrets.callbackToken}`,
      UploadMediaCompleteEventSwitch: 'ON',
      DeleteMediaCompleteEventSwitch: 'ON',
      SignKey: secrets.signKey,
    });
  } catch (error) {
    await gateway.close();
    await emulator.close();
    throw error;
  }

  return {
    gateway,
    emulator,
    apiUrl: gateway.url,
    auth,
    secrets,
    env,
    webhooks,
    demoToken: (userId = 'demo', admin = false) => demoToken(userId, admin),
    async close() {
      // The gateway first (running invocations finish); the emulator keeps callbacks it could not
      // deliver for the next start.
      await gateway.close();
      await emulator.close();
      // Close the embedded database the functions opened (one per process and folder).
      await closeEmbeddedDatabases(dataDir);
    },
  };
}
