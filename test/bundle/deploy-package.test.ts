/**
 * Deployment artifacts, built the way an operator builds them, offline and without any credentials:
 * `npm run package` (one zip per function) and `serverless package` (serverless@3 + serverless-tencent-scf,
 * with the telemetry preload). Checks that every function under functions/ is declared and shipped, that
 * each handler path exists in the zip and exports `main_handler`, and that nothing else is shipped.
 *
 * Runs in a scratch copy of the project (node_modules linked), so it neither races other tests that read
 * dist/ nor leaves .serverless/ behind.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { functionEnv } from '../support/env';

const repo = path.resolve(__dirname, '..', '..');
const SERVICE = 'vod-upload-backend';
/** Settings that only make sense on a developer machine, never in a deployed function. */
const LOCAL_ONLY = new Set(['VOD_API_ENDPOINT', 'VOD_API_PROTOCOL', 'DATA_DIR']);
/** Secrets that only the functions needing them may receive. */
const SECRET_OWNERS: Record<string, string[]> = {
  CALLBACK_TOKENS: ['vod-events'],
  CALLBACK_SIGN_KEYS: ['vod-events'],
  HOTLINK_KEY: ['media-status', 'list-uploads', 'review-upload'],
  PLAYBACK_KEY: ['media-status'],
  // Webhooks (README "Webhooks"): only the functions that send them.
  APP_WEBHOOK_URL: ['vod-events', 'cleanup', 'delete-upload', 'review-upload'],
  APP_WEBHOOK_SECRETS: ['vod-events', 'cleanup', 'delete-upload', 'review-upload'],
  APP_WEBHOOK_MAX_AGE_HOURS: ['vod-events', 'cleanup', 'delete-upload', 'review-upload'],
  APP_WEBHOOK_TIMEOUT_MS: ['vod-events', 'cleanup', 'delete-upload', 'review-upload'],
};

let project: string;
let home: string;
const sizes: Array<{ artifact: string; entry: string; bytes: number; compressed: number }> = [];

interface ZipEntry {
  name: string;
  size: number;
  compressedSize: number;
  data: () => Buffer;
}

/** Just enough of the zip format to list and extract entries (stored or deflated). */
function readZip(file: string): ZipEntry[] {
  const buf = readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file} is not a zip file`);
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error(`${file}: bad central directory`);
    const method = buf.readUInt16LE(at + 10);
    const compressedSize = buf.readUInt32LE(at + 20);
    const size = buf.readUInt32LE(at + 24);
    const nameLength = buf.readUInt16LE(at + 28);
    const extraLength = buf.readUInt16LE(at + 30);
    const commentLength = buf.readUInt16LE(at + 32);
    const localOffset = buf.readUInt32LE(at + 42);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    entries.push({
      name,
      size,
      compressedSize,
      data: () => {
        const start = localOffset + 30 + buf.readUInt16LE(localOffset + 26) + buf.readUInt16LE(localOffset + 28);
        const raw = buf.subarray(start, start + compressedSize);
        if (method === 0) return Buffer.from(raw);
        if (method === 8) return inflateRawSync(raw);
        throw new Error(`${file}: ${name} uses compression method ${method}`);
      },
    });
  }
  return entries;
}

function run(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  cwd = project,
): Promise<{ stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: clean, maxBuffer: 32 * 1024 * 1024, timeout: 60_000 }, (error, stdout, stderr) =>
      error
        ? reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`))
        : resolve({ stdout, stderr }),
    );
  });
}

