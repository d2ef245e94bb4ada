/**
 * CLI: `tsx local/emulator/main.ts` starts the VOD emulator from environment variables and prints its URL.
 *
 *   EMULATOR_PORT (8081), EMULATOR_HOST (127.0.0.1), EMULATOR_DATA_DIR (.data/emulator),
 *   EMULATOR_PUBLIC_URL (the emulator URL), EMULATOR_TLS_KEY / EMULATOR_TLS_CERT (PEM files → HTTPS),
 *   VOD_SECRET_ID / VOD_SECRET_KEY (the accepted API key; local defaults below),
 *   VOD_APP_ID (1500000001), VOD_SUB_APP_ID (comma-separated sub-application ids), VOD_REGION (ap-guangzhou),
 *   VOD_STORAGE_APP_ID (1250000001), EMULATOR_LOG=1 to log deliveries and errors,
 *   EMULATOR_PROCESSING_CONCURRENCY (1), EMULATOR_HOTLINK_KEY (unset: no hotlink protection),
 *   EMULATOR_FONT_FILE (text watermarks), EMULATOR_REVIEW_RULES (review verdicts, README), FFMPEG_PATH / FFPROBE_PATH.
 */
import { readTls, startEmulator } from './index.ts';
import { describeFfmpegTools, ffmpegTools } from './ffmpeg.ts';

const LOCAL_SECRET_ID = 'AKIDlocalemulator0000000000000000000';
const LOCAL_SECRET_KEY = 'localemulatorsecretkey0000000000';

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return n;
}

async function main(): Promise<void> {
  const keyFile = process.env.EMULATOR_TLS_KEY;
  const certFile = process.env.EMULATOR_TLS_CERT;
  const emulator = await startEmulator({
    port: intEnv('EMULATOR_PORT', 8081),
    host: process.env.EMULATOR_HOST || '127.0.0.1',
    dataDir: process.env.EMULATOR_DATA_DIR || '.data/emulator',
    appId: intEnv('VOD_APP_ID', 1500000001),
    subAppIds: (process.env.VOD_SUB_APP_ID ?? '').split(',').filter(Boolean).map(Number),
    storageAppId: intEnv('VOD_STORAGE_APP_ID', 1250000001),
    region: process.env.VOD_REGION || 'ap-guangzhou',
    credentials: [
      { secretId: process.env.VOD_SECRET_ID || LOCAL_SECRET_ID, secretKey: process.env.VOD_SECRET_KEY || LOCAL_SECRET_KEY },
    ],
    publicUrl: process.env.EMULATOR_PUBLIC_URL || undefined,
    tls: keyFile && certFile ? readTls(keyFile, certFile) : undefined,
    processing: { concurrency: Math.max(1, intEnv('EMULATOR_PROCESSING_CONCURRENCY', 1)) },
    hotlinkKey: process.env.EMULATOR_HOTLINK_KEY || undefined,
    playKey: process.env.EMULATOR_PLAY_KEY || undefined,
    fontFile: process.env.EMULATOR_FONT_FILE || undefined,
    log: process.env.EMULATOR_LOG === '1' ? (line) => console.error(`[vod-emulator] ${line}`) : undefined,
  });
  console.log(`VOD emulator listening on ${emulator.url}`);
  console.log(
    `  API 3.0 endpoint: ${emulator.apiEndpoint}   COS Domain: ${emulator.cosDomain}   bucket: ${emulator.bucketFor()}`,
  );
  console.log(`  ${describeFfmpegTools(ffmpegTools())}`);
  const stop = () => {
    void emulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
