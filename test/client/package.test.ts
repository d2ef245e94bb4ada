/**
 * The client as an installable package (`@vod-upload/client`, client/package.json): built, packed and
 * installed from the tarball into an empty folder (installed-package.ts says how, and how it stays
 * offline), then used there with nothing of the repo around: `npx vod-upload … --wait` and a six-line ES
 * module script against the local stack, the CommonJS entry, the types (tsc on an app's file), the browser
 * entry through a bundler. And what the built files import: the package's dependencies and Node's
 * builtins only, nothing of lib/, local/ or the dev dependencies.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { updateUpload } from '#lib/upload-store';
import { userToken } from '../support/jwt';
import { buildPackInstall, filesUnder, moduleSpecifiers, plainEnv, readManifest, ROOT } from './installed-package';
import type { InstalledPackage } from './installed-package';
import { makeFile, stackUsable, startClientStack } from './stack';
import type { ClientStack } from './stack';

const run = promisify(execFile);
const maybe = stackUsable ? test : test.skip;
const MIB = 1024 * 1024;
let pkg: InstalledPackage;
let stack: ClientStack | undefined;

beforeAll(async () => {
  pkg = await buildPackInstall();
  if (stackUsable) stack = await startClientStack();
}, 180_000);

afterAll(async () => {
  await stack?.close();
  pkg?.close();
});

const rootManifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

test('the tarball holds the built files, the README and the manifest; the dependencies are the lockfile versions', () => {
  expect(pkg.packedFiles.filter((f) => !f.startsWith('dist/') && f !== 'README.md' && f !== 'package.json')).toEqual([]);
  expect(pkg.packedFiles).toEqual(
    expect.arrayContaining([
      'dist/index.mjs',
      'dist/index.cjs',
      'dist/browser.mjs',
      'dist/cli.cjs',
      'dist/types/client/index.d.ts',
      'dist/types/client/browser.d.ts',
      'README.md',
    ]),
  );
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version: string }>;
  };
  const deps = readManifest().dependencies;
  expect(Object.keys(deps).sort()).toEqual(['cos-js-sdk-v5', 'cos-nodejs-sdk-v5']);
  for (const [name, version] of Object.entries(deps)) expect(version).toBe(lock.packages[`node_modules/${name}`]?.version);
  // Installed alone: none of the repo's other dev dependencies came along, and none resolves from there.
  const others = Object.keys(rootManifest.devDependencies).filter((dev) => !(dev in deps));
  expect(others).toEqual(expect.arrayContaining(['tsx', 'typescript', 'esbuild', 'jest']));
  for (const dev of others)
    expect({ dev, installed: fs.existsSync(path.join(pkg.dir, 'node_modules', dev)) }).toEqual({ dev, installed: false });
  expect(() => require.resolve('tsx', { paths: [pkg.dir] })).toThrow();
  expect(fs.readFileSync(path.join(pkg.packageDir, 'dist', 'cli.cjs'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
});

test('the built files import only the package dependencies and Node builtins: nothing of lib/, local/ or the dev dependencies', () => {
  const deps = Object.keys(pkg.manifest.dependencies);
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const dist = path.join(pkg.packageDir, 'dist');
  const code = filesUnder(dist).filter((f) => /\.(mjs|cjs|js)$/.test(f));
  expect(code.sort()).toEqual(['browser.mjs', 'cli.cjs', 'index.cjs', 'index.mjs']);
  for (const file of code) {
    const source = fs.readFileSync(path.join(dist, file), 'utf8');
    const specifiers = moduleSpecifiers(source);
    const allowed = (s: string) => deps.includes(s) || (file !== 'browser.mjs' && builtins.has(s));
    expect({ file, unexpected: specifiers.filter((s) => !allowed(s)) }).toEqual({ file, unexpected: [] });
    // esbuild names each bundled source in a `// path` comment: only the client and the contract.
    const sources = [...source.matchAll(/^\/\/ (\S+\.ts)$/gm)].map((m) => m[1]!);
    expect(sources.length).toBeGreaterThan(5);
    expect({ file, foreign: sources.filter((s) => !/^(client|contract)\//.test(s)) }).toEqual({ file, foreign: [] });
  }
  expect(moduleSpecifiers(fs.readFileSync(path.join(dist, 'index.mjs'), 'utf8'))).not.toContain('cos-js-sdk-v5');
  expect(moduleSpecifiers(fs.readFileSync(path.join(dist, 'browser.mjs'), 'utf8'))).toEqual(['cos-js-sdk-v5']);
  // Declarations: relative imports only, each to a declaration file in the package.
  for (const file of filesUnder(dist).filter((f) => f.endsWith('.d.ts'))) {
    for (const s of moduleSpecifiers(fs.readFileSync(path.join(dist, file), 'utf8'))) {
      expect({
        file,
        s,
        ok: s.startsWith('.') && fs.existsSync(path.join(dist, path.dirname(file), s.replace(/\.js$/, '.d.ts'))),
      }).toEqual({ file, s, ok: true });
    }
  }
});

test('the CommonJS and ES module entries offer the same names', async () => {
  const names = async (args: string[]) =>
    JSON.parse((await run(process.execPath, args, { cwd: pkg.dir, env: plainEnv() })).stdout) as string[];
  const cjs = await names(['-e', `console.log(JSON.stringify(Object.keys(require('@vod-upload/client')).sort()))`]);
  const esm = await names([
    '--input-type=module',
    '-e',
    `import * as c from '@vod-upload/client'; console.log(JSON.stringify(Object.keys(c).sort()))`,
  ]);
  expect(esm).toEqual(cjs);
  expect(cjs).toEqual(expect.arrayContaining(['VodUploader', 'uploadVideo', 'VodUploadError', 'EXIT_CODES', 'FileResumeStore']));
}, 30_000);

test('an app type-checks against the declarations (node16 and bundler resolution, CommonJS and ES module), backend answer types included', async () => {
  const app = `import { VodUploader, uploadVideo, type UploadResult, type UploadStatus, type UploadView, type VodUploadErrorKind } from '@vod-upload/client';
import { VodUploader as BrowserUploader, LocalStorageResumeStore } from '@vod-upload/client/browser';
export const status: UploadStatus = 'READY';
export const describe = (view: UploadView): string => \`\${view.uploadId} \${view.status} \${view.renditions.map((r) => r.url).join()}\`;
export const kind: VodUploadErrorKind = 'timeout';
export const node: Promise<UploadResult> = new VodUploader({ apiBaseUrl: 'https://api.example' }).upload('clip.mp4', { waitForReady: true });
export const once: Promise<UploadResult> = uploadVideo('clip.mp4', { apiBaseUrl: 'https://api.example', token: () => 'jwt' });
export const web = new BrowserUploader({ apiBaseUrl: '/', resumeStore: new LocalStorageResumeStore(localStorage) }).upload(new File([], 'a.mp4'));
// @ts-expect-error a path is not a browser file
new BrowserUploader({ apiBaseUrl: '/' }).upload('clip.mp4');
`;
  // Under node16 app.ts is CommonJS (the consumer's package.json has no "type") and app.mts an ES module.
  fs.writeFileSync(path.join(pkg.dir, 'app.ts'), app);
  fs.writeFileSync(path.join(pkg.dir, 'app.mts'), app);
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const resolution of [
    { module: 'node16', moduleResolution: 'node16' },
    { module: 'preserve', moduleResolution: 'bundler' },
  ]) {
    const config = {
      compilerOptions: {
        ...resolution,
        target: 'ES2022',
        lib: ['ES2023', 'DOM'],
        types: [],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      files: ['app.ts', 'app.mts'],
    };
    fs.writeFileSync(path.join(pkg.dir, 'tsconfig.json'), JSON.stringify(config));
    const checked = await run(process.execPath, [tsc, '-p', pkg.dir], { cwd: pkg.dir }).catch(
      (error: { stdout: string }) => error,
    );
    expect({ resolution: resolution.moduleResolution, output: checked.stdout.trim() }).toEqual({
      resolution: resolution.moduleResolution,
      output: '',
    });
  }
}, 60_000);

test('a bundler building an app for browsers takes the browser entry and cos-js-sdk-v5', async () => {
  fs.writeFileSync(
    path.join(pkg.dir, 'web-app.mjs'),
    `import { VodUploader } from '@vod-upload/client';\nwindow.uploader = new VodUploader({ apiBaseUrl: location.origin });\n`,
  );
  const out = await build({
    absWorkingDir: pkg.dir,
    entryPoints: ['web-app.mjs'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    metafile: true,
  });
  const inputs = Object.keys(out.metafile.inputs);
  expect(inputs).toEqual(expect.arrayContaining(['node_modules/@vod-upload/client/dist/browser.mjs']));
  expect(inputs.some((i) => i.startsWith('node_modules/cos-js-sdk-v5/'))).toBe(true);
  expect(inputs.some((i) => i.startsWith('node_modules/cos-nodejs-sdk-v5/') || i.endsWith('index.mjs'))).toBe(false);
}, 60_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runIn(dir: string, command: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: dir, env: plainEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function stackEnv(s: ClientStack, token: string): Record<string, string> {
  return {
    XDG_CONFIG_HOME: path.join(s.work, 'package-xdg'),
    VOD_UPLOAD_API: s.apiUrl,
    VOD_UPLOAD_VOD_API: s.vodApiUrl,
    VOD_UPLOAD_COS_DOMAIN: s.cosDomain,
    VOD_UPLOAD_TOKEN: token,
  };
}

maybe(
  '`npx vod-upload <file> --wait` from the installed package uploads and waits for READY',
  async () => {
    const s = stack!;
    const file = makeFile(s, 'package-cli.mp4', 3 * MIB + 5, 31);
    // Plays the VOD-events side: once the commit is done, the user's newest upload becomes READY.
    s.onRequestDone = (r) => {
      if (!r.url.includes('Action=CommitUploadUGC')) return;
      void s.testDb.db
        .query<{ upload_id: string }>('SELECT upload_id FROM uploads WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1', [
          'package-cli',
        ])
        .then(({ rows }) =>
          updateUpload(s.testDb.db, rows[0]!.upload_id, {
            status: 'READY',
            result: { renditions: [{ url: 'http://media.example/p/720.mp4', definition: 100020 }] },
          }),
        );
    };
    const cli = await runIn(
      pkg.dir,
      'npx',
      ['--no', 'vod-upload', file, '--wait', '--timeout', '20', '--json', '--chunk-size', '1'],
      stackEnv(s, await userToken('package-cli')),
    );
    s.onRequestDone = undefined;
    expect({ code: cli.code, stderr: cli.code === 0 ? '' : cli.stderr }).toEqual({ code: 0, stderr: '' });
    const out = JSON.parse(cli.stdout.trim()) as {
      ok: boolean;
      status: string;
      fileId: string;
      totalBytes: number;
      upload: { renditions: Array<{ url: string }> };
    };
    expect(out).toMatchObject({ ok: true, status: 'READY', totalBytes: 3 * MIB + 5 });
    expect(out.fileId).toMatch(/^\d+$/);
    expect(out.upload.renditions[0]!.url).toBe('http://media.example/p/720.mp4');
    expect(cli.stderr).toMatch(/processing\s+READY/);
  },
  60_000,
);

maybe(
  'a six-line ES module script importing the installed library uploads with plain node and exits by itself',
  async () => {
    const s = stack!;
    const file = makeFile(s, 'package-script.mp4', 2 * MIB, 32);
    fs.writeFileSync(
      path.join(pkg.dir, 'upload.mjs'),
      `import { uploadVideo } from '@vod-upload/client';
const env = process.env;
const options = { apiBaseUrl: env.VOD_UPLOAD_API, token: env.VOD_UPLOAD_TOKEN, vodApiUrl: env.VOD_UPLOAD_VOD_API, cosDomain: env.VOD_UPLOAD_COS_DOMAIN };
let last = 0;
const result = await uploadVideo(process.argv[2], { ...options, onProgress: (p) => (last = p.fraction) });
console.log(JSON.stringify({ fileId: result.fileId, status: result.status, last }));
`,
    );
    const started = Date.now();
    const script = await runIn(pkg.dir, process.execPath, ['upload.mjs', file], stackEnv(s, await userToken('package-script')));
    expect({ code: script.code, stderr: script.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(script.stdout)).toMatchObject({ fileId: expect.stringMatching(/^\d+$/), status: 'COMMITTED', last: 1 });
    expect(Date.now() - started).toBeLessThan(15_000);
  },
  40_000,
);
