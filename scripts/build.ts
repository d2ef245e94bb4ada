/**
 * `npm run build`: one esbuild bundle per function, `dist/<function>/index.js` exporting `main_handler`,
 * targeting SCF's Node 18. `npm run package` (`--zip`) also writes `dist/<function>.zip` holding just that
 * file, byte-for-byte reproducible. `--sourcemap` adds source maps (left out by default).
 */
import {
  copyFileSync,
  createWriteStream,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { type BuildOptions, build, type Metafile, type Plugin, transform } from 'esbuild';
import { ZipFile } from 'yazl';
import { MIGRATIONS } from '#lib/migrations';
import { openApiJson } from '#lib/openapi';
import { compactSql } from './compact-sql';

const root = path.resolve(__dirname, '..');
const functionsDir = path.join(root, 'functions');
const distDir = path.join(root, 'dist');
const args = new Set(process.argv.slice(2));

/** Loaded at run time only where they exist: PGlite is local-only (deployments use DATABASE_URL). */
export const EXTERNAL = ['@electric-sql/pglite', 'pg-native'];

/**
 * What the VOD SDK requires, replaced by small shims backed by the platform (scripts/bundle-shims/):
 * node-fetch by Node's own fetch, and the multipart and proxy modules it never needs here by a stub that
 * fails loudly. Together they were over half of the vod-events and cleanup bundles.
 */
const SHIMS = {
  'node-fetch': path.join(root, 'scripts', 'bundle-shims', 'node-fetch.cjs'),
  'form-data': path.join(root, 'scripts', 'bundle-shims', 'unsupported.cjs'),
  'https-proxy-agent': path.join(root, 'scripts', 'bundle-shims', 'unsupported.cjs'),
};
/**
 * Parts of pg that the functions never use, replaced in the bundles by small shims
 * (scripts/bundle-shims/, each saying what it leaves out) by which module requires what. The connection
 * string (DATABASE_URL, its sslmode and certificate options), TLS and SCRAM-SHA-256 stay pg's own.
 * - `./native`: pg's libpq client (8 KiB; the functions use the JavaScript client);
 * - `pgpass`: reading ~/.pgpass (and split2, 4 KiB) for a connection without a password;
 * - `pg-types`: the binary-format result parsers (and pg-int8, 3 KiB); every result is in text format;
 * - `./cert-signatures`: SCRAM-SHA-256-PLUS channel binding (2 KiB), only with `enableChannelBinding`.
 */
const PG_SHIMS: Array<{ from: RegExp; request: string; shim: string }> = [
  { from: /[\\/]node_modules[\\/]pg[\\/]lib$/, request: './native', shim: 'pg-native-client.cjs' },
  { from: /[\\/]node_modules[\\/]pg[\\/]lib$/, request: 'pgpass', shim: 'pgpass.cjs' },
  { from: /[\\/]node_modules[\\/]pg[\\/]lib$/, request: 'pg-types', shim: 'pg-types.cjs' },
  { from: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]crypto$/, request: './cert-signatures', shim: 'pg-cert-signatures.cjs' },
];
const pgShims: Plugin = {
  name: 'pg-shims',
  setup(build) {
    build.onResolve({ filter: /^(\.\/native|pgpass|pg-types|\.\/cert-signatures)$/ }, (args) => {
      const entry = PG_SHIMS.find((shim) => shim.request === args.path && shim.from.test(args.resolveDir));
      return entry ? { path: path.join(root, 'scripts', 'bundle-shims', entry.shim) } : undefined;
    });
  },
};
/**
 * The functions validate with zod/mini (tree-shakable), but some modules still build schemas with the full
 * zod. A bundle holding both gets zod/mini resolved to the full zod, which has every function the mini
 * style calls (`z.pipe`, `z.optional`, checks such as `z.minLength`): one copy of zod per bundle.
 */
const miniAsFullZod: Plugin = {
  name: 'zod-mini-as-full',
  setup(build) {
    build.onResolve({ filter: /^zod\/mini$/ }, (args) =>
      build.resolve('zod', { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer }),
    );
  },
};
/**
 * The bundles are minified without esbuild's `keepNames` (10 KiB of the upload-signature bundle, every
 * function and class of every package renamed through a helper). Names that are read at run time are
 * written out instead: this project's error classes and cleanup steps name themselves, and jose's errors,
 * which take their name from their class (`this.name = this.constructor.name`), keep their class names
 * by this plugin, which keeps names in that one file: the log then says `JWKSTimeout`, not `e`.
 */
const joseErrorNames: Plugin = {
  name: 'jose-error-names',
  setup(build) {
    build.onLoad(
      { filter: /[\\/]node_modules[\\/]jose[\\/]dist[\\/]node[\\/](esm|cjs)[\\/]util[\\/]errors\.js$/ },
      async (args) => {
        const source = readFileSync(args.path, 'utf8');
        const format = args.path.includes(`${path.sep}esm${path.sep}`) ? 'esm' : 'cjs';
        const { code } = await transform(source, { loader: 'js', format, keepNames: true, target: 'node18' });
        return { contents: code, loader: 'js' };
      },
    );
  },
};
/**
 * The migrations' SQL without its comments and indentation (scripts/compact-sql.ts): about a third of
 * their text, in every bundle (each function applies pending migrations when it opens the database).
 * Each `sql` template literal of lib/migrations.ts is replaced by its compacted text; the build fails if
 * they are not exactly the texts MIGRATIONS holds, in order (a literal the pattern missed, or one with
 * an interpolation or an escape).
 */
