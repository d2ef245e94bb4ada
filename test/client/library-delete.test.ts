/**
 * Deleting uploads and quota use through the upload client (`deleteUpload`, `usage`) and the CLI's
 * `vod-upload rm` and `usage`, against the real local stack (local/stack.ts: the gateway running the built
 * functions from serverless.yml, PGlite, the VOD emulator): a delete that erases the media, rm asking
 * first, quota use and a quota refusal, with their exit codes. Runs under `npm run test:jest`.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { EXIT_CODES } from '../../client/index.ts';
import { makeTestClip } from '../../scripts/test-clip';
import { stack, useLibraryStack, withLibrary, work } from '../support/client-library-fixture';
import { DAILY_UPLOADS, ROOT, cli, client, failureOf, issue, serviceToken } from '../support/client-library-fixture';

useLibraryStack();

withLibrary(
  'delete: an uploaded video is DELETED and its media erased; idempotent; another user gets 404; rm asks first',
  async () => {
    const clip = makeTestClip(path.join(work, 'dora.mp4'), { width: 160, height: 90, seconds: 1 });
    const dora = client(await stack.demoToken('dora'));
    const uploaded = await dora.upload(clip);
    expect(uploaded.videoUrl).toEqual(expect.any(String));
    expect((await fetch(uploaded.videoUrl!)).status).toBe(200);
    // Until the VOD event has arrived the backend knows no file; wait for it, as a user would.
    const deadline = Date.now() + 30_000;
    while ((await dora.getUpload(uploaded.uploadId)).status === 'ISSUED' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));

    const eve = client(await stack.demoToken('eve'));
    const notHers = await failureOf(eve.deleteUpload(uploaded.uploadId));
    expect([notHers.kind, notHers.status]).toEqual(['bad-input', 404]);
    expect((await dora.getUpload(uploaded.uploadId)).status).not.toBe('DELETED');

    const token = await stack.demoToken('dora');
    // No terminal and no --yes: nothing is deleted.
    const unasked = await cli(['rm', uploaded.uploadId], token);
    expect(unasked.code).toBe(EXIT_CODES.badInput);
    expect(unasked.stderr).toContain('not deleting without --yes');
    // Asked, and the answer is no.
    const questions: string[] = [];
    const declined = await cli(['rm', uploaded.uploadId], token, async (q) => {
      questions.push(q);
      return false;
    });
    expect(declined.code).toBe(0);
    expect(questions).toEqual([expect.stringMatching(/^Delete upload \S+ \("dora\.mp4", [A-Z]+\)\? .*\[y\/N\] $/)]);
    expect((await dora.getUpload(uploaded.uploadId)).status).not.toBe('DELETED');

    const removed = await cli(['rm', uploaded.uploadId, '--yes', '--json'], token);
    expect(removed.code).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({
      ok: true,
      uploadId: uploaded.uploadId,
      status: 'DELETED',
      mediaDeletion: 'done',
    });
    expect((await dora.getUpload(uploaded.uploadId)).status).toBe('DELETED');
    expect((await fetch(uploaded.videoUrl!)).status).toBe(404);
    // Again: the same answer.
    const again = await dora.deleteUpload(uploaded.uploadId);
    expect([again.upload.status, again.mediaDeletion]).toEqual(['DELETED', 'done']);
    const human = await cli(['rm', uploaded.uploadId, '-y'], token);
    expect(human.stdout).toMatch(/^deleted\s+\S+\nstatus\s+DELETED\n$/);

    const unknownId = await cli(['rm', '00000000-0000-4000-8000-000000000000', '--yes'], token);
    expect(unknownId.code).toBe(EXIT_CODES.badInput);
    expect(unknownId.stderr).toContain('not found (404)');
    expect((await dora.list({ status: 'DELETED' })).uploads.map((u) => u.uploadId)).toEqual([uploaded.uploadId]);
  },
  90_000,
);

withLibrary(
  'rm through the executable: with stdin not a terminal it needs --yes (exit 2)',
  async () => {
    const fred = client(await stack.demoToken('fred'));
    const [id] = await issue(fred, 'fred', 1);
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'vod-upload.js'), 'rm', id!], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', VOD_UPLOAD_API: stack.apiUrl },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
      child.stdin.end('y\n');
    });
    expect(run.code).toBe(EXIT_CODES.badInput);
    expect(run.stderr).toContain('not deleting without --yes');
    expect((await fred.getUpload(id!)).status).toBe('ISSUED');
  },
  30_000,
);

withLibrary(
  'usage: the quotas with their limits and use; a refusal past the daily limit is signature-refused with the quota (exit 3)',
  async () => {
    const hana = client(await stack.demoToken('hana'));
    const fresh = await hana.usage();
    expect(fresh.userId).toBe('hana');
    expect(Object.keys(fresh.quotas).sort()).toEqual(
      ['bytesPerDay', 'concurrentUploads', 'storedBytes', 'storedSeconds', 'uploadsPerDay'].sort(),
    );
    expect(fresh.quotas.uploadsPerDay).toMatchObject({ limit: DAILY_UPLOADS, used: 0, resetsAt: expect.any(String) });
    expect(fresh.quotas.storedBytes.limit).toBeNull();

    await issue(hana, 'hana', DAILY_UPLOADS);
    expect((await hana.usage()).quotas.uploadsPerDay.used).toBe(DAILY_UPLOADS);
    const refused = await failureOf(hana.getSignature({ fileName: 'one-too-many.mp4', fileSize: 10, fileType: 'mp4' }));
    expect([refused.kind, refused.status, refused.code]).toEqual(['signature-refused', 429, 'QuotaExceeded']);
    expect(refused.quota).toMatchObject({ name: 'uploadsPerDay', limit: DAILY_UPLOADS, used: DAILY_UPLOADS });
    expect(refused.message).toContain('quota exceeded');

    const token = await stack.demoToken('hana');
    const human = await cli(['usage'], token);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^user {2}hana$/m);
    expect(human.stdout).toMatch(
      new RegExp(`^uploads today\\s+${DAILY_UPLOADS}\\s+${DAILY_UPLOADS}\\s+\\d{4}-\\d\\d-\\d\\d`, 'm'),
    );
    expect(human.stdout).toMatch(/^stored bytes\s+\d[\d.]* (B|KiB)\s+no limit\s+-$/m);
    const json = JSON.parse((await cli(['usage', '--json'], token)).stdout);
    expect(json).toMatchObject({ ok: true, userId: 'hana', quotas: { uploadsPerDay: { used: DAILY_UPLOADS } } });
    const app = await serviceToken();
    expect((await client(app).usage({ userId: 'hana' })).quotas.uploadsPerDay.used).toBe(DAILY_UPLOADS);
    expect((await cli(['usage', '--user', 'ann'], token)).code).toBe(EXIT_CODES.authRefused);

    // The upload command itself: refused by the quota, exit 3.
    const clip = makeTestClip(path.join(work, 'hana.mp4'), { width: 160, height: 90, seconds: 1 });
    const upload = await cli([clip, '--json', '--quiet', '--no-resume'], token);
    expect(upload.code).toBe(EXIT_CODES.authRefused);
    expect(JSON.parse(upload.stdout).error).toMatchObject({ code: 'QuotaExceeded', quota: { name: 'uploadsPerDay' } });
  },
  60_000,
);
