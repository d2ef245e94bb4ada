/**
 * `npm run demo`: starts the local stack (free ports, data under DEMO_DATA_DIR, default .data/demo),
 * generates a short clip with ffmpeg, uploads it as a demo user through the upload client, waits for
 * processing and prints each stage with its timing and the resulting URLs. Exits 0 only when the video
 * reached READY.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { makeTestClip } from '../scripts/test-clip';
import { VodUploader, type StageEvent } from '../client/node.ts';
import { startStack } from './stack';

async function main(): Promise<number> {
  const root = path.resolve(__dirname, '..');
  const dataDir = path.resolve(root, process.env.DEMO_DATA_DIR || '.data/demo');
  mkdirSync(dataDir, { recursive: true });
  const started = Date.now();
  const stamp = () => `${((Date.now() - started) / 1000).toFixed(2).padStart(6)} s`;
  const say = (line: string) => console.log(`${stamp()}  ${line}`);

  const clip = path.join(dataDir, 'demo-clip.mp4');
  makeTestClip(clip, { width: 640, height: 360, seconds: 6 });
  say(`generated ${path.relative(root, clip)} (6 s, 640x360, H.264/AAC) with ffmpeg`);

  const stack = await startStack({
    dataDir,
    port: Number(process.env.PORT || 0),
    emulatorPort: Number(process.env.EMULATOR_PORT || 0),
    timers: false,
    log: () => undefined,
    env: {
      PIPELINE_TRANSCODE_DEFINITIONS: '100010,100020',
      PIPELINE_WATERMARK_DEFINITION: '501',
      PIPELINE_SNAPSHOT_OFFSETS: '1s,50%',
      PIPELINE_GIF_DEFINITION: '20000',
    },
  });
  say(`local stack up: API ${stack.apiUrl}, VOD emulator ${stack.emulator.url}`);
  try {
    const uploader = new VodUploader({
      apiBaseUrl: stack.apiUrl,
      token: await stack.demoToken('demo'),
      vodApiUrl: stack.emulator.url,
      cosDomain: stack.emulator.cosDomain,
      stateDir: path.join(dataDir, 'client'),
    });
    const labels: Record<StageEvent['stage'], string> = {
      signature: 'upload signature issued',
      apply: 'ApplyUploadUGC: temporary COS credentials',
      upload: 'uploaded to COS',
      commit: 'CommitUploadUGC',
      processing: 'processing',
      done: 'done',
    };
    const result = await uploader.upload(clip, {
      onStage: (event) =>
        say(`${labels[event.stage]}${event.fileId ? ` (fileId ${event.fileId})` : ''}${event.status ? `: ${event.status}` : ''}`),
      waitForReady: { timeoutMs: 5 * 60_000, intervalMs: 300 },
    });
    const view = result.upload;
    say(`status ${result.status} (upload ${result.uploadId})`);
    if (result.status !== 'READY' || !view) return 1;
    console.log('\nresults');
    for (const r of view.renditions ?? [])
      console.log(`  rendition ${r.definition} ${r.width}x${r.height} (watermarked)  ${r.url}`);
    if (view.cover) console.log(`  cover       ${view.cover.url}`);
    for (const s of view.snapshots ?? []) console.log(`  snapshot    ${s.url}`);
    for (const url of view.sprite?.imageUrls ?? []) console.log(`  sprite      ${url}`);
    if (view.sprite?.webVttUrl) console.log(`  sprite VTT  ${view.sprite.webVttUrl}`);
    for (const g of view.animatedGraphics ?? []) console.log(`  GIF         ${g.url}`);
    console.log(
      `\ntimings: signature ${result.timings.signatureMs} ms, apply ${result.timings.applyMs} ms, upload ${result.timings.uploadMs} ms, commit ${result.timings.commitMs} ms, processing ${result.timings.processingMs ?? '-'} ms, total ${result.timings.totalMs} ms`,
    );
    return 0;
  } finally {
    await stack.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
