/**
 * The load test (bench/load.ts) at a bounded size: concurrent signatures across many users and a burst of
 * duplicated VOD callbacks. `npm run load` runs the full sizes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setLogSink } from '#lib/log';
import { loadProblems, runLoad, startLoadStack } from '../../bench/load';

test('concurrent signatures and duplicated callbacks: no 5xx, one row per success, exact limits, each event once', async () => {
  const previous = setLogSink(() => undefined);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vub-load-'));
  const { stack, db } = await startLoadStack(dataDir);
  try {
    const report = await runLoad({ stack, db, scale: Number(process.env.LOAD_SCALE ?? 0.1) });
    const { signatures, callbacks } = report;
    expect(loadProblems(report)).toEqual([]);
    expect(signatures.serverErrors).toBe(0);
    expect(signatures.otherErrors).toBe(0);
    expect(signatures.ok + signatures.limited).toBe(signatures.requests);
    expect(signatures.rows).toBe(signatures.ok);
    expect(signatures.usersOverLimit).toBe(0);
    // Every user asked more often than the limit: each got exactly the limit.
    expect(signatures.ok).toBe(signatures.users * signatures.limit);

    expect(callbacks.serverErrors + callbacks.otherErrors).toBe(0);
    expect(callbacks.ok).toBe(callbacks.requests);
    expect(callbacks.applied).toBe(callbacks.distinct);
    expect(callbacks.uploadsUploaded).toBe(callbacks.distinct);
    // Exactly once, as the timeline saw it: one move to UPLOADED per upload, whatever the duplicates.
    expect(callbacks.uploadedTransitions).toBe(callbacks.distinct);
  } finally {
    setLogSink(previous);
    if (process.env.DATABASE_URL) await db.close();
    await stack.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 180_000);
