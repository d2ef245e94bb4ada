/**
 * The library calls of the upload client (`list`, `listAll`, `deleteUpload`) and the CLI's `vod-upload ls`
 * against the real local stack (local/stack.ts: the gateway running the built functions from
 * serverless.yml, PGlite, the VOD emulator): retries, pages newest first, the error kinds and exit codes,
 * and a service token. Deleting and usage are in library-delete.test.ts; the checks that need no backend
 * in library-options.test.ts. Runs under `npm run test:jest`.
 */
import { EXIT_CODES, VodUploader } from '../../client/index.ts';
import { stack, useLibraryStack, withLibrary } from '../support/client-library-fixture';
import { cli, client, failureOf, issue, serviceToken } from '../support/client-library-fixture';

useLibraryStack();

withLibrary(
  'list and delete retry a 503 and a dropped connection, then answer',
  async () => {
    const token = await stack.demoToken('ines');
    const c0 = client(token);
    const [id] = await issue(c0, 'ines', 1);
    const answers: string[] = [];
    let call = 0;
    const flaky = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      call += 1;
      if (call % 3 === 1) {
        answers.push('503');
        return new Response('{"error":{"code":"Unavailable","message":"try again"}}', { status: 503 });
      }
      if (call % 3 === 2) {
        answers.push('dropped');
        throw new TypeError('fetch failed');
      }
      const response = await fetch(input, init);
      answers.push(String(response.status));
      return response;
    }) as typeof fetch;
    const c = new VodUploader({
      apiBaseUrl: stack.apiUrl,
      token,
      resume: false,
      fetch: flaky,
      requestTimeoutMs: 60_000,
      retry: { retries: 2, minDelayMs: 10, maxDelayMs: 20 },
    });
    expect((await c.list()).uploads.map((u) => u.uploadId)).toEqual([id]);
    expect((await c.deleteUpload(id!)).upload.status).toBe('DELETED');
    expect(answers).toEqual(['503', 'dropped', '200', '503', 'dropped', '200']);
  },
  30_000,
);

withLibrary(
  'list: newest first, a page at a time with nextCursor, listAll, a status filter; each user sees their own',
  async () => {
    const ann = client(await stack.demoToken('ann'));
    const bob = client(await stack.demoToken('bob'));
    const annIds = await issue(ann, 'ann', 5);
    const bobIds = await issue(bob, 'bob', 1);

    const first = await ann.list({ limit: 2 });
    expect(first.uploads.map((u) => u.uploadId)).toEqual([annIds[4], annIds[3]]);
    expect(first.uploads[0]).toMatchObject({ status: 'ISSUED', fileName: 'ann-05.mp4' });
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await ann.list({ limit: 2, cursor: first.nextCursor! });
    expect(second.uploads.map((u) => u.uploadId)).toEqual([annIds[2], annIds[1]]);
    const last = await ann.list({ limit: 2, cursor: second.nextCursor! });
    expect(last.uploads.map((u) => u.uploadId)).toEqual([annIds[0]]);
    expect(last.nextCursor).toBeNull();

    const pages: string[][] = [];
    for await (const page of ann.listAll({ limit: 2 })) pages.push(page.uploads.map((u) => u.uploadId));
    expect(pages).toEqual([[annIds[4], annIds[3]], [annIds[2], annIds[1]], [annIds[0]]]);
    expect((await ann.list()).uploads.map((u) => u.uploadId)).toEqual([...annIds].reverse());
    expect((await ann.list({ status: 'READY' })).uploads).toEqual([]);
    expect((await bob.list()).uploads.map((u) => u.uploadId)).toEqual(bobIds);

    // The CLI: a table on stdout, the next cursor on stderr; --all follows every page.
    const token = await stack.demoToken('ann');
    const ls = await cli(['ls', '--limit', '2'], token);
    expect(ls.code).toBe(0);
    const lines = ls.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^UPLOAD ID\s+STATUS\s+CREATED\s+SIZE\s+LENGTH\s+NAME$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([annIds[4], annIds[3]]);
    expect(lines[1]).toMatch(/\sISSUED\s.*ann-05\.mp4$/);
    expect(ls.stderr).toMatch(/^more: vod-upload ls --cursor \S+ \(or --all\)$/m);
    const all = await cli(['ls', '--all', '--limit', '2', '--json'], token);
    expect(all.code).toBe(0);
    const out = JSON.parse(all.stdout) as { ok: boolean; uploads: Array<{ uploadId: string }>; nextCursor: null };
    expect(out.ok).toBe(true);
    expect(out.uploads.map((u) => u.uploadId)).toEqual([...annIds].reverse());
    expect(out.nextCursor).toBeNull();
    const none = await cli(['ls', '--status', 'ready'], token);
    expect([none.code, none.stdout]).toEqual([0, 'no READY uploads\n']);
  },
  60_000,
);

