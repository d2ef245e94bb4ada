/**
 * `npx tsx scripts/bundle-report.ts [function...] [--modules]`: what each function's bundle holds, from
 * esbuild's metafile, built with the options of `npm run build` into a scratch folder (dist/ is left alone).
 * Bytes are those each input contributes to the minified output, grouped by package (this project's own
 * modules as "own", the migrations apart); `--modules` lists every input.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildBundle, bundleOptions, functionNames } from './build';

export interface BundleBreakdown {
  bytes: number;
  /** Bytes in the output by package ("own" for this project's modules, "migrations" for lib/migrations.ts). */
  groups: Record<string, number>;
  /** Bytes in the output by input file. */
  modules: Record<string, number>;
}

export function groupOf(input: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (pkg) return pkg[1]!;
  return input === 'lib/migrations.ts' ? 'migrations' : 'own';
}

/** Builds `name`'s bundle as `npm run build` does and returns what it holds. */
export async function bundleBreakdown(name: string): Promise<BundleBreakdown> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vub-bundle-report-'));
  try {
    const outfile = path.join(dir, 'index.js');
    const metafile = await buildBundle(bundleOptions(name, outfile));
    const output = Object.entries(metafile.outputs).find(([file]) => file.endsWith('index.js'))![1];
    const groups: Record<string, number> = {};
    const modules: Record<string, number> = {};
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      modules[input] = bytesInOutput;
      groups[groupOf(input)] = (groups[groupOf(input)] ?? 0) + bytesInOutput;
    }
    return { bytes: output.bytes, groups, modules };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const largestFirst = (record: Record<string, number>) => Object.entries(record).sort((a, b) => b[1] - a[1]);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const names = args.filter((arg) => !arg.startsWith('--'));
  for (const name of names.length > 0 ? names : functionNames()) {
    const breakdown = await bundleBreakdown(name);
    console.log(`${name} ${kib(breakdown.bytes)}`);
    for (const [group, bytes] of largestFirst(breakdown.groups)) console.log(`  ${group.padEnd(40)} ${kib(bytes).padStart(10)}`);
    if (args.includes('--modules')) {
      for (const [input, bytes] of largestFirst(breakdown.modules))
        console.log(`    ${input.padEnd(72)} ${kib(bytes).padStart(10)}`);
    }
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
