/**
 * Database round trips per request, counted through the database layer (lib/db.ts `observeStatements`:
 * every statement sent, BEGIN and COMMIT included) while the built bundles serve one real flow in this
 * process: a signature, the upload through the official SDK into the VOD emulator, its NewFileUpload
 * callback (ProcessMedia included), the ProcedureStateChanged callback of that processing (real ffmpeg),
 * and the status read. The callbacks are the bodies the emulator produced for this very upload.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { observeStatements } from '#lib/db';
import { encodeUploadContext } from '#lib/upload-context';
import { SECRET_ID, SECRET_KEY, startTestEmulator, uploadViaApi, vodClient } from '../test/emulator/helpers';

type Handler = (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;

export interface RoundTrips {
  engine: 'postgres' | 'pglite';
  /** Statements per request, and the statements themselves (first words), in order. */
  requests: Record<string, { statements: number; sent: string[] }>;
}

/** The issue's targets (issue 14): at most this many statements per request. */
export const ROUND_TRIP_TARGETS: Record<string, number> = {
  'POST /upload-signature (new upload)': 1,
  'NewFileUpload callback': 3,
  'ProcedureStateChanged callback': 2,
  'GET /uploads/{uploadId}': 1,
};

const JWT_SECRET = 'round-trips-jwt-secret-that-is-long-enough-0123';
const CALLBACK_TOKEN = 'round-trips-callback-token-0123456789';
const dist = path.resolve(__dirname, '..', 'dist');

const shortly = (sql: string) => sql.replace(/\s+/g, ' ').trim().slice(0, 60);

export async function measureRoundTrips(options: { databaseUrl?: string } = {}): Promise<RoundTrips> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vub-round-trips-'));
  const contents: Record<string, unknown>[] = [];
  const t = await startTestEmulator({ eventConfig: { Mode: 'PUSH', UploadMediaCompleteEventSwitch: 'ON' } });
  t.emulator.events.on('event', ({ content }: { content: Record<string, unknown> }) => contents.push(content));
  const saved = { ...process.env };
  Object.assign(process.env, {
    STAGE: 'bench',
    LOG_LEVEL: 'error',
    VOD_SECRET_ID: SECRET_ID,
    VOD_SECRET_KEY: SECRET_KEY,
    VOD_API_ENDPOINT: t.emulator.apiEndpoint,
    VOD_API_PROTOCOL: 'http://',
    AUTH_JWT_SECRET: JWT_SECRET,
    CALLBACK_TOKENS: CALLBACK_TOKEN,
    // Confirming with VOD costs VOD calls, not database statements.
    CALLBACK_VERIFY_WITH_VOD: 'false',
    DATA_DIR: dataDir,
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
  });
  const handler = (name: string) => (require(path.join(dist, name, 'index.js')) as { main_handler: Handler }).main_handler;
  let sent: string[] = [];
  observeStatements((sql) => sent.push(shortly(sql)));
  const requests: RoundTrips['requests'] = {};
  try {
    const signature = handler('upload-signature');
    const vodEvents = handler('vod-events');
    const mediaStatus = handler('media-status');
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('round-trips-user')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JWT_SECRET));
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const counted = async (name: string, call: () => Promise<{ statusCode: number; body: string }>) => {
      sent = [];
      const answer = await call();
      if (answer.statusCode !== 200) throw new Error(`${name} answered ${answer.statusCode}: ${answer.body}`);
      requests[name] = { statements: sent.length, sent };
      return JSON.parse(answer.body) as Record<string, unknown>;
    };
    const post = (body: unknown) => ({
      httpMethod: 'POST',
      path: '/upload-signature',
      headers,
      body: JSON.stringify(body),
      queryString: {},
    });
    // Warm-up: each bundle opens its database (pool, migrations) in its first request.
    await signature(post({ fileName: 'warm.mp4' }), { request_id: 'warm' });
    const body = JSON.stringify({ EventType: 'WarmUp' });
    await vodEvents({ httpMethod: 'POST', path: `/vod-events/${CALLBACK_TOKEN}`, headers: {}, body, queryString: {} }, {});
    await mediaStatus({ httpMethod: 'GET', path: `/uploads/${randomUUID()}`, headers, body: '', queryString: {} }, {});
    const issued = await counted('POST /upload-signature (new upload)', () =>
      signature(post({ fileName: 'clip.mp4', fileSize: 1_000_000 }), { request_id: 'rt-1' }),
    );
    const uploadId = String(issued.uploadId);
    await counted('POST /upload-signature (re-sign)', () => signature(post({ uploadId }), { request_id: 'rt-2' }));

    const callback = (content: unknown) =>
      vodEvents(
        {
          httpMethod: 'POST',
          path: `/vod-events/${CALLBACK_TOKEN}`,
          headers: {},
          body: JSON.stringify(content),
          queryString: {},
        },
        { request_id: 'rt-cb' },
      );
    await uploadViaApi(t, vodClient(t.emulator), encodeUploadContext({ uploadId, userId: 'round-trips-user' }));
    const uploaded = contents.find((c) => c.EventType === 'NewFileUpload');
    if (!uploaded) throw new Error('the emulator produced no NewFileUpload event');
    await counted('NewFileUpload callback', () => callback(uploaded));
    await counted('NewFileUpload callback (duplicate)', () => callback(uploaded));
    await t.emulator.processing.idle();
    const finished = contents.find((c) => c.EventType === 'ProcedureStateChanged');
    if (!finished) throw new Error('the emulator produced no ProcedureStateChanged event');
    await counted('ProcedureStateChanged callback', () => callback(finished));

    await counted('GET /uploads/{uploadId}', () =>
      mediaStatus(
        { httpMethod: 'GET', path: `/uploads/${uploadId}`, headers, body: '', queryString: {} },
        { request_id: 'rt-3' },
      ),
    );
    return { engine: options.databaseUrl ? 'postgres' : 'pglite', requests };
  } finally {
    observeStatements(undefined);
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    const { closeEmbeddedDatabases } = await import('#lib/db');
    await closeEmbeddedDatabases();
    await t.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  measureRoundTrips({ databaseUrl: process.env.DATABASE_URL }).then(
    (result) => {
      if (process.argv.includes('--json')) {
        console.log(JSON.stringify(result));
        process.exit(0);
      }
      for (const [name, { statements, sent }] of Object.entries(result.requests)) {
        console.log(`${name}: ${statements}${ROUND_TRIP_TARGETS[name] ? ` (target ≤ ${ROUND_TRIP_TARGETS[name]})` : ''}`);
        for (const sql of sent) console.log(`    ${sql}`);
      }
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