withLibrary(
  'errors: a bad cursor is bad-input naming the field (exit 2), another user is 403 (exit 3), a bad token exit 3',
  async () => {
    const cara = client(await stack.demoToken('cara'));
    await issue(cara, 'cara', 1);
    const badCursor = await failureOf(cara.list({ cursor: 'not-a-cursor' }));
    expect([badCursor.kind, badCursor.status, badCursor.field]).toEqual(['bad-input', 400, 'cursor']);
    const other = await failureOf(cara.list({ userId: 'ann' }));
    expect([other.kind, other.status]).toEqual(['signature-refused', 403]);
    // Naming itself is allowed.
    expect((await cara.list({ userId: 'cara' })).uploads).toHaveLength(1);
    const anonymous = await failureOf(client(undefined).list());
    expect([anonymous.kind, anonymous.status]).toEqual(['signature-refused', 401]);

    const token = await stack.demoToken('cara');
    const cursorRun = await cli(['ls', '--cursor', 'not-a-cursor', '--json'], token);
    expect(cursorRun.code).toBe(EXIT_CODES.badInput);
    expect(JSON.parse(cursorRun.stdout).error).toMatchObject({ kind: 'bad-input', field: 'cursor', status: 400 });
    expect((await cli(['ls', '--user', 'ann'], token)).code).toBe(EXIT_CODES.authRefused);
    const badToken = await cli(['ls'], 'not.a.jwt');
    expect(badToken.code).toBe(EXIT_CODES.authRefused);
    expect(badToken.stderr).toMatch(/^vod-upload ls: listing the uploads: token refused \(401/m);
  },
  60_000,
);

withLibrary(
  'a service token lists every user (items carry userId), or one user, and deletes any upload',
  async () => {
    const gus = client(await stack.demoToken('gus'));
    const [gusId] = await issue(gus, 'gus', 1);
    await issue(client(await stack.demoToken('gwen')), 'gwen', 1);
    const app = client(await serviceToken());
    const one = await app.list({ userId: 'gus' });
    expect(one.uploads.map((u) => u.uploadId)).toEqual([gusId]);
    const everyone: Array<{ uploadId: string; userId?: string }> = [];
    for await (const page of app.listAll({ limit: 100 })) everyone.push(...page.uploads);
    expect(everyone.find((u) => u.uploadId === gusId)?.userId).toBe('gus');
    expect(new Set(everyone.map((u) => u.userId)).size).toBeGreaterThan(1);

    const ls = await cli(['ls', '--limit', '100'], await serviceToken());
    expect(ls.stdout.split('\n')[0]).toMatch(/^UPLOAD ID\s+USER\s+STATUS/);
    expect(ls.stdout).toMatch(new RegExp(`^${gusId}\\s+gus\\s+ISSUED`, 'm'));
    const deleted = await app.deleteUpload(gusId!);
    expect(deleted.upload.status).toBe('DELETED');
    expect((await gus.getUpload(gusId!)).status).toBe('DELETED');
  },
  60_000,
);
