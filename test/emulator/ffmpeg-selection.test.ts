/**
 * Which ffmpeg the emulator runs (local/emulator/ffmpeg.ts): a system ffmpeg/ffprobe of version 5+
 * when there is one, else the packaged builds; `EMULATOR_FFMPEG` forces either. Both paths describe an
 * HLS rendition alike: the system ffprobe reads the MPEG-TS the packaged one crashes on, the packaged
 * path reads `ffmpeg -i`. The system half needs Debian's `ffmpeg` (`.ci/run` installs it).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  describeFfmpegTools,
  probeStreams,
  readStreamsWithFfmpeg,
  selectFfmpegTools,
  type FfmpegCandidates,
} from '../../local/emulator/ffmpeg.ts';
import { startTestEmulator, tempDir, uploadViaApi, vodClient } from './helpers';

const PACKAGED = { ffmpeg: '/pkg/ffmpeg', ffprobe: '/pkg/ffprobe' };
const candidates = (system: FfmpegCandidates['system']): FfmpegCandidates => ({ system, packaged: () => PACKAGED });
const versions = (table: Record<string, string | undefined>) => (binary: string) => table[binary];
const DEBIAN = {
  '/usr/bin/ffmpeg': '5.1.9-0+deb12u1',
  '/usr/bin/ffprobe': '5.1.9-0+deb12u1',
  '/pkg/ffmpeg': 'N-47683-g0e8eb07980-static',
  '/pkg/ffprobe': 'N-66595-gc2b38619c0-static',
};
const SYSTEM = { ffmpeg: '/usr/bin/ffmpeg', ffprobe: '/usr/bin/ffprobe' };

describe('selectFfmpegTools', () => {
  test('a system ffmpeg and ffprobe of version 5 or newer are preferred, and read MPEG-TS', () => {
    const tools = selectFfmpegTools({}, candidates(SYSTEM), versions(DEBIAN));
    expect(tools).toMatchObject({ kind: 'system', ...SYSTEM, version: '5.1.9-0+deb12u1', probesMpegTs: true });
    expect(describeFfmpegTools(tools)).toMatch(/^ffmpeg: system \/usr\/bin\/ffmpeg \(5\.1\.9.*HLS described with ffprobe$/);
    expect(
      selectFfmpegTools({}, candidates(SYSTEM), versions({ '/usr/bin/ffmpeg': 'n7.0', '/usr/bin/ffprobe': '7.1' })).kind,
    ).toBe('system');
  });

  test.each([
    ['no system ffmpeg', {}, DEBIAN, /no ffmpeg on PATH/],
    ['no system ffprobe', { ffmpeg: '/usr/bin/ffmpeg' }, DEBIAN, /no ffprobe on PATH/],
    ['a system ffmpeg 4', SYSTEM, { ...DEBIAN, '/usr/bin/ffmpeg': '4.3.6-0+deb11u1' }, /older than 5/],
    ['a system ffprobe that does not run', SYSTEM, { ...DEBIAN, '/usr/bin/ffprobe': undefined }, /unreadable/],
    ['a git snapshot (no version number)', SYSTEM, { ...DEBIAN, '/usr/bin/ffmpeg': 'N-12345-gabc' }, /older than 5/],
  ])('%s: the packaged builds, saying why', (_name, system, table, why) => {
    const tools = selectFfmpegTools({}, candidates(system), versions(table));
    expect(tools).toMatchObject({ kind: 'packaged', ...PACKAGED, probesMpegTs: false });
    expect(tools.reason).toMatch(why);
    expect(describeFfmpegTools(tools)).toMatch(/HLS described with ffmpeg -i \(this ffprobe crashes on MPEG-TS\)$/);
  });

  test('EMULATOR_FFMPEG forces one: packaged even beside a good system ffmpeg; system or an error naming the package', () => {
    expect(selectFfmpegTools({ EMULATOR_FFMPEG: 'packaged' }, candidates(SYSTEM), versions(DEBIAN))).toMatchObject({
      kind: 'packaged',
      reason: 'EMULATOR_FFMPEG=packaged',
    });
    expect(selectFfmpegTools({ EMULATOR_FFMPEG: 'system' }, candidates(SYSTEM), versions(DEBIAN))).toMatchObject({
      kind: 'system',
      reason: 'EMULATOR_FFMPEG=system',
    });
    expect(() => selectFfmpegTools({ EMULATOR_FFMPEG: 'system' }, candidates({}), versions(DEBIAN))).toThrow(
      /EMULATOR_FFMPEG=system, but no ffmpeg on PATH.*apt-get install ffmpeg/,
    );
    expect(() => selectFfmpegTools({ EMULATOR_FFMPEG: 'newest' }, candidates(SYSTEM), versions(DEBIAN))).toThrow(
      /auto, system or packaged/,
    );
  });

  test('FFMPEG_PATH / FFPROBE_PATH name the binaries outright; MPEG-TS is probed only with an ffprobe 5+', () => {
    expect(selectFfmpegTools({ FFMPEG_PATH: '/opt/ffmpeg' }, candidates(SYSTEM), versions(DEBIAN))).toMatchObject({
      kind: 'explicit',
      ffmpeg: '/opt/ffmpeg',
      ffprobe: '/usr/bin/ffprobe',
      probesMpegTs: true,
    });
    expect(selectFfmpegTools({ FFPROBE_PATH: '/pkg/ffprobe' }, candidates(SYSTEM), versions(DEBIAN))).toMatchObject({
      kind: 'explicit',
      ffmpeg: '/usr/bin/ffmpeg',
      probesMpegTs: false,
    });
  });
});

const real = selectFfmpegTools({ ...process.env, EMULATOR_FFMPEG: 'auto', FFMPEG_PATH: '', FFPROBE_PATH: '' });
const packaged = selectFfmpegTools({ ...process.env, EMULATOR_FFMPEG: 'packaged', FFMPEG_PATH: '', FFPROBE_PATH: '' });
const withSystem = real.kind === 'system' ? describe : describe.skip;
if (real.kind !== 'system') console.warn(`skipping the system-ffmpeg half: ${real.reason} (Debian: apt-get install ffmpeg)`);

withSystem('the real binaries', () => {
  const work = tempDir('vod-emulator-ffmpeg-');
  let playlist: string;
  let segment: string;
  beforeAll(() => {
    playlist = path.join(work, 'v.m3u8');
    execFileSync(real.ffmpeg, [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x180:rate=25',
      '-f',
      'lavfi',
      '-i',
      'sine=sample_rate=44100',
      '-t',
      '2',
      '-c:v',
      'libx264',
      '-c:a',
      'aac',
      '-f',
      'hls',
      '-hls_time',
      '1',
      '-hls_list_size',
      '0',
      playlist,
    ]);
    segment = path.join(work, fs.readdirSync(work).find((f) => f.endsWith('.ts'))!);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('the system ffprobe reads HLS and MPEG-TS as ffmpeg -i does; the packaged ffprobe crashes on it', async () => {
    const expected = { video: { codec: 'h264', width: 320, height: 180, fps: 25 }, audio: { codec: 'aac', sampleRate: 44100 } };
    for (const file of [playlist, segment]) {
      expect(await probeStreams(real.ffprobe, file)).toMatchObject(expected);
      expect(await readStreamsWithFfmpeg(packaged.ffmpeg, file)).toMatchObject(expected);
      expect(await readStreamsWithFfmpeg(real.ffmpeg, file)).toMatchObject(expected);
    }
    await expect(probeStreams(packaged.ffprobe, segment)).rejects.toThrow();
  });

  test.each([
    ['system', {}],
    ['packaged', { ffmpegPath: packaged.ffmpeg, ffprobePath: packaged.ffprobe }],
  ])(
    'an HLS transcode in the emulator with the %s binaries is described in full',
    async (_kind, binaries) => {
      const t = await startTestEmulator(binaries);
      try {
        const client = vodClient(t.emulator);
        const fileId = await uploadViaApi(t, client);
        const { TaskId } = await client.ProcessMedia({
          FileId: fileId,
          MediaProcessTask: { TranscodeTaskSet: [{ Definition: 100210 }] },
        });
        await t.emulator.processing.idle();
        const detail = await client.DescribeTaskDetail({ TaskId: TaskId! });
        const output = detail.ProcedureTask!.MediaProcessResultSet![0]!.TranscodeTask!.Output!;
        expect(output).toMatchObject({ Container: 'hls', VideoStreamSet: [{ Codec: 'h264' }] });
        expect(output.Width).toBeGreaterThan(0);
        expect(output.VideoStreamSet![0]!.Fps).toBeGreaterThan(0);
      } finally {
        await t.close();
      }
    },
    60_000,
  );
});
