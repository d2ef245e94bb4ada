/**
 * The database goes away while VOD is calling back: the webhook answers 503 and writes nothing (VOD does
 * not resend on a 503: a redelivery, from the cleanup or PULL, is applied exactly once after the database
 * is back). A cleanup run that finds the database gone leaves nothing the next run cannot repair.
 */
import { randomUUID } from 'node:crypto';
import { runCleanup } from '#lib/cleanup';
import { loadConfig } from '#lib/config';
import { openDatabase, type Database } from '#lib/db';
import { createLogger } from '#lib/log';
import { encodeUploadContext } from '#lib/upload-context';
import { createVodClient } from '#lib/vod-api';
import { emulatorEnv, startTestEmulator, uploadViaApi, vodClient } from '../emulator/helpers';
import { getUpload, insertIssuedUpload } from '#lib/upload-store';
import { functionEnv } from '../support/env';
import { newFileUploadBody } from '../support/events';
import { functionUrlEvent, loadFunction } from '../support/function';
import { postgresBinaries, startPgServer, type PgServer } from '../support/pg-server';
import { freePort } from '../support/stack-process';

const available = postgresBinaries() !== undefined;
if (!available) console.warn('db-outage test skipped: no PostgreSQL server binaries (apt-get install postgresql)');
const maybe = available ? test : test.skip;
const TOKEN = 'callback-token-0123456789abcdef';

let server: PgServer;
let db: Database;

beforeAll(async () => {
  if (!available) return;
  server = startPgServer(await freePort());
  db = await openDatabase({ url: server.url, dataDir: 'unused', poolMax: 1 });
}, 60_000);
afterAll(async () => {
  if (!available) return;
  await db.close().catch(() => undefined);
  server.destroy();
});

maybe(
  '503 while the database is down, nothing written; applied once when it is back',
  async () => {
    const handler = loadFunction(
      'vod-events',
      functionEnv({
        DATABASE_URL: server.url,
        CALLBACK_TOKENS: TOKEN,
        CALLBACK_VERIFY_WITH_VOD: 'false',
        VOD_API_ENDPOINT: '127.0.0.1:9',
        VOD_API_PROTOCOL: 'http://',
        LOG_LEVEL: 'error',
      }),
    );
    const uploadId = randomUUID();
    await insertIssuedUpload(db, { uploadId, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 3600_000) });
    const event = functionUrlEvent(
      'POST',
      `/vod-events/${TOKEN}`,
      newFileUploadBody({ fileId: '5285890784300000001', uploadId }),
    );

    expect((await handler(event)).statusCode).toBe(200); // warm: the pool holds a connection
    await db.exec('TRUNCATE vod_events');
    await db.query(`UPDATE uploads SET status = 'ISSUED', file_id = NULL WHERE upload_id = $1`, [uploadId]);

    server.stop();
    const during = await handler(event);
    expect(during.statusCode).toBe(503);
    expect(JSON.parse(during.body).error.code).toBe('ServiceUnavailable');

    server.start();
    // The pool notices its dead connection and reconnects; VOD (or the pump) delivers the event again.
    let after = await handler(event);
    for (let i = 0; i < 5 && after.statusCode !== 200; i++) after = await handler(event);
    expect(after.statusCode).toBe(200);
    const upload = await getUpload(db, uploadId);
    expect(upload).toMatchObject({ status: 'UPLOADED', fileId: '5285890784300000001' });
    expect((await db.query('SELECT outcome FROM vod_events')).rows).toEqual([{ outcome: 'UPLOADED' }]);
    expect((await handler(event)).statusCode).toBe(200); // and again: a duplicate
    expect((await db.query('SELECT outcome FROM vod_events')).rows).toHaveLength(1);
  },
  60_000,
);

maybe(
  'a cleanup run without its database fails its steps and returns; the next run recovers the lost upload',
  async () => {
    const t = await startTestEmulator({});
    try {
      const config = loadConfig(
        emulatorEnv(t, {
          DATABASE_URL: server.url,
        }),
      );
      const run = () =>
        runCleanup({
          config,
          db,
          vod: createVodClient(config),
          log: createLogger({}, 'error'),
          deadline: Date.now() + 20_000,
          clock: () => t.clock.now() + 130_000,
        });
      await db.exec('TRUNCATE uploads, vod_events, search_cursors');
      const uploadId = randomUUID();
      await insertIssuedUpload(db, { uploadId, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 3600_000) });
      // No callback is configured: its NewFileUpload is lost.
      const fileId = await uploadViaApi(t, vodClient(t.emulator), encodeUploadContext({ uploadId }));

      server.stop();
      const during = await run();
      expect(during.stepsFailed).toBeGreaterThan(0);
      expect(during.uploadsRecovered).toBe(0);

      server.start();
      let after = await run();
      for (let i = 0; i < 3 && after.uploadsRecovered === 0; i++) after = await run();
      expect(after.uploadsRecovered).toBe(1);
      expect(await getUpload(db, uploadId)).toMatchObject({
        fileId,
        status: expect.stringMatching(/^(UPLOADED|PROCESSING|READY)$/),
      });
    } finally {
      await t.close();
    }
  },
  60_000,
);
