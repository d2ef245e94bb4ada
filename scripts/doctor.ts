/**
 * `vod-upload doctor <uploadId> [--fix]` (operators): with the deployment's variables in the environment
 * (as the functions have them: VOD_SECRET_ID/KEY, VOD_SUB_APP_ID, DATABASE_URL, APP_WEBHOOK_*), prints the
 * upload's timeline, what VOD says now about its media and task (DescribeMediaInfos, DescribeTaskDetail),
 * its webhook deliveries, and a one-sentence diagnosis (lib/upload-doctor.ts). Read-only; `--fix` runs the
 * reconcile step for this upload alone. Exit codes: 0, 1 when the upload is not found, 2 on bad arguments.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '#lib/config';
import { openDatabase } from '#lib/db';
import { createLogger } from '#lib/log';
import { UPLOAD_ID_PATTERN } from '#lib/upload-context';
import { type DoctorFacts, diagnose, gatherFacts, repairUpload } from '#lib/upload-doctor';
import { createVodClient, vodApi } from '#lib/vod-api';

const USAGE = 'usage: vod-upload doctor <uploadId> [--fix]';

export function report(facts: DoctorFacts): string[] {
  const lines: string[] = [];
  const { upload } = facts;
  lines.push(`upload ${facts.uploadId}: ${upload ? `${upload.status}, user ${upload.userId}` : 'not found'}`);
  if (upload)
    lines.push(`  file ${upload.fileId ?? '-'}, task ${upload.taskId ?? '-'}, created ${upload.createdAt.toISOString()}`);
  lines.push('timeline:');
  for (const entry of facts.timeline) {
    const cause = entry.cause
      ? [entry.cause.source, entry.cause.detail, entry.cause.via, entry.cause.taskId, entry.cause.requestId]
          .filter(Boolean)
          .join(' ')
      : '-';
    lines.push(`  #${entry.seq} ${entry.at.toISOString()} ${entry.from ?? '(new)'} -> ${entry.to}  (${cause})`);
  }
  const media =
    facts.mediaInVod === undefined
      ? 'not asked (no file yet)'
      : typeof facts.mediaInVod === 'boolean'
        ? facts.mediaInVod
          ? 'has the file'
          : 'does not have the file'
        : `could not be asked: ${facts.mediaInVod.error}`;
  lines.push(`VOD now: media ${media}`);
  if (facts.task)
    lines.push(
      'taskId' in facts.task
        ? `  task ${facts.task.taskId}: ${facts.task.status}${facts.task.finishedAt ? `, finished ${facts.task.finishedAt}` : ''}`
        : `  task could not be asked: ${facts.task.error}`,
    );
  const review = upload?.review;
  if (review) {
    const verdict = [review.suggestion, review.label, review.failure].filter(Boolean).join(' ');
    const decided = review.decidedBy ? `, decided by ${review.decidedBy} at ${review.decidedAt ?? '?'}` : '';
    lines.push(`review: ${review.state}, task ${review.taskId ?? '-'}${verdict ? ` (${verdict})` : ''}${decided}`);
    if (facts.reviewTask)
      lines.push(
        'taskId' in facts.reviewTask
          ? `  review task ${facts.reviewTask.taskId}: ${facts.reviewTask.status}${facts.reviewTask.finishedAt ? `, finished ${facts.reviewTask.finishedAt}` : ''}`
          : `  review task could not be asked: ${facts.reviewTask.error}`,
      );
  }
  if (upload?.status === 'BLOCKED')
    lines.push(`  media distribution ${upload.distributionForbidden ? 'forbidden' : 'NOT yet forbidden'}`);
  lines.push('webhooks:');
  for (const w of facts.webhooks) {
    const when = w.deliveredAt ? `delivered ${w.deliveredAt.toISOString()}` : `next ${w.nextAttemptAt.toISOString()}`;
    lines.push(
      `  ${w.webhookId} ${w.eventType} ${w.state}, ${w.attempts} attempt(s), ${when}${w.lastError ? `, last: ${w.lastError.slice(0, 120)}` : ''}`,
    );
  }
  if (facts.webhooks.length === 0) lines.push('  none');
  lines.push(`diagnosis: ${diagnose(facts)}`);
  return lines;
}

export async function main(
  argv: string[],
  env: Record<string, string | undefined>,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  let parsed: { values: { fix?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { fix: { type: 'boolean' } }, allowPositionals: true });
  } catch (error) {
    err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const uploadId = parsed.positionals[0];
  if (!uploadId || parsed.positionals.length > 1 || !UPLOAD_ID_PATTERN.test(uploadId)) {
    err(`doctor needs one upload id\n${USAGE}`);
    return 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(env, {});
  } catch (error) {
    if (error instanceof ConfigError) {
      err(error.message);
      return 2;
    }
    throw error;
  }
  const db = await openDatabase(config.database);
  try {
    const vod = createVodClient(config, { timeoutSeconds: 10 });
    const api = vodApi(vod, { subAppId: config.vod.subAppId, deadline: Date.now() + 30_000 });
    const log = createLogger({ fn: 'doctor' }, 'warn');
    let facts = await gatherFacts({ config, db, vodApi: api }, uploadId.toLowerCase());
    for (const line of report(facts)) out(line);
    if (!facts.upload) return 1;
    if (parsed.values.fix) {
      out(`fix: ${await repairUpload({ config, db, vod, log, deadline: Date.now() + 30_000 }, facts)}`);
      facts = await gatherFacts({ config, db, vodApi: api }, uploadId.toLowerCase());
      out(`now: ${facts.upload?.status}; ${diagnose(facts)}`);
    }
    return 0;
  } finally {
    await db.close();
  }
}

if (process.argv[1]?.endsWith('doctor.ts')) {
  main(process.argv.slice(2), process.env, console.log, console.error).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error((error as Error).message);
      process.exit(1);
    },
  );
}
