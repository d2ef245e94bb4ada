/**
 * Same-work minimal baselines, hand-written: what the bundles' figures are divided by in `npm run bench`.
 *  - signature: an HS256 JWT check (node:crypto), the request body read, the per-user rate-limit counter and
 *    the ISSUED upload row written in ONE SQL statement, the HMAC-SHA1 client-upload signature;
 *  - vod-events: the URL token checked, the NewFileUpload body read, its de-dupe key claimed and the upload
 *    moved to UPLOADED in one transaction.
 * No validation library, no config layer, no logging: the floor for the same database work on the same
 * database. The schema is the backend's own (its migrations, applied once at start, outside the figures).
 */
import { createHmac, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import querystring from 'node:querystring';
import { openDatabase } from '#lib/db';

export type Handler = (
  event: { headers: Record<string, string | string[] | undefined>; body: string; path: string },
  context: unknown,
) => Promise<{ statusCode: number; headers: Record<string, string>; body: string }>;

const json = (statusCode: number, body: unknown) => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

function database() {
  return openDatabase({
    url: process.env.DATABASE_URL || undefined,
    dataDir: process.env.DATA_DIR ?? '.data',
    poolMax: Number(process.env.DATABASE_POOL_MAX ?? 2),
  });
}

/** The `sub` of a valid HS256 token (signature, `alg`, `exp`), else undefined. */
function verifiedSubject(authorization: unknown, secret: Buffer): string | undefined {
  if (typeof authorization !== 'string' || !authorization.startsWith('Bearer ')) return undefined;
  const [header, payload, mac] = authorization.slice(7).split('.');
  if (!header || !payload || !mac) return undefined;
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    if (JSON.parse(Buffer.from(header, 'base64url').toString()).alg !== 'HS256') return undefined;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now() || typeof claims.sub !== 'string') return undefined;
    return claims.sub;
  } catch {
    return undefined;
  }
}

export function minimalSignatureHandler(): Handler {
  const secretId = process.env.VOD_SECRET_ID!;
  const secretKey = process.env.VOD_SECRET_KEY!;
  const jwtSecret = Buffer.from(process.env.AUTH_JWT_SECRET!);
  const limit = Number(process.env.RATE_LIMIT_SIGNATURES ?? 60);
  const windowMs = 60_000;
  const opening = database();
  return async (event) => {
    const userId = verifiedSubject(event.headers.authorization, jwtSecret);
    if (!userId) return json(401, { code: 'Unauthorized' });
    let body: { fileName?: unknown; fileSize?: unknown };
    try {
      body = JSON.parse(event.body || '{}');
    } catch {
      return json(400, { code: 'InvalidRequest' });
    }
    const fileName = typeof body.fileName === 'string' && body.fileName.length <= 255 ? body.fileName : null;
    const fileSize = Number.isSafeInteger(body.fileSize) ? (body.fileSize as number) : null;
    const uploadId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const expireTime = now + 3600;
    const db = await opening;
    const windowStart = new Date(Math.floor(Date.now() / windowMs) * windowMs);
    const { rows } = await db.query(
      `WITH counted AS (
         INSERT INTO rate_limits (subject, window_start, count) VALUES ($1, $2, 1)
         ON CONFLICT (subject, window_start) DO UPDATE SET count = rate_limits.count + 1 WHERE rate_limits.count < $3
         RETURNING count)
       INSERT INTO uploads (upload_id, user_id, status, file_name, file_size, signature_expires_at)
       SELECT $4::uuid, $5::text, 'ISSUED', $6::text, $7::bigint, $8::timestamptz FROM counted
       RETURNING upload_id`,
      [`signature:${userId}`, windowStart, limit, uploadId, userId, fileName, fileSize, new Date(expireTime * 1000)],
    );
    if (rows.length === 0) return json(429, { code: 'TooManyRequests' });
    const original = querystring.stringify({
      secretId,
      currentTimeStamp: now,
      expireTime,
      random: randomInt(0, 2 ** 32),
      sourceContext: `uploadId=${uploadId}&userId=${encodeURIComponent(userId)}`,
    });
    const mac = createHmac('sha1', secretKey).update(original).digest();
    const signature = Buffer.concat([mac, Buffer.from(original)]).toString('base64');
    return json(200, { signature, uploadId, expiresAt: new Date(expireTime * 1000).toISOString() });
  };
}

export function minimalEventsHandler(): Handler {
  const tokens = (process.env.CALLBACK_TOKENS ?? '').split(',').filter(Boolean);
  const opening = database();
  return async (event) => {
    if (!tokens.includes(event.path.split('/').pop() ?? '')) return json(401, { code: 'Unauthorized' });
    let fileId: string | undefined;
    let uploadId: string | undefined;
    try {
      const upload = JSON.parse(event.body).FileUploadEvent;
      fileId = typeof upload?.FileId === 'string' ? upload.FileId : undefined;
      uploadId = /uploadId=([0-9a-f-]{36})/.exec(upload?.MediaBasicInfo?.SourceInfo?.SourceContext ?? '')?.[1];
    } catch {
      return json(400, { code: 'InvalidRequest' });
    }
    if (!fileId) return json(400, { code: 'InvalidRequest' });
    const db = await opening;
    await db.transaction(async (tx) => {
      const claimed = await tx.query(
        `INSERT INTO vod_events (dedupe_key, event_type, upload_id, file_id, outcome)
         VALUES ($1, 'NewFileUpload', $2, $3, 'UPLOADED') ON CONFLICT (dedupe_key) DO NOTHING RETURNING 1`,
        [`NewFileUpload:${fileId}`, uploadId ?? null, fileId],
      );
      if (claimed.rows.length === 0 || !uploadId) return;
      await tx.query(
        `UPDATE uploads SET status = 'UPLOADED', file_id = $2, updated_at = now(), status_changed_at = now()
         WHERE upload_id = $1 AND status = 'ISSUED'`,
        [uploadId, fileId],
      );
    });
    return json(200, {});
  };
}
