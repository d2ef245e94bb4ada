/**
 * What the transactional outbox costs (issue #15): a status change (`updateUpload`, one UPDATE) with the
 * timeline-and-outbox trigger against the same UPDATE with the trigger disabled, on the same database;
 * and one Standard Webhooks signature (standardwebhooks' `Webhook.sign`) against a bare HMAC-SHA256 of
 * the same bytes. Returns rows for bench/run.ts's table.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { openDatabase, type Database } from '#lib/db';
import { insertIssuedUpload, updateUpload } from '#lib/upload-store';

const STATUS_CHANGES = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 2000);
const SIGNATURES = 20_000;

/** Mean ms per status change: ISSUED → UPLOADED → PROCESSING → READY for STATUS_CHANGES / 3 uploads. */
async function perStatusChange(db: Database): Promise<number> {
  const ids = Array.from({ length: Math.ceil(STATUS_CHANGES / 3) }, () => randomUUID());
  for (const uploadId of ids) {
    await insertIssuedUpload(db, { uploadId, userId: 'bench', signatureExpiresAt: new Date(Date.now() + 3600_000) });
  }
  const started = performance.now();
  for (const uploadId of ids) {
    await updateUpload(db, uploadId, { status: 'UPLOADED', fileId: `f-${uploadId}` }, undefined, { source: 'vod-event' });
    await updateUpload(db, uploadId, { status: 'PROCESSING', taskId: 't' }, 'UPLOADED', { source: 'processing-start' });
    await updateUpload(db, uploadId, { status: 'READY', result: { renditions: [{ url: 'https://x/v.mp4', definition: 1 }] } });
  }
  return (performance.now() - started) / (ids.length * 3);
}

function perSignature(sign: (body: string, i: number) => string): number {
  const body = JSON.stringify({ type: 'upload.ready', timestamp: new Date().toISOString(), data: { pad: 'x'.repeat(1500) } });
  const started = performance.now();
  for (let i = 0; i < SIGNATURES; i++) sign(body, i);
  return ((performance.now() - started) * 1000) / SIGNATURES;
}

export async function measureWebhooks(databaseUrl?: string): Promise<string[][]> {
  const rows: string[][] = [[`outbox: status change (${STATUS_CHANGES} UPDATEs)`, 'ms each', 'without', 'with / without', '']];
  const engines: Array<[string, () => Promise<Database>]> = [['PGlite', () => openDatabase({ dataDir: 'memory://' })]];
  if (databaseUrl) engines.push(['PostgreSQL', () => openDatabase({ url: databaseUrl, dataDir: 'unused' })]);
  for (const [name, open] of engines) {
    const db = await open();
    try {
      await db.exec('ALTER TABLE uploads DISABLE TRIGGER uploads_status_recorded');
      const without = await perStatusChange(db);
      await db.exec('ALTER TABLE uploads ENABLE TRIGGER uploads_status_recorded');
      const withOutbox = await perStatusChange(db);
      rows.push([
        `${name}, timeline + outbox row per change`,
        withOutbox.toFixed(3),
        without.toFixed(3),
        (withOutbox / without).toFixed(2),
        '',
      ]);
    } finally {
      await db.close();
    }
  }
  const secret = randomBytes(32);
  const webhook = new Webhook(`whsec_${secret.toString('base64')}`);
  const now = new Date();
  const standard = perSignature((body, i) => webhook.sign(`msg_${i}`, now, body));
  const bare = perSignature((body, i) =>
    createHmac('sha256', secret).update(`msg_${i}.${now.getTime()}.${body}`).digest('base64'),
  );
  rows.push(['signature (1.5 KB body)', 'µs each', 'bare HMAC µs', 'with / without', '']);
  rows.push(['standardwebhooks Webhook.sign', standard.toFixed(1), bare.toFixed(1), (standard / bare).toFixed(2), '']);
  return rows;
}

if (process.argv[1]?.endsWith('webhooks.ts')) {
  measureWebhooks(process.env.BENCH_DATABASE_URL).then((rows) => {
    for (const row of rows) console.log(row.join('  '));
  });
}