/** A minimal environment: no credentials, no network proxies, a HOME without ~/.tencent. */
const baseEnv = () => ({ PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', CI: '1', npm_config_update_notifier: 'false' });

/** Placeholder values for the variables serverless.yml requires; nothing is deployed. */
const deployEnv = () => ({
  ...baseEnv(),
  VOD_SECRET_ID: 'AKIDplaceholderForPackagingOnly0000',
  VOD_SECRET_KEY: 'placeholder-secret-key',
  VOD_SUB_APP_ID: '1500000001',
  DATABASE_URL: 'postgres://user@db.invalid:5432/vod',
  CALLBACK_TOKENS: 'placeholder-token-0123456789',
  NODE_OPTIONS: '--require ./scripts/sls-offline.cjs',
});

const serverless = (args: string[]) =>
  run(process.execPath, [path.join(project, 'node_modules/serverless/bin/serverless.js'), ...args], deployEnv());
const npmPackage = (...extra: string[]) =>
  run('npm', ['run', '--silent', 'package', ...(extra.length ? ['--', ...extra] : [])], baseEnv());

/** The functions that exist: a folder under functions/ with an index.ts. */
function functionDirs(): string[] {
  return readdirSync(path.join(project, 'functions'))
    .filter((name) => existsSync(path.join(project, 'functions', name, 'index.ts')))
    .sort();
}

/** Loads `file` in a fresh Node process, as SCF would, and reports the type of `exportName`. */
async function exportedType(file: string, exportName: string): Promise<string> {
  const env = functionEnv({
    ...baseEnv(),
    DATABASE_URL: 'postgres://user@127.0.0.1:1/never-connected',
    CALLBACK_TOKENS: 'placeholder-token-0123456789',
    LOG_LEVEL: 'error',
  });
  const { stdout } = await run(
    process.execPath,
    ['-e', `process.stdout.write(typeof require(${JSON.stringify(file)})[${JSON.stringify(exportName)}])`],
    env,
  );
  return stdout;
}

function extract(entries: ZipEntry[], into: string): void {
  for (const entry of entries) {
    const target = path.join(into, entry.name);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, entry.data());
  }
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

beforeAll(() => {
  project = mkdtempSync(path.join(tmpdir(), 'vub-deploy-'));
  home = path.join(project, '.home');
  mkdirSync(home);
  for (const item of ['contract', 'functions', 'lib', 'scripts', 'package.json', 'tsconfig.json', 'serverless.yml']) {
    cpSync(path.join(repo, item), path.join(project, item), { recursive: true });
  }
  symlinkSync(path.join(repo, 'node_modules'), path.join(project, 'node_modules'), 'dir');
});

afterAll(() => {
  if (sizes.length > 0) {
    const lines = sizes.map(
      (s) =>
        `${s.artifact.padEnd(34)} ${s.entry.padEnd(32)} ${(s.bytes / 1024).toFixed(1).padStart(8)} KiB  ${(s.compressed / 1024).toFixed(1).padStart(7)} KiB zipped`,
    );
    process.stdout.write(`\nDeployment artifacts:\n${lines.join('\n')}\n`);
  }
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('npm run package', () => {
  test('one zip per function holding only its bundle; handler index.main_handler; byte-for-byte reproducible', async () => {
    await npmPackage();
    const names = functionDirs();
    expect(names.length).toBeGreaterThan(0);
    const first = new Map<string, string>();
    for (const name of names) {
      const archive = path.join(project, 'dist', `${name}.zip`);
      const entries = readZip(archive);
      expect(entries.map((e) => e.name)).toEqual(['index.js']);
      const [bundle] = entries;
      sizes.push({ artifact: `dist/${name}.zip`, entry: 'index.js', bytes: bundle!.size, compressed: statSync(archive).size });
      const unpacked = path.join(project, '.unzipped', name);
      extract(entries, unpacked);
      await expect(exportedType(path.join(unpacked, 'index.js'), 'main_handler')).resolves.toBe('function');
      first.set(name, sha256(archive));
    }
    await npmPackage();
    for (const name of names) expect(sha256(path.join(project, 'dist', `${name}.zip`))).toBe(first.get(name));
  });

  test('source maps only when asked for (--sourcemap)', async () => {
    await npmPackage('--sourcemap');
    for (const name of functionDirs()) {
      expect(
        readZip(path.join(project, 'dist', `${name}.zip`))
          .map((e) => e.name)
          .sort(),
      ).toEqual(['index.js', 'index.js.map']);
    }
    await npmPackage();
    for (const name of functionDirs()) {
      expect(readZip(path.join(project, 'dist', `${name}.zip`)).map((e) => e.name)).toEqual(['index.js']);
    }
  });
});

describe('serverless package (serverless@3 + serverless-tencent-scf), offline, no credentials', () => {
  let resolved: {
    provider: Record<string, unknown>;
    package: { patterns: string[] };
    functions: Record<
      string,
      {
        handler: string;
        url?: { method: string; path: string };
        events?: Array<Record<string, { name: string; parameters: Record<string, unknown> }>>;
        environment?: { variables: Record<string, string> };
      }
    >;
  };

  beforeAll(async () => {
    await npmPackage(); // serverless ships what the build wrote
    const printed = await serverless(['print', '--format', 'json', '--stage', 'test']);
    resolved = JSON.parse(printed.stdout);
  }, 120_000);

  test('every function under functions/ is declared, with runtime, handler, memory and timeout', () => {
    expect(Object.keys(resolved.functions).sort()).toEqual(functionDirs());
    expect(resolved.provider).toMatchObject({ name: 'tencent', runtime: expect.stringMatching(/^Nodejs(18|20|22)\./) });
    for (const [name, fn] of Object.entries(resolved.functions)) {
      expect(fn.handler).toBe(`dist/${name}/index.main_handler`);
      expect(fn).toMatchObject({ memorySize: expect.any(Number), timeout: expect.any(Number) });
    }
  });

  test('the service zip holds exactly the bundles, and each handler path exists in it and exports its function', async () => {
    await serverless(['package', '--stage', 'test']);
    const archive = path.join(project, '.serverless', `${SERVICE}.zip`);
    const entries = readZip(archive);
    const names = entries.map((e) => e.name).sort();
    expect(names).toEqual(functionDirs().map((name) => `dist/${name}/index.js`));
    for (const entry of entries)
      sizes.push({
        artifact: `.serverless/${SERVICE}.zip`,
        entry: entry.name,
        bytes: entry.size,
        compressed: entry.compressedSize,
      });
    sizes.push({
      artifact: `.serverless/${SERVICE}.zip`,
      entry: '(whole archive)',
      bytes: entries.reduce((n, e) => n + e.size, 0),
      compressed: statSync(archive).size,
    });

    const unpacked = path.join(project, '.unzipped-service');
    extract(entries, unpacked);
    for (const fn of Object.values(resolved.functions)) {
      const dot = fn.handler.lastIndexOf('.');
      const file = path.join(unpacked, `${fn.handler.slice(0, dot)}.js`);
      expect(existsSync(file)).toBe(true);
      await expect(exportedType(file, fn.handler.slice(dot + 1))).resolves.toBe('function');
    }
    // No login was attempted (the plugin's QR login keeps temporary keys in .env_temp).
    expect(existsSync(path.join(home, '.tencent'))).toBe(false);
    expect(existsSync(path.join(project, '.env_temp'))).toBe(false);
  });

  test('HTTP functions declare their function-URL route; the timer function a seven-field SCF cron', () => {
    const routes: Record<string, { method: string; path: string }> = {
      'upload-signature': { method: 'POST', path: '/upload-signature' },
      'vod-events': { method: 'POST', path: '/vod-events/{token?}' },
      'media-status': { method: 'GET', path: '/uploads/{uploadId}' },
    };
    for (const [name, fn] of Object.entries(resolved.functions)) {
      for (const event of fn.events ?? []) {
        // API Gateway stopped service on 2025-06-30: an apigw trigger would fail the deploy.
        expect(Object.keys(event)).toEqual(['timer']);
        expect(String(event.timer?.parameters.cronExpression).split(' ')).toHaveLength(7);
      }
      if (name in routes) expect(fn.url).toEqual(routes[name]);
    }
    if (resolved.functions.cleanup) {
      expect(resolved.functions.cleanup.url).toBeUndefined();
      // Its timer, and the every-minute webhooks timer (argument `webhooks`: that step alone).
      expect(resolved.functions.cleanup.events).toHaveLength(2);
    }
  });

  test('environment: every deployable setting passed through, secrets only from the environment and only where needed', () => {
    const configSource = readFileSync(path.join(project, 'lib', 'config-settings.ts'), 'utf8');
    const schema = configSource.slice(configSource.indexOf('export const settingsSchema = z.object({'));
    const settings = [...schema.slice(0, schema.indexOf('\n});')).matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
    expect(settings).toContain('VOD_SECRET_ID');

    const raw = parseYaml(readFileSync(path.join(project, 'serverless.yml'), 'utf8'), { merge: true }) as typeof resolved;
    for (const [name, fn] of Object.entries(raw.functions)) {
      const variables = fn.environment?.variables ?? {};
      for (const setting of settings) {
        if (LOCAL_ONLY.has(setting)) expect(variables).not.toHaveProperty(setting);
        else if (SECRET_OWNERS[setting]) expect(setting in variables).toBe(SECRET_OWNERS[setting]!.includes(name));
        else expect(variables).toHaveProperty(setting);
      }
      for (const [key, value] of Object.entries(variables)) {
        // Only references (${env:…}, ${sls:stage}) or the one fixed choice, never a literal secret.
        if (key === 'AUTH_MODE') expect(value).toBe('jwt');
        else expect(value).toMatch(/^\$\{(env:[A-Z0-9_]+(, '[^']*')?|sls:stage)\}$/);
      }
    }
    // The plugin copies function variables into provider.environment (leaking them across functions).
    expect(raw.provider).not.toHaveProperty('environment');
    // The values given at packaging time really arrive in the resolved configuration.
    expect(resolved.functions['vod-events']?.environment?.variables.CALLBACK_TOKENS).toBe('placeholder-token-0123456789');
    expect(resolved.functions['upload-signature']?.environment?.variables).not.toHaveProperty('CALLBACK_TOKENS');
  });

  test('a required secret missing from the environment stops serverless before anything is packaged', async () => {
    const env = { ...deployEnv(), DATABASE_URL: undefined };
    await expect(
      run(process.execPath, [path.join(project, 'node_modules/serverless/bin/serverless.js'), 'print', '--stage', 'test'], env),
    ).rejects.toThrow(/DATABASE_URL[\s\S]*Value not found at "env" source|Value not found at "env" source[\s\S]*DATABASE_URL/);
  });
});
