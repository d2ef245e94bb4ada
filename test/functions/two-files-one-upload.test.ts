/**
 * One upload signature used twice (a client's retry uploads the file again): with UPLOAD_PROCEDURE both
 * files start a procedure, and every event of both may arrive in any order, more than once. Whatever
 * the order, the upload keeps the first file that claimed it and that file's outputs only; the other
 * file's events are recorded against it as an orphan (for the cleanup to delete) and change nothing.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { loadConfig, type Config } from '#lib/config';
import { handleVodEvent, type VodEventDeps } from '#lib/handle-vod-event';
import { createLogger } from '#lib/log';
import { getUpload, insertIssuedUpload } from '#lib/upload-store';
import type { VodCalls } from '#lib/vod-api';
import { parseVodEvent } from '#lib/vod-event';
import { openTestDatabase, truncateAll, type TestDatabase } from '../support/db';
import { functionEnv } from '../support/env';
import { fileDeletedBody, newFileUploadBody, procedureBody } from '../support/events';

let testDb: TestDatabase;
let config: Config;
/** With a procedure nothing here calls VOD; a call would be a bug. */
const noVod = new Proxy({}, { get: () => () => Promise.reject(new Error('VOD must not be called')) }) as VodCalls;
const deps = (): VodEventDeps => ({ config, db: testDb.db, vod: noVod, log: createLogger({}, 'error') });
const handle = (body: unknown) => handleVodEvent(deps(), parseVodEvent(body), { confirmWithVod: false });

beforeAll(async () => {
  testDb = await openTestDatabase();
  config = loadConfig(functionEnv({ UPLOAD_PROCEDURE: 'LongVideoPreset' }));
}, 60_000);
afterAll(() => testDb.close());
beforeEach(() => truncateAll(testDb.db));

type File = 'A' | 'B';
type Step = { kind: 'upload' | 'progress' | 'finish'; file: File; withContext: boolean };

const step = fc.record({
  kind: fc.constantFrom('upload' as const, 'progress' as const, 'finish' as const),
  file: fc.constantFrom('A' as const, 'B' as const),
  withContext: fc.boolean(),
});

let run = 0;

test("any order and repetition of two files' events: the first-claimed file and its outputs only", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 10 }), async (steps) => {
      run++;
      const uploadId = randomUUID();
      await insertIssuedUpload(testDb.db, {
        uploadId,
        userId: 'alice',
        procedure: 'LongVideoPreset',
        signatureExpiresAt: new Date(Date.now() + 3600_000),
      });
      const fileId = { A: `52858907846${String(run).padStart(4, '0')}0001`, B: `52858907846${String(run).padStart(4, '0')}0002` };
      const taskId = { A: `1500000001-Procedure-a${run}t0`, B: `1500000001-Procedure-b${run}t0` };
      const body = (s: Step) =>
        s.kind === 'upload'
          ? newFileUploadBody({ fileId: fileId[s.file], uploadId, procedureTaskId: taskId[s.file] })
          : procedureBody({
              taskId: taskId[s.file],
              fileId: fileId[s.file],
              uploadId: s.withContext ? uploadId : undefined,
              status: s.kind === 'finish' ? 'FINISH' : 'PROCESSING',
            });

      // The first event that can reach the upload claims it for its file: a NewFileUpload (its
      // SourceContext names the upload), or a procedure event whose SessionContext does.
      // Without a context, a procedure event finds the upload only by its file or task, once claimed;
      // one that found nothing is recorded as such, and its repetitions are duplicates.
      let claimed: File | undefined;
      let finished = false;
      const seen = new Set<string>();
      for (const s of steps) {
        const key = `${s.kind}:${s.file}`;
        const reaches = !seen.has(key) && (s.kind === 'upload' || s.withContext || claimed !== undefined);
        seen.add(key);
        if (claimed === undefined && reaches) claimed = s.file;
        if (s.kind === 'finish' && reaches && s.file === claimed) finished = true;
        await handle(body(s));
      }
      const upload = (await getUpload(testDb.db, uploadId))!;
      if (claimed === undefined) {
        expect(upload).toMatchObject({ status: 'ISSUED', fileId: null });
        return;
      }
      const other: File = claimed === 'A' ? 'B' : 'A';
      // The other file's deletion (the cleanup deleting the orphan) does not touch the upload either.
      await handle(fileDeletedBody([fileId[other]]));
      const after = (await getUpload(testDb.db, uploadId))!;
      expect(after).toEqual({ ...upload, updatedAt: after.updatedAt });

      expect(upload.fileId).toBe(fileId[claimed]);
      expect(upload.taskId).toBe(taskId[claimed]);
      const text = JSON.stringify({ media: upload.media, result: upload.result });
      expect(text).not.toContain(fileId[other]);
      if (finished) {
        expect(upload.status).toBe('READY');
        for (const rendition of upload.result!.renditions!) expect(rendition.url).toContain(`/${fileId[claimed]}/`);
      } else {
        expect(upload.status).toBe('PROCESSING');
      }

      // Every orphan record is about the other file, and the other file is recorded once it was seen.
      const { rows } = await testDb.db.query<{ file_id: string }>(
        `SELECT file_id FROM vod_events WHERE outcome = 'extra-file' AND upload_id = $1`,
        [uploadId],
      );
      for (const row of rows) expect(row.file_id).toBe(fileId[other]);
      if (steps.some((s) => s.file === other && s.kind === 'upload')) expect(rows.length).toBeGreaterThan(0);
    }),
    { numRuns: 60 },
  );
}, 120_000);

test("the issue's order: B's FINISH after A claimed the upload leaves A with A's renditions", async () => {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, {
    uploadId,
    userId: 'alice',
    procedure: 'LongVideoPreset',
    signatureExpiresAt: new Date(Date.now() + 3600_000),
  });
  const [a, b] = ['5285890784700000001', '5285890784700000002'];
  await handle(newFileUploadBody({ fileId: a, uploadId, procedureTaskId: 'proc-a' }));
  await handle(newFileUploadBody({ fileId: b, uploadId, procedureTaskId: 'proc-b' }));
  expect((await handle(procedureBody({ taskId: 'proc-b', fileId: b, uploadId, status: 'FINISH' }))).outcome).toBe('extra-file');
  expect((await handle(procedureBody({ taskId: 'proc-a', fileId: a, uploadId, status: 'FINISH' }))).outcome).toBe('READY');
  const upload = (await getUpload(testDb.db, uploadId))!;
  expect(upload).toMatchObject({ status: 'READY', fileId: a, taskId: 'proc-a' });
  expect(upload.result!.renditions![0]!.url).toContain(`/${a}/`);
});
