/**
 * What the function bundles weigh and hold (README "Performance"): the budgets below are the figures
 * measured when the bundles were last slimmed, with a little room, so that a change that makes one grow
 * is seen and its cost said. `npm test` builds dist/ before jest runs.
 */
import { existsSync, statSync } from 'node:fs';
import { MIGRATIONS } from '#lib/migrations';
import { bundleBreakdown } from '../../scripts/bundle-report';
import { functionNames } from '../../scripts/build';
import { distBundle } from '../support/bundle';

const KIB = 1024;
/** KiB. upload-signature measured 174.3; vod-events 338.3 and cleanup 348.3, for a target of < 400. */
const BUDGETS: Record<string, number> = { 'upload-signature': 180, 'vod-events': 400, cleanup: 400 };
const DEFAULT_BUDGET = 400;

test('every bundle is within its budget', () => {
  const names = functionNames();
  expect(names).toEqual(expect.arrayContaining(Object.keys(BUDGETS)));
  const over = names.flatMap((name) => {
    if (!existsSync(distBundle(name))) throw new Error(`${distBundle(name)} is missing: run \`npm run build\` first`);
    const kib = statSync(distBundle(name)).size / KIB;
    const budget = BUDGETS[name] ?? DEFAULT_BUDGET;
    return kib < budget ? [] : [`${name}: ${kib.toFixed(1)} KiB, budget ${budget} KiB`];
  });
  expect(over).toEqual([]);
});

test('the upload-signature bundle holds none of the parts of pg its shims replace, and the migrations compacted', async () => {
  const { groups, modules } = await bundleBreakdown('upload-signature');
  for (const left of ['pgpass', 'split2', 'pg-int8']) expect(groups).not.toHaveProperty(left);
  const from = Object.keys(modules);
  expect(from.filter((input) => /node_modules\/pg\/lib\/(native\/|crypto\/cert-signatures)/.test(input))).toEqual([]);
  expect(from.filter((input) => input.includes('node_modules/pg-types/lib/binaryParsers'))).toEqual([]);
  // Its JavaScript around the SQL is under 1 KiB; the source SQL alone is over 16 KiB.
  const sourceSql = MIGRATIONS.reduce((n, m) => n + m.sql.length, 0);
  expect(groups.migrations).toBeLessThan(sourceSql * 0.75);
}, 60_000);
