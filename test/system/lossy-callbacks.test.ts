/**
 * VOD's PUSH callbacks are not reliable: here the emulator drops 30 % and duplicates 30 % of them. A batch
 * of uploads must still reach READY once the cleanup function has run, with no file processed twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeTestClip } from '../../scripts/test-clip';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { setLogSink } from '#lib/log';
import { MemoryResumeStore, VodUploader } from '../../client/node';
import { startStack } from '../../local/stack';

const UPLOADS = Number(process.env.LOSSY_UPLOADS ?? 50);
const work = mkdtempSync(path.join(tmpdir(), 'vub-lossy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

test(`${UPLOADS} uploads with 30 % of callbacks dropped and 30 % duplicated all end READY after cleanup, each processed once`, async () => {
  const previous = setLogSink(() => undefined);
  const clip = path.join(work, 'clip.mp4');
  makeTestClip(clip, { width: 160, height: 90, seconds: 1, fps: 10, audio: false });
  const stack = await startStack({
    dataDir: path.join(work, 'data'),
    port: 0,
    emulatorPort: 0,
    timers: false,
    log: () => undefined,
    env: {
      PIPELINE_TRANSCODE_DEFINITIONS: '100010',
      PIPELINE_SNAPSHOT_DEFINITION: '0',
      PIPELINE_COVER_DEFINITION: '0',
      PIPELINE_SPRITE_DEFINITION: '0',
      PIPELINE_ADAPTIVE_DEFINITION: '0',
      RATE_LIMIT_SIGNATURES: '1000',
      UPLOADED_RETRY_AFTER_SECONDS: '0',
      PROCESSING_DEADLINE_SECONDS: '1',
    },
  });
  try {
    stack.emulator.setFaults({ seed: 2026, push: { dropRate: 0.3, duplicateRate: 0.3 } });
    const token = await stack.demoToken('lossy');
    const client = new VodUploader({
      apiBaseUrl: stack.apiUrl,
      token,
      vodApiUrl: stack.emulator.url,
      cosDomain: stack.emulator.cosDomain,
      resumeStore: new MemoryResumeStore(),
      stateDir: path.join(work, 'client'),
    });
    const uploads: Array<{ uploadId: string; fileId: string }> = [];
    for (let i = 0; i < UPLOADS; i += 5) {
      uploads.push(...(await Promise.all(Array.from({ length: Math.min(5, UPLOADS - i) }, () => client.upload(clip)))));
    }
    const statusOf = async () => {
      const views = await Promise.all(
        uploads.map(
          async (u) =>
            (
              (await (
                await fetch(`${stack.apiUrl}/uploads/${u.uploadId}`, { headers: { authorization: `Bearer ${token}` } })
              ).json()) as { status: string }
            ).status,
        ),
      );
      return views;
    };
    // Let processing and the surviving callbacks settle, then run the cleanup as its timer would.
    const deadline = Date.now() + 120_000;
    let statuses = await statusOf();
    let runs = 0;
    const totals = { uploadsRecovered: 0, processingResolved: 0 };
    while (statuses.some((s) => s !== 'READY') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const summary = (await stack.gateway.invokeTimer('cleanup')) as typeof totals;
      totals.uploadsRecovered += summary.uploadsRecovered;
      totals.processingResolved += summary.processingResolved;
      runs++;
      statuses = await statusOf();
    }
    const counts: Record<string, number> = {};
    for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
    expect(counts).toEqual({ READY: UPLOADS });
    expect(runs).toBeGreaterThan(0);
    // Both repairs were needed: lost NewFileUpload (found with SearchMedia) and lost FINISH (DescribeTaskDetail).
    expect(totals.uploadsRecovered).toBeGreaterThan(0);
    expect(totals.processingResolved).toBeGreaterThan(0);

    const api = new vod.v20180717.Client({
      credential: { secretId: stack.secrets.secretId, secretKey: stack.secrets.secretKey },
      region: 'ap-guangzhou',
      profile: { httpProfile: { endpoint: stack.emulator.apiEndpoint, protocol: 'http://' } },
    });
    for (const upload of uploads) expect((await api.DescribeTasks({ FileId: upload.fileId })).TaskSet).toHaveLength(1);
  } finally {
    await stack.close();
    setLogSink(previous);
  }
}, 240_000);
