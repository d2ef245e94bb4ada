/**
 * The event state machine suites' shared set-up (test/functions/handle-vod-event*.test.ts): one database
 * per test file, emptied before each test, a config with media limits and extra pipeline steps, and VOD's
 * ProcessMedia played by a recorder that keeps VOD's documented contract (a TaskId per call, a repeated
 * SessionId refused).
 */
import { randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '#lib/config';
import { handleVodEvent, type VodEventDeps } from '#lib/handle-vod-event';
import { createLogger } from '#lib/log';
import { insertIssuedUpload } from '#lib/upload-store';
import type { VodCalls } from '#lib/vod-api';
import { parseVodEvent } from '#lib/vod-event';
import { openTestDatabase, truncateAll, type TestDatabase } from './db';
import { functionEnv } from './env';

export class RecordingVod {
  calls: Array<Record<string, unknown>> = [];
  private sessions = new Set<string>();
  failuresLeft = 0;
  failureCode = 'InternalError';
  /** What DescribeMediaInfos answers (the confirmation of a pushed NewFileUpload). */
  media = new Map<string, Record<string, unknown>>();
  ProcessMedia = async (request: Record<string, unknown>) => {
    this.calls.push(request);
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw Object.assign(new Error('refused'), { code: this.failureCode });
    }
    const sessionId = String(request.SessionId);
    if (this.sessions.has(sessionId))
      throw Object.assign(new Error('duplicate SessionId'), { code: 'InvalidParameterValue.SessionId' });
    this.sessions.add(sessionId);
    return { TaskId: `1500000001-procedurev2-${this.sessions.size}`, RequestId: randomUUID() };
  };
  /** The code DescribeTaskDetail answers for any task (none is known here). */
  unknownTaskCode = 'InvalidParameterValue.TaskId';
  DescribeTaskDetail = async () => {
    throw Object.assign(new Error('no such task'), { code: this.unknownTaskCode });
  };
  DescribeMediaInfos = async (request: { FileIds: string[] }) => ({
    MediaInfoSet: request.FileIds.filter((id) => this.media.has(id)).map((id) => ({ FileId: id, ...this.media.get(id) })),
    NotExistFileIdSet: request.FileIds.filter((id) => !this.media.has(id)),
  });
}

export let testDb: TestDatabase;
export let config: Config;
export let vod: RecordingVod;
const log = createLogger({}, 'error');
export const deps = (): VodEventDeps => ({ config, db: testDb.db, vod: vod as unknown as VodCalls, log });
export const handle = (body: unknown) => handleVodEvent(deps(), parseVodEvent(body), { confirmWithVod: false });

export async function issued(): Promise<string> {
  const uploadId = randomUUID();
  await insertIssuedUpload(testDb.db, { uploadId, userId: 'alice', signatureExpiresAt: new Date(Date.now() + 3600_000) });
  return uploadId;
}

/** Registers the suite's hooks: the database and config for the file, a fresh recorder and empty tables before each test. */
export function useVodEventDatabase(): void {
  beforeAll(async () => {
    testDb = await openTestDatabase();
    config = loadConfig(
      functionEnv({
        MEDIA_MAX_DURATION_SECONDS: '600',
        MEDIA_MIN_HEIGHT: '240',
        PIPELINE_WATERMARK_DEFINITION: '501',
        PIPELINE_GIF_DEFINITION: '20000',
      }),
    );
  }, 60_000);
  afterAll(() => testDb.close());
  beforeEach(async () => {
    vod = new RecordingVod();
    await truncateAll(testDb.db);
  });
}