const compactMigrations: Plugin = {
  name: 'compact-migrations',
  setup(build) {
    build.onLoad({ filter: /[\\/]lib[\\/]migrations\.ts$/ }, (args) => {
      if (realpathSync(args.path) !== realpathSync(path.join(root, 'lib', 'migrations.ts'))) return undefined;
      const source = readFileSync(args.path, 'utf8');
      let index = 0;
      const contents = source.replace(/\bsql: `([^`]*)`/g, (_match, text: string) => {
        const migration = MIGRATIONS[index++];
        if (text.includes('\\') || text.includes('${') || migration?.sql !== text) {
          throw new Error(`lib/migrations.ts: sql literal ${index} is not migration ${migration?.version}'s plain text`);
        }
        return `sql: ${JSON.stringify(compactSql(text))}`;
      });
      if (index !== MIGRATIONS.length)
        throw new Error(`lib/migrations.ts: ${index} sql literals for ${MIGRATIONS.length} migrations`);
      return { contents, loader: 'ts' };
    });
  },
};
const holdsBothZods = (inputs: string[]) =>
  inputs.some((file) => file.includes('node_modules/zod/v4/classic/')) &&
  inputs.some((file) => file.includes('node_modules/zod/v4/mini/'));
const FIXED_MTIME = new Date('2020-01-01T00:00:00Z');

export function functionNames(): string[] {
  return readdirSync(functionsDir)
    .filter((name) => statSync(path.join(functionsDir, name, 'index.ts'), { throwIfNoEntry: false })?.isFile())
    .sort();
}

/** The esbuild options of one function's bundle (also what scripts/bundle-report.ts measures). */
export function bundleOptions(name: string, outfile: string, sourcemap = false) {
  return {
    entryPoints: [path.join(functionsDir, name, 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    minify: true,
    sourcemap: sourcemap ? 'linked' : false,
    external: EXTERNAL,
    alias: SHIMS,
    plugins: [pgShims, joseErrorNames, compactMigrations],
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  } satisfies BuildOptions;
}

/** Builds one function's bundle, with zod/mini resolved to the full zod where the bundle holds both. */
export async function buildBundle(options: ReturnType<typeof bundleOptions>): Promise<Metafile> {
  const { metafile } = await build(options);
  if (!holdsBothZods(Object.keys(metafile.inputs))) return metafile;
  return (await build({ ...options, plugins: [...options.plugins, miniAsFullZod] })).metafile;
}

async function bundle(name: string, sourcemap: boolean): Promise<string> {
  const outfile = path.join(distDir, name, 'index.js');
  // Written beside, then renamed over: a process loading the bundle meanwhile never sees half a file.
  const staging = path.join(distDir, name, `.staging-${process.pid}`, 'index.js');
  await buildBundle(bundleOptions(name, staging, sourcemap));
  rmSync(`${outfile}.map`, { force: true });
  if (sourcemap) renameSync(`${staging}.map`, `${outfile}.map`);
  renameSync(staging, outfile);
  rmSync(path.dirname(staging), { recursive: true, force: true });
  return outfile;
}

function zip(name: string, files: string[]): Promise<string> {
  const target = path.join(distDir, `${name}.zip`);
  const archive = new ZipFile();
  for (const file of files) {
    archive.addBuffer(readFileSync(file), path.basename(file), { mtime: FIXED_MTIME, mode: 0o100644 });
  }
  archive.end();
  return new Promise((resolve, reject) => {
    archive.outputStream
      .pipe(createWriteStream(target))
      .on('close', () => resolve(target))
      .on('error', reject);
  });
}

/**
 * The local pages (served by the local gateway; never deployed): the demo page at `/`, and the demo
 * admin's review queue.
 */
const WEB_PAGES = [
  { label: 'web page', script: 'app', html: 'index.html' },
  { label: 'review page', script: 'review', html: 'review.html' },
];

async function buildWebPage(): Promise<void> {
  const out = path.join(distDir, 'web');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const page of WEB_PAGES) {
    await build({
      entryPoints: [path.join(root, 'web', `${page.script}.ts`)],
      outfile: path.join(out, `${page.script}.js`),
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2020',
      minify: true,
      legalComments: 'none',
      logLevel: 'warning',
    });
    copyFileSync(path.join(root, 'web', page.html), path.join(out, page.html));
    const kib = (statSync(path.join(out, `${page.script}.js`)).size / 1024).toFixed(1);
    console.log(`${page.label.padEnd(18)} dist/web/${page.script}.js ${kib} KiB`);
  }
}

/** docs/openapi.json, from the zod schemas the functions validate with (lib/openapi.ts). */
export function writeOpenApi(file = path.join(root, 'docs', 'openapi.json')): void {
  const text = openApiJson();
  if (readFileSync(file, { encoding: 'utf8', flag: 'a+' }) !== text) writeFileSync(file, text);
  console.log(`${'openapi'.padEnd(18)} ${path.relative(root, file)}`);
}

async function main(): Promise<void> {
  mkdirSync(distDir, { recursive: true });
  const sourcemap = args.has('--sourcemap');
  for (const name of functionNames()) {
    const outfile = await bundle(name, sourcemap);
    const files = sourcemap ? [outfile, `${outfile}.map`] : [outfile];
    let line = `${name.padEnd(18)} ${path.relative(root, outfile)} ${(statSync(outfile).size / 1024).toFixed(1)} KiB`;
    if (args.has('--zip')) {
      const archive = await zip(name, files);
      line += `  ${path.relative(root, archive)} ${(statSync(archive).size / 1024).toFixed(1)} KiB`;
    }
    console.log(line);
  }
  if (!args.has('--zip')) {
    await buildWebPage();
    writeOpenApi();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
