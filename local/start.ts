/**
 * `npm start`: the local stack (see stack.ts) until Ctrl-C. Settings: PORT (8080), EMULATOR_PORT (8081),
 * HOST (127.0.0.1), DATA_DIR (.data), VOD_EVENT_MODE (PUSH or PULL), GATEWAY_EVENT_SHAPE
 * (function-url or api-gateway).
 */
import { startStack } from './stack';

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${name} must be a port number, got "${raw}"`);
  return value;
}

function choice<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!allowed.includes(raw as T)) throw new Error(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

async function main(): Promise<void> {
  const stack = await startStack({
    port: port('PORT', 8080),
    emulatorPort: port('EMULATOR_PORT', 8081),
    host: process.env.HOST || '127.0.0.1',
    dataDir: process.env.DATA_DIR || '.data',
    eventMode: choice('VOD_EVENT_MODE', ['PUSH', 'PULL'] as const, 'PUSH'),
    eventShape: choice('GATEWAY_EVENT_SHAPE', ['function-url', 'api-gateway'] as const, 'function-url'),
  });
  const auth = stack.auth;
  const token = auth.source === 'local' ? await stack.demoToken('demo') : '"$APP_TOKEN"';
  const signIn =
    auth.source === 'local'
      ? `demo user "demo", bearer token (24 h):
  ${token}`
      : `sign-in: your app's, from the shell (${auth.source}${auth.jwksUrl ? ` ${auth.jwksUrl}` : ''}; issuer ${auth.issuer ?? 'not checked'}, audience ${auth.audience ?? 'not checked'}, user id claim ${auth.userClaim ?? 'sub'})
  send your identity provider's access tokens (the commands below read one from $APP_TOKEN); the demo sign-in (/local/session) is off`;
  console.log(`
vod-upload-backend local stack
  web page and API   ${stack.apiUrl}/            (POST /upload-signature, GET /uploads/{uploadId})
  review queue       ${stack.apiUrl}/review.html (REVIEW_MODE ${stack.env.REVIEW_MODE || 'off'}; ${auth.source === 'local' && stack.env.AUTH_ADMIN_CLAIM ? `the demo admin signs in there: /local/session {"userId":"…","admin":true}, a token with ${stack.env.AUTH_ADMIN_CLAIM}` : 'needs a service token: set AUTH_ADMIN_CLAIM and use your own'})
  OpenAPI            ${stack.apiUrl}/openapi.json
  VOD emulator       ${stack.emulator.url}       (UGC API, API 3.0 at ${stack.emulator.apiEndpoint}, COS, media)
  events             ${process.env.VOD_EVENT_MODE === 'PULL' ? 'PULL (the cleanup timer pumps them)' : 'PUSH to /vod-events/<token>, signed with a SignKey'}
  data               ${process.env.DATA_DIR || '.data'}  (embedded database and emulator files, kept across restarts)

${signIn}

upload a video:
  npx vod-upload clip.mp4 --api ${stack.apiUrl} --vod-api ${stack.emulator.url} --cos-domain ${stack.emulator.cosDomain} --token ${token} --wait

check every stage, as after a deploy (README, Deploy §8):
  npm run verify:deployment -- --api ${stack.apiUrl} --vod-api ${stack.emulator.url} --cos-domain ${stack.emulator.cosDomain} --token ${token}

Ctrl-C stops everything.`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    stack.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
