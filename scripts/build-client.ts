/**
 * `npm run build:client` (also part of `npm run build`): the files of the `@vod-upload/client` package in
 * client/dist/ — `index.mjs` and `index.cjs` (Node, ESM and CommonJS), `browser.mjs` (ESM for an app's
 * bundler), `cli.cjs` (the `vod-upload` executable, plain `node`) and `types/` (declarations by tsc).
 * The client and the contract's constants are bundled; the COS SDKs stay imports, as the package's
 * dependencies. Readable output (no minify): an app's bundler minifies, and stack traces stay useful.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build, type BuildOptions } from 'esbuild';

const root = path.resolve(__dirname, '..');
const clientDir = path.join(root, 'client');
const distDir = path.join(clientDir, 'dist');
const typesDir = path.join(distDir, 'types');

/** What the built files may import besides Node's builtins: the package's own dependencies. */
function clientDependencies(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(clientDir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  return Object.keys(manifest.dependencies ?? {});
}

/** The declarations as tsc writes them keep the source's specifiers: `./x.ts` and `#contract`. */
function rewriteDeclarationImports(file: string): void {
  const contract = path.join(typesDir, 'client', 'contract.js');
  const text = readFileSync(file, 'utf8').replace(
    /(\bfrom\s+|\bimport\(\s*)(['"])([^'"]+)\2/g,
    (_, lead: string, quote: string, spec: string) => {
      let target = spec;
      if (spec === '#contract') {
        target = path.relative(path.dirname(file), contract).split(path.sep).join('/');
        if (!target.startsWith('.')) target = `./${target}`;
      } else if (spec.startsWith('.') && spec.endsWith('.ts')) {
        target = `${spec.slice(0, -3)}.js`;
      }
      return `${lead}${quote}${target}${quote}`;
    },
  );
  writeFileSync(file, text);
}

function declarationFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? declarationFiles(full) : entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function emitDeclarations(): void {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', path.join(clientDir, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (run.status !== 0) throw new Error(`tsc (client declarations) failed with status ${run.status}`);
  for (const file of declarationFiles(typesDir)) rewriteDeclarationImports(file);
}

async function main(): Promise<void> {
  rmSync(distDir, { recursive: true, force: true });
  const common: BuildOptions = {
    absWorkingDir: root,
    bundle: true,
    external: clientDependencies(),
    legalComments: 'none',
    logLevel: 'warning',
  };
  const node: BuildOptions = { ...common, platform: 'node', target: 'node20' };
  const outputs: Array<[string, BuildOptions]> = [
    ['index.mjs', { ...node, entryPoints: [path.join(clientDir, 'index.ts')], format: 'esm' }],
    ['index.cjs', { ...node, entryPoints: [path.join(clientDir, 'index.ts')], format: 'cjs' }],
    [
      'browser.mjs',
      { ...common, entryPoints: [path.join(clientDir, 'browser.ts')], platform: 'browser', target: 'es2020', format: 'esm' },
    ],
    // The entry's `#!/usr/bin/env node` line is kept by esbuild.
    ['cli.cjs', { ...node, entryPoints: [path.join(clientDir, 'cli', 'vod-upload.ts')], format: 'cjs' }],
  ];
  await Promise.all(outputs.map(([name, options]) => build({ ...options, outfile: path.join(distDir, name) })));
  chmodSync(path.join(distDir, 'cli.cjs'), 0o755);
  emitDeclarations();
  for (const [name] of outputs) {
    console.log(
      `${`client ${name}`.padEnd(18)} client/dist/${name} ${(statSync(path.join(distDir, name)).size / 1024).toFixed(1)} KiB`,
    );
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
