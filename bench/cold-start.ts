/**
 * Each bundle's cold start (fresh process: require + first invocation) vs the same handler run unbundled
 * (transpiled files loading node_modules), medians of 5, and the bundle's size.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { functionNames } from '../scripts/build';

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

interface ColdStartTimes {
  requireMs: number;
  firstInvokeMs: number;
  totalMs: number;
}

export interface ColdStart {
  sizeKiB: number;
  bundled: ColdStartTimes;
  unbundled: ColdStartTimes;
  /** Bundled total / unbundled total. */
  ratio: number;
}

/** Fresh process: require the bundle, then one invocation (an unauthenticated request: no database). */
function coldStart(bundle: string, env: Record<string, string>): Promise<{ requireMs: number; firstInvokeMs: number }> {
  const script = `
    const t0 = process.hrtime.bigint();
    const { main_handler } = require(${JSON.stringify(bundle)});
    const t1 = process.hrtime.bigint();
    Promise.resolve(main_handler({ httpMethod: 'POST', path: '/', headers: {}, body: '{}', queryString: {} }, {})).then(() => {
      const t2 = process.hrtime.bigint();
      console.log(JSON.stringify({ requireMs: Number(t1 - t0) / 1e6, firstInvokeMs: Number(t2 - t1) / 1e6 }));
      process.exit(0);
    });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`exit ${code}`)),
    );
  });
}

/**
 * The baseline for cold starts: the same handlers as plain transpiled JavaScript (esbuild, no bundling),
 * one file per module, loading their packages from node_modules as an unbundled deployment would.
 */
async function buildUnbundled(): Promise<{ dir: string }> {
  const dir = mkdtempSync(path.join(root, '.unbundled-'));
  const sources = ['contract', 'lib', 'functions'].flatMap((folder) =>
    readdirSync(path.join(root, folder), { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.ts'))
      .map((file) => path.join(folder, file)),
  );
  // `#contract` and `#lib/x` (package.json imports) → the transpiled file (`x.js`, or `x/index.js` for a folder).
  const target = (specifier: string) => {
    const module = specifier === '#contract' ? 'contract' : `lib/${specifier.slice('#lib/'.length)}`;
    return existsSync(path.join(root, module, 'index.ts')) ? `${module}/index.js` : `${module}.js`;
  };
  for (const source of sources) {
    const out = path.join(dir, source.replace(/\.ts$/, '.js'));
    const result = await esbuild.transform(readFileSync(path.join(root, source), 'utf8'), {
      loader: 'ts',
      format: 'cjs',
      target: 'node18',
      sourcefile: source,
    });
    const from = path.dirname(path.join(dir, source));
    const relative = (file: string) => {
      const rel = path.relative(from, path.join(dir, file));
      return rel.startsWith('.') ? rel : `./${rel}`;
    };
    mkdirSync(path.dirname(out), { recursive: true });
    const code = result.code
      .replace(/require\("(#contract|#lib\/[\w/-]+)"\)/g, (_m, specifier: string) => `require("${relative(target(specifier))}")`)
      .replace(/require\("(\.\.?\/[\w./-]+)\.ts"\)/g, (_m, file: string) => `require("${file}.js")`);
    writeFileSync(out, code);
  }
  // Resolved from the project's node_modules (the folder sits inside the project).
  return { dir };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Every function's bundle in dist/ against its unbundled baseline, by function name. */
export async function measureColdStarts(env: Record<string, string>): Promise<Record<string, ColdStart>> {
  const unbundled = await buildUnbundled();
  const bundles: Record<string, ColdStart> = {};
  for (const name of functionNames()) {
    const file = path.join(dist, name, 'index.js');
    const measure = async (target: string) => {
      const runs = [];
      for (let i = 0; i < 5; i++) runs.push(await coldStart(target, env));
      return {
        requireMs: median(runs.map((r) => r.requireMs)),
        firstInvokeMs: median(runs.map((r) => r.firstInvokeMs)),
        totalMs: median(runs.map((r) => r.requireMs + r.firstInvokeMs)),
      };
    };
    const bundled = await measure(file);
    const plain = await measure(path.join(unbundled.dir, 'functions', name, 'index.js'));
    const sizeKiB = statSync(file).size / 1024;
    bundles[name] = { sizeKiB, bundled, unbundled: plain, ratio: bundled.totalMs / plain.totalMs };
  }
  rmSync(unbundled.dir, { recursive: true, force: true });
  return bundles;
}
