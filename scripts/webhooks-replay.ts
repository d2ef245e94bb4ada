/**
 * `npm run webhooks:replay -- --since <ISO time> [--upload <id>] [--type upload.ready]`: re-sends the
 * webhooks already delivered since then (same `webhook-id`, fresh signature) to APP_WEBHOOK_URL. Reads
 * the deployment's variables like the functions (DATABASE_URL, APP_WEBHOOK_URL, APP_WEBHOOK_SECRETS, …).
 * Prints one line per webhook; exits 1 when one was not acknowledged, 2 on bad arguments.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '#lib/config';
import { openDatabase } from '#lib/db';
import { createLogger } from '#lib/log';
import { UPLOAD_ID_PATTERN } from '#lib/upload-context';
import { WEBHOOK_EVENT_TYPES } from '#lib/webhooks';
import { replayWebhooks } from '#lib/webhooks/replay';

const USAGE = 'usage: npm run webhooks:replay -- --since <ISO time> [--upload <uploadId>] [--type upload.ready]';

export async function main(
  argv: string[],
  env: Record<string, string | undefined>,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  let values: { since?: string; upload?: string; type?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { since: { type: 'string' }, upload: { type: 'string' }, type: { type: 'string' } },
    }));
  } catch (error) {
    err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const since = values.since ? new Date(values.since) : undefined;
  if (!since || Number.isNaN(since.getTime())) return fail(err, '--since must be an ISO 8601 time');
  if (values.upload && !UPLOAD_ID_PATTERN.test(values.upload)) return fail(err, '--upload must be an upload id');
  if (values.type && !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(values.type)) {
    return fail(err, `--type must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(env, {});
  } catch (error) {
    if (error instanceof ConfigError) return fail(err, error.message);
    throw error;
  }
  if (!config.webhooks) return fail(err, 'APP_WEBHOOK_URL is not set: there is nowhere to replay to');
  const db = await openDatabase(config.database);
  try {
    const log = createLogger({ fn: 'webhooks-replay' }, 'warn');
    const totals = await replayWebhooks(
      { config, db, log },
      { since, uploadId: values.upload?.toLowerCase(), eventType: values.type },
      (line) =>
        out(
          `${line.ok ? 'sent  ' : 'FAILED'} ${line.webhookId} ${line.eventType} ${line.status ?? '-'} ${line.ok ? '' : line.detail}`.trimEnd(),
        ),
    );
    out(`replayed ${totals.sent}, failed ${totals.failed}`);
    return totals.failed > 0 ? 1 : 0;
  } finally {
    await db.close();
  }
}

function fail(err: (line: string) => void, message: string): number {
  err(`${message}\n${USAGE}`);
  return 2;
}

if (process.argv[1]?.endsWith('webhooks-replay.ts')) {
  main(process.argv.slice(2), process.env, console.log, console.error).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error((error as Error).message);
      process.exit(1);
    },
  );
}
