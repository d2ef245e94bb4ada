/**
 * The list endpoint (issue #16) in-process on a real database and the VOD emulator (the official SDK):
 * GET /uploads (list-uploads), its bad input, access control for user and service tokens and keyset
 * pagination, and GET /uploads/{uploadId} (media-status) with a service token. DELETE /uploads/{uploadId}
 * is in library-delete.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { encodeCursor } from '#lib/upload-library';
import { updateUpload } from '#lib/upload-store';
import {
  call,
  get,
  issued,
  list,
  service,
  serviceToken,
  status,
  testDb,
  useLibraryFunctions,
} from '../support/library-functions-fixture';

useLibraryFunctions();

/** `count` uploads of `userId` in one statement: many share one created_at, as in a burst. */
async function bulk(userId: string, count: number, secondsAgo = 0): Promise<void> {
  await testDb.db.query(
    `INSERT INTO uploads (upload_id, user_id, status, signature_expires_at, created_at)
     SELECT gen_random_uuid(), $1, 'ISSUED', now() + interval '1 hour',
            now() - make_interval(secs => $3) - (i / 7) * interval '1 microsecond'
     FROM generate_series(1, $2) AS i`,
    [userId, count, secondsAgo],
  );
}

describe('GET /uploads', () => {
  test("the caller's own uploads, newest first, in the owner's view (no userId on the items)", async () => {
    const first = await issued('alice', 'first.mp4');
    const second = await issued('alice', 'second.mp4');
    await issued('bob');
    const page = await get('/uploads', 'alice');
    expect(page.status).toBe(200);
    expect(page.body.uploads.map((u: { uploadId: string }) => u.uploadId)).toEqual([second, first]);
    expect(page.body.uploads[0]).toMatchObject({ status: 'ISSUED', fileName: 'second.mp4', renditions: [], cover: null });
    expect(page.body.uploads[0]).not.toHaveProperty('userId');
    expect(page.body.nextCursor).toBeNull();
    expect((await get('/uploads', 'carol')).body).toEqual({ uploads: [], nextCursor: null });
  });

  test('status filters; a user may name themself as userId', async () => {
    const ready = await issued('alice');
    await updateUpload(testDb.db, ready, { status: 'READY', fileId: 'f-1' });
    await issued('alice');
    const readyOnly = await get('/uploads?status=READY', 'alice');
    expect(readyOnly.body.uploads.map((u: { uploadId: string }) => u.uploadId)).toEqual([ready]);
    expect((await get('/uploads?status=FAILED', 'alice')).body.uploads).toEqual([]);
    expect((await get('/uploads?userId=alice&limit=1', 'alice')).body.uploads).toHaveLength(1);
    // Empty values are "not given" (a form's empty fields).
    expect((await get('/uploads?status=&cursor=&limit=', 'alice')).body.uploads).toHaveLength(2);
  });

  test('pages over more rows than the limit: every upload once, in order, while new ones arrive', async () => {
    await bulk('alice', 230, 60);
    await bulk('bob', 40, 60);
    const { rows } = await testDb.db.query<{ upload_id: string }>(
      `SELECT upload_id FROM uploads WHERE user_id = 'alice' ORDER BY created_at DESC, upload_id DESC`,
    );
    const expected = rows.map((r) => String(r.upload_id));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '/uploads?limit=17' : `/uploads?limit=17&cursor=${cursor}`;
      const page = await get(query, 'alice');
      expect(page.status).toBe(200);
      expect(page.body.uploads.length).toBeLessThanOrEqual(17);
      seen.push(...page.body.uploads.map((u: { uploadId: string }) => u.uploadId));
      cursor = page.body.nextCursor;
      // Uploads started meanwhile are newer than every page already handed out: they never shift a page.
      await issued('alice');
      pages++;
    } while (cursor !== null && pages < 100);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(230);
    expect(pages).toBe(Math.ceil(230 / 17));
  });

  test('the last full page says there is no next one', async () => {
    await bulk('alice', 40);
    const first = await get('/uploads?limit=20', 'alice');
    const second = await get(`/uploads?limit=20&cursor=${first.body.nextCursor}`, 'alice');
    expect(second.body.uploads).toHaveLength(20);
    expect(second.body.nextCursor).toBeNull();
  });

  test.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=1e2', 'limit'],
    ['status=ready', 'status'],
    ['status=NOPE', 'status'],
    ['cursor=not%20base64', 'cursor'],
    ['cursor=AAAA', 'cursor'],
    [`cursor=${Buffer.from('2026-01-01T00:00:00.000000Z/not-a-uuid').toString('base64url')}`, 'cursor'],
    [`cursor=${Buffer.from('2026-13-45T99:00:00.000000Z/3f1c2b7e-1d2a-4c3b-9a8f-0123456789ab').toString('base64url')}`, 'cursor'],
    [`cursor=${Buffer.from("'; DROP TABLE uploads; --").toString('base64url')}`, 'cursor'],
    ['userId=', 'userId'],
    [`userId=${'x'.repeat(129)}`, 'userId'],
    ['user=bob', 'user'],
    ['offset=20', 'offset'],
    ['%3Cscript%3E=1', 'query'],
  ])('?%s is a 400 naming %s', async (query, field) => {
    const answer = await get(`/uploads?${query}`, 'alice');
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'InvalidRequest', field });
  });

  test('a cursor with another spelling of the same bytes is refused (one cursor, one spelling)', async () => {
    const cursor = encodeCursor({ createdAt: '2026-01-01T00:00:00.000000Z', uploadId: randomUUID() });
    expect((await get(`/uploads?cursor=${cursor}`, 'alice')).status).toBe(200);
    expect((await get(`/uploads?cursor=${cursor}==`, 'alice')).status).toBe(400);
  });

  test('no token is a 401; another method a 405', async () => {
    expect((await get('/uploads', undefined)).status).toBe(401);
    const post = await call(list, 'POST', '/uploads', 'alice');
    expect(post.status).toBe(405);
    expect(post.body.error.code).toBe('MethodNotAllowed');
  });

  test("a user token naming another user gets a 403, whatever else it carries; a cursor never reaches another's rows", async () => {
    const bobsUpload = await issued('bob');
    const mallory = await get('/uploads?userId=bob', 'mallory');
    expect(mallory.status).toBe(403);
    expect(mallory.body.error.code).toBe('Forbidden');
    expect(JSON.stringify(mallory.body)).not.toContain(bobsUpload);
    // Look-alike service claims are a user token still.
    for (const scope of ['vod-upload:admins', 'VOD-UPLOAD:ADMIN', 'openid,vod-upload:admin']) {
      const token = await serviceToken({ sub: 'mallory', scope });
      expect((await get('/uploads?userId=bob', { token })).status).toBe(403);
      expect((await get('/uploads', { token })).body.uploads).toEqual([]);
    }
    const wrongClaim = await serviceToken({ sub: 'mallory', scp: 'vod-upload:admin', role: 'admin', admin: true });
    expect((await get('/uploads?userId=bob', { token: wrongClaim })).status).toBe(403);
    // Bob's cursor in Mallory's hands lists Mallory's uploads only.
    await bulk('bob', 30);
    const bobs = await get('/uploads?limit=5', 'bob');
    const replay = await get(`/uploads?cursor=${bobs.body.nextCursor}`, 'mallory');
    expect(replay.body.uploads).toEqual([]);
  });

  test("a service token lists everyone's uploads (each with its userId), or one user's, or by status", async () => {
    const a = await issued('alice');
    const b = await issued('bob');
    await updateUpload(testDb.db, b, { status: 'READY', fileId: 'f-b' });
    const everyone = await get('/uploads', await service());
    expect(everyone.status).toBe(200);
    expect(everyone.body.uploads.map((u: { uploadId: string; userId: string }) => [u.uploadId, u.userId])).toEqual([
      [b, 'bob'],
      [a, 'alice'],
    ]);
    const bobs = await get('/uploads?userId=bob', await service());
    expect(bobs.body.uploads.map((u: { uploadId: string }) => u.uploadId)).toEqual([b]);
    expect(bobs.body.uploads[0]).not.toHaveProperty('userId');
    const ready = await get('/uploads?status=READY', await service());
    expect(ready.body.uploads.map((u: { uploadId: string }) => u.uploadId)).toEqual([b]);
  });

  test("a service token pages over every user's uploads too", async () => {
    await bulk('alice', 25, 10);
    await bulk('bob', 25, 5);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { uploads: Array<{ uploadId: string }>; nextCursor: string | null } } = await get(
        `/uploads?limit=9${cursor ? `&cursor=${cursor}` : ''}`,
        await service(),
      );
      seen.push(...page.body.uploads.map((u) => u.uploadId));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(new Set(seen).size).toBe(50);
    expect(seen).toHaveLength(50);
  });
});

describe('GET /uploads/{uploadId} with a service token', () => {
  test("reads any user's upload as its owner does; a look-alike claim stays a user token", async () => {
    const uploadId = await issued('alice', 'alice.mp4');
    const asService = await call(status, 'GET', `/uploads/${uploadId}`, await service());
    expect(asService.status).toBe(200);
    expect(asService.body).toMatchObject({ uploadId, status: 'ISSUED', fileName: 'alice.mp4' });
    expect((await call(status, 'GET', `/uploads/${uploadId}`, 'alice')).body).toEqual(asService.body);
    const lookAlike = { token: await serviceToken({ sub: 'mallory', scope: 'vod-upload:admins' }) };
    for (const caller of ['mallory', lookAlike]) {
      const answer = await call(status, 'GET', `/uploads/${uploadId}`, caller);
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('NotFound');
    }
  });
});
