/**
 * Emulator processing overhead: a generated clip (default 30 s, 1280x720, 25 fps, with audio) through a
 * procedure (default `LongVideoPreset`, the backend's default pipeline) via ProcessMediaByProcedure,
 * timed from the call to FINISH; then the very ffmpeg commands the emulator ran, replayed one after the
 * other in a fresh folder; and the ratio of the two (the emulator's overhead: queueing, probing,
 * publishing, state writes).
 *
 * Runs alternate (emulator, direct, emulator, direct, …) and the best of each is reported, so load from
 * elsewhere on the machine affects both sides alike.
 *
 *   npx tsx bench/emulator-processing.ts [--seconds 30] [--height 720] [--procedure LongVideoPreset] [--runs 2] [--json]
 * (`--json`: one line of figures last, for `npm run bench`).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import COS from 'cos-nodejs-sdk-v5';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { ffmpegPath, runFfmpeg } from '../local/emulator/ffmpeg.ts';
import { startEmulator } from '../local/emulator/index.ts';

const SECRET_ID = 'AKIDbenchEmulator0000000000000000000';
const SECRET_KEY = 'benchEmulatorSecretKey0000000000';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const seconds = Number(arg('--seconds', '30'));
  const height = Number(arg('--height', '720'));
  const procedure = arg('--procedure', 'LongVideoPreset');
  const runs = Number(arg('--runs', '2'));
  const width = Math.round((height * 16) / 9 / 2) * 2;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vod-emulator-bench-processing-'));
  const clip = path.join(work, 'clip.mp4');
  const ffmpeg = ffmpegPath();
  execFileSync(ffmpeg, [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=25:duration=${seconds}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=44100:duration=${seconds}`,
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-b:v',
    '3000k',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    clip,
  ]);

  const emulator = await startEmulator({
    dataDir: path.join(work, 'emulator'),
    credentials: [{ secretId: SECRET_ID, secretKey: SECRET_KEY }],
  });
  let commands: { args: string[]; ms: number }[] = [];
  emulator.processing.on('command', (c) => commands.push({ args: c.args, ms: c.ms }));
  const emulatorRuns: number[] = [];
  const directRuns: number[] = [];
  let ffmpegInEmulator = 0;
  const overheads: number[] = [];
  try {
    const client = new vod.v20180717.Client({
      credential: { secretId: SECRET_ID, secretKey: SECRET_KEY },
      region: 'ap-guangzhou',
      profile: { httpProfile: { endpoint: emulator.apiEndpoint, protocol: 'http://' } },
    });
    const applied = await client.ApplyUpload({ MediaType: 'mp4', MediaName: 'bench' });
    const cos = new COS({
      SecretId: applied.TempCertificate!.SecretId,
      SecretKey: applied.TempCertificate!.SecretKey,
      SecurityToken: applied.TempCertificate!.Token,
      Domain: emulator.cosDomain,
      Protocol: 'http:',
      ConfCwd: work,
    });
    await new Promise((resolve, reject) =>
      cos.putObject(
        {
          Bucket: applied.StorageBucket!,
          Region: applied.StorageRegion!,
          Key: applied.MediaStoragePath!.slice(1),
          Body: fs.createReadStream(clip),
        },
        (err, data) => (err ? reject(err) : resolve(data)),
      ),
    );
    const { FileId } = await client.CommitUpload({ VodSessionKey: applied.VodSessionKey! });
    for (let run = 0; run < runs; run++) {
      commands = [];
      const started = performance.now();
      const finished = new Promise<void>((resolve) => emulator.processing.once('taskFinished', () => resolve()));
      const { TaskId } = await client.ProcessMediaByProcedure({ FileId: FileId!, ProcedureName: procedure });
      await finished;
      emulatorRuns.push((performance.now() - started) / 1000);
      const detail = await client.DescribeTaskDetail({ TaskId: TaskId! });
      const failed = detail.ProcedureTask!.MediaProcessResultSet!.filter((r) => JSON.stringify(r).includes('"Status":"FAIL"'));
      if (failed.length > 0) throw new Error(`subtasks failed: ${JSON.stringify(failed)}`);
      ffmpegInEmulator = commands.reduce((sum, c) => sum + c.ms, 0) / 1000;
      overheads.push(emulatorRuns[run]! - ffmpegInEmulator);

      // The same commands, run directly, one at a time, each in an empty folder (outputs are relative to it).
      const replayStarted = performance.now();
      for (const [i, command] of commands.entries()) {
        const dir = path.join(work, 'replay', `${run}-${i}`);
        fs.mkdirSync(dir, { recursive: true });
        await runFfmpeg(command.args, { binary: ffmpeg, cwd: dir });
      }
      directRuns.push((performance.now() - replayStarted) / 1000);
      fs.rmSync(path.join(work, 'replay'), { recursive: true, force: true });
    }
  } finally {
    await emulator.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const emulatorSeconds = Math.min(...emulatorRuns);
  const directSeconds = Math.min(...directRuns);
  console.log(
    `Procedure ${procedure} on a ${seconds} s ${width}x${height} clip (${commands.length} ffmpeg commands), ${os.cpus().length} CPUs, best of ${runs}:`,
  );
  console.log(
    `  runs: emulator ${emulatorRuns.map((s) => s.toFixed(2)).join(', ')} s; direct ${directRuns.map((s) => s.toFixed(2)).join(', ')} s`,
  );
  console.log(
    `  emulator, ProcessMediaByProcedure → FINISH  ${emulatorSeconds.toFixed(2)} s  (of which ffmpeg ${ffmpegInEmulator.toFixed(2)} s in the last run)`,
  );
  console.log(`  the same ffmpeg commands run directly       ${directSeconds.toFixed(2)} s`);
  console.log(`  ratio emulator / direct                     ${(emulatorSeconds / directSeconds).toFixed(3)}`);
  // Less sensitive to other load on the machine: the emulator's time outside its own ffmpeg commands.
  console.log(
    `  emulator time outside ffmpeg, per run       ${overheads.map((s) => s.toFixed(2)).join(', ')} s (${overheads.map((o, i) => ((100 * o) / emulatorRuns[i]!).toFixed(1)).join(', ')} %)`,
  );
  if (process.argv.includes('--json')) {
    const figures = { procedure, seconds, width, height, commands: commands.length, runs, emulatorRuns, directRuns, overheads };
    console.log(JSON.stringify({ ...figures, emulatorSeconds, directSeconds, ratio: emulatorSeconds / directSeconds }));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
