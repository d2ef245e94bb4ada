/**
 * The `@vod-upload/client` package as an app developer gets it: client/ built (scripts/build-client.ts),
 * packed with `npm pack`, and the tarball installed with npm into a new folder under the OS temp dir,
 * outside the repo, so nothing there can resolve the repo's node_modules (no dev dependency, no tsx).
 *
 * The install is offline when it can be: `npm install <tarball> --offline` works when npm's cache holds
 * the dependencies' tarballs (the repo's own install put them there: same versions as package-lock.json)
 * and their registry metadata (cached by any earlier install that resolved them by name). A machine whose
 * cache has only the tarballs (e.g. after `npm ci`) fails that with ENOTCACHED; then the install runs
 * again with `--prefer-offline`: metadata from the registry, tarballs from the cache. That run caches the
 * metadata, so later runs are offline.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = path.join(__dirname, '..', '..');
export const CLIENT_DIR = path.join(ROOT, 'client');

export interface Manifest {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
}

export interface InstalledPackage {
  /** The consumer folder (holds node_modules/ with the package and its dependencies only). */
  dir: string;
  /** The package folder inside it: node_modules/@vod-upload/client. */
  packageDir: string;
  /** Paths in the tarball, as `npm pack` listed them. */
  packedFiles: string[];
  manifest: Manifest;
  /** `offline`, or `prefer-offline` when the offline install found the cache incomplete. */
  installMode: 'offline' | 'prefer-offline';
  close(): void;
}

/** The environment without the `npm_*` variables `npm run` sets, so npm acts as when run by hand. */
export function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  return { ...env, ...extra };
}

export function readManifest(dir = CLIENT_DIR): Manifest {
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
}

export async function buildPackInstall(): Promise<InstalledPackage> {
  await run(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/build-client.ts'], { cwd: ROOT });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vod-client-package-'));
  // Build just done above; --ignore-scripts skips the manifest's prepack (a second build).
  const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
    cwd: CLIENT_DIR,
    env: plainEnv(),
  });
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = path.join(dir, info!.filename);
  // A package.json of its own, so npm installs here and not into a project found further up.
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ name: 'consumer-app', private: true }, null, 2)}\n`);
  const install = (mode: string) =>
    run('npm', ['install', tarball, mode, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: dir,
      env: plainEnv(),
    });
  let installMode: InstalledPackage['installMode'] = 'offline';
  try {
    await install('--offline');
  } catch (error) {
    if (!/ENOTCACHED/.test(String((error as { stderr?: string }).stderr ?? error))) throw error;
    installMode = 'prefer-offline';
    console.warn('client package test: npm cache lacks registry metadata for the dependencies; installing with --prefer-offline');
    await install('--prefer-offline');
  }
  const packageDir = path.join(dir, 'node_modules', '@vod-upload', 'client');
  return {
    dir,
    packageDir,
    packedFiles: info!.files.map((f) => f.path),
    manifest: readManifest(packageDir),
    installMode,
    close: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The module specifiers a built file loads: `require("x")`, `import … from "x"`, `export … from "x"`,
 * `import("x")`, `import "x"` (esbuild's output spells them so, with double quotes; declarations by tsc
 * with single quotes).
 */
export function moduleSpecifiers(source: string): string[] {
  const found = new Set<string>();
  const patterns = [
    /\brequire\(\s*(['"])([^'"]+)\1\s*\)/g,
    /\bfrom\s*(['"])([^'"]+)\1/g,
    /\bimport\(\s*(['"])([^'"]+)\1\s*\)/g,
    /^\s*import\s*(['"])([^'"]+)\1/gm,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.add(match[2]!);
  return [...found].sort();
}

/** Every file under `dir`, relative to it, with `/` separators. */
export function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}
