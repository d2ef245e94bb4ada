/**
 * `npm run vod:configure` against the VOD emulator: it changes DescribeEventConfig as asked, a dry run
 * changes nothing, secrets never reach the output, and the configuration it writes really delivers
 * callbacks that the vod-events primitives accept (token in the URL, Sign/T from the SignKey).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { callbackSignFields, tokenMatches, verifyCallbackSign } from '#lib/callback-auth';
import { API_ACTIONS, startEmulator } from '../../local/emulator';
import type { Emulator } from '../../local/emulator';
import { callbackUrl, configureVodEvents, maskUrl, planChanges } from '../../scripts/vod-configure';

const SECRET_ID = 'AKIDvodConfigureTest000000000000000';
const SECRET_KEY = 'vodConfigureTestSecretKey0123456789';
const SUB_APP_ID = 1500012345;
const NEW_TOKEN = 'newCallbackToken-7f3a9c21d4e8b6';
const OLD_TOKEN = 'oldCallbackToken-0b1c2d3e4f5a69';
const NEW_SIGN_KEY = 'NewSignKey2026x';
const OLD_SIGN_KEY = 'OldSignKey2025y';
const SECRETS = [SECRET_KEY, NEW_TOKEN, OLD_TOKEN, NEW_SIGN_KEY, OLD_SIGN_KEY];
const FUNCTION_URL = 'https://1250000001-abcdef.ap-guangzhou.tencentscf.com/vod-events';

let emulator: Emulator;
let dataDir: string;
let modifyCalls = 0;
let reader: InstanceType<typeof vod.v20180717.Client>;

const baseEnv = (): Record<string, string> => ({
  VOD_SECRET_ID: SECRET_ID,
  VOD_SECRET_KEY: SECRET_KEY,
  VOD_SUB_APP_ID: String(SUB_APP_ID),
  VOD_REGION: 'ap-guangzhou',
  VOD_API_ENDPOINT: emulator.apiEndpoint,
  VOD_API_PROTOCOL: 'http://',
  CALLBACK_TOKENS: `${NEW_TOKEN},${OLD_TOKEN}`,
  CALLBACK_SIGN_KEYS: `${NEW_SIGN_KEY},${OLD_SIGN_KEY}`,
});

async function configure(argv: string[], env: Record<string, string | undefined> = baseEnv()) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await configureVodEvents({ argv, env, out: (l) => out.push(l), err: (l) => err.push(l) });
  const stdout = out.join('\n');
  const stderr = err.join('\n');
  for (const secret of SECRETS) {
    expect(stdout).not.toContain(secret);
    expect(stderr).not.toContain(secret);
  }
  return { code, stdout, stderr };
}

/** Read independently of the script, with the official SDK. */
const describe_ = (subAppId: number | 'primary' = SUB_APP_ID) =>
  reader.DescribeEventConfig(subAppId === 'primary' ? {} : { SubAppId: subAppId });
/** SignKey is write-only in the API: read it from the emulator's state. */
const signKeyOf = (appId = SUB_APP_ID) => emulator.context.events.config(appId).SignKey;

async function resetConfig(): Promise<void> {
  emulator.context.events.setConfig(SUB_APP_ID, {
    Mode: 'PUSH',
    NotificationUrl: '',
    UploadMediaCompleteEventSwitch: 'OFF',
    DeleteMediaCompleteEventSwitch: 'OFF',
    PersistenceCompleteEventSwitch: 'OFF',
    SignKey: '',
  });
  modifyCalls = 0;
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'vub-vod-configure-'));
  emulator = await startEmulator({
    dataDir,
    credentials: [{ secretId: SECRET_ID, secretKey: SECRET_KEY }],
    subAppIds: [SUB_APP_ID],
    events: { pushRetries: 0, pushTimeoutMs: 2000 },
    actions: {
      ModifyEventConfig: (call, params) => {
        modifyCalls++;
        return API_ACTIONS.ModifyEventConfig!(call, params);
      },
    },
  });
  reader = new vod.v20180717.Client({
    credential: { secretId: SECRET_ID, secretKey: SECRET_KEY },
    region: 'ap-guangzhou',
    profile: { httpProfile: { endpoint: emulator.apiEndpoint, protocol: 'http://' } },
  });
});

afterAll(async () => {
  await emulator?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(resetConfig);

describe('vod:configure against the emulator', () => {
  test('--dry-run shows the current configuration and the changes, and changes nothing', async () => {
    const before = await describe_();
    const { code, stdout } = await configure(['--callback-url', FUNCTION_URL, '--dry-run']);
    expect(code).toBe(0);
    expect(stdout).toContain(`sub-application ${SUB_APP_ID}`);
    expect(stdout).toMatch(/Current \(DescribeEventConfig\):\n {2}Mode +PUSH\n {2}NotificationUrl +\(unset\)/);
    expect(stdout).toContain(`NotificationUrl                  (unset) -> ${FUNCTION_URL}?token=<CALLBACK_TOKENS[0]>`);
    expect(stdout).toContain('UploadMediaCompleteEventSwitch   OFF -> ON');
    expect(stdout).toContain('DeleteMediaCompleteEventSwitch   OFF -> ON');
    expect(stdout).toContain('SignKey                          set to <CALLBACK_SIGN_KEYS[0]>');
    expect(stdout).not.toMatch(/^ {2}Mode +PUSH -> /m); // already PUSH: not a change
    expect(stdout).toContain('Dry run: nothing was changed.');
    expect(modifyCalls).toBe(0);
    expect(await describe_()).toEqual({ ...before, RequestId: expect.any(String) });
    expect(signKeyOf()).toBe('');
  });

  test('PUSH: sets the callback URL with the newest token, both switches and the newest SignKey; prints the result', async () => {
    const { code, stdout } = await configure(['--callback-url', FUNCTION_URL]);
    expect(code).toBe(0);
    expect(modifyCalls).toBe(1);
    expect(await describe_()).toMatchObject({
      Mode: 'PUSH',
      NotificationUrl: `${FUNCTION_URL}?token=${NEW_TOKEN}`,
      UploadMediaCompleteEventSwitch: 'ON',
      DeleteMediaCompleteEventSwitch: 'ON',
      PersistenceCompleteEventSwitch: 'OFF', // not ours: left alone
    });
    expect(signKeyOf()).toBe(NEW_SIGN_KEY);
    expect(stdout).toMatch(
      /Applied\. DescribeEventConfig now:\n {2}Mode +PUSH\n {2}NotificationUrl +https:\/\/1250000001-abcdef\.ap-guangzhou\.tencentscf\.com\/vod-events\?token=<CALLBACK_TOKENS\[0\]>\n {2}UploadMediaCompleteEventSwitch +ON/,
    );
    // The primary application was not touched.
    expect(await describe_('primary')).toMatchObject({ NotificationUrl: '', UploadMediaCompleteEventSwitch: 'OFF' });
  });

  test('run again: nothing left to change except the write-only SignKey; without sign keys, no call at all', async () => {
    await configure(['--callback-url', FUNCTION_URL]);
    modifyCalls = 0;
    const again = await configure(['--callback-url', FUNCTION_URL]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Changes:\n {2}SignKey +set to <CALLBACK_SIGN_KEYS\[0\]>/);
    expect(modifyCalls).toBe(1);

    modifyCalls = 0;
    const unsigned = await configure(['--callback-url', FUNCTION_URL], { ...baseEnv(), CALLBACK_SIGN_KEYS: undefined });
    expect(unsigned.code).toBe(0);
    expect(unsigned.stdout).toContain('Changes: none');
    expect(modifyCalls).toBe(0);
    expect(signKeyOf()).toBe(NEW_SIGN_KEY); // left as it was
  });

  test('token rotation: the current URL is recognised as the older token; --token-in path puts the token in the path', async () => {
    await configure(['--callback-url', FUNCTION_URL], {
      ...baseEnv(),
      CALLBACK_TOKENS: OLD_TOKEN,
      CALLBACK_SIGN_KEYS: OLD_SIGN_KEY,
    });
    expect((await describe_()).NotificationUrl).toBe(`${FUNCTION_URL}?token=${OLD_TOKEN}`);
    expect(signKeyOf()).toBe(OLD_SIGN_KEY);

    const { code, stdout } = await configure(['--callback-url', `${FUNCTION_URL}/`, '--token-in', 'path']);
    expect(code).toBe(0);
    expect(stdout).toContain(
      `NotificationUrl                  ${FUNCTION_URL}?token=<CALLBACK_TOKENS[1]> -> ${FUNCTION_URL}/<CALLBACK_TOKENS[0]>`,
    );
    expect((await describe_()).NotificationUrl).toBe(`${FUNCTION_URL}/${NEW_TOKEN}`);
    expect(signKeyOf()).toBe(NEW_SIGN_KEY);
  });

  test('PULL: mode from --mode or VOD_EVENT_MODE, no callback URL needed, switches on', async () => {
    const viaEnv = await configure(['--dry-run'], { ...baseEnv(), VOD_EVENT_MODE: 'PULL' });
    expect(viaEnv.code).toBe(0);
    expect(viaEnv.stdout).toContain('Mode                             PUSH -> PULL');
    expect(modifyCalls).toBe(0);

    const unsetMode = await configure(['--callback-url', FUNCTION_URL, '--dry-run'], { ...baseEnv(), VOD_EVENT_MODE: '' });
    expect(unsetMode.code).toBe(0); // empty means unset: PUSH

    const { code } = await configure(['--mode', 'pull']);
    expect(code).toBe(0);
    expect(await describe_()).toMatchObject({
      Mode: 'PULL',
      NotificationUrl: '',
      UploadMediaCompleteEventSwitch: 'ON',
      DeleteMediaCompleteEventSwitch: 'ON',
    });
  });

  test('--clear-sign-key removes the SignKey', async () => {
    await configure(['--callback-url', FUNCTION_URL]);
    expect(signKeyOf()).toBe(NEW_SIGN_KEY);
    const { code, stdout } = await configure(['--callback-url', FUNCTION_URL, '--clear-sign-key']);
    expect(code).toBe(0);
    expect(stdout).toContain('set to (none: callbacks unsigned)');
    expect(signKeyOf()).toBe('');
  });

  test('usage and configuration errors: exit 2, a message saying what to do, VOD untouched', async () => {
    const cases: Array<[string[], Record<string, string | undefined>, RegExp]> = [
      [[], baseEnv(), /PUSH mode needs the vod-events URL: pass --callback-url/],
      [['--callback-url', `${FUNCTION_URL}?token=abc`], baseEnv(), /must not carry a token/],
      [['--callback-url', `${FUNCTION_URL}/sometoken`], baseEnv(), /must not carry a token/],
      [['--callback-url', 'https://x.example.com/hooks'], baseEnv(), /must end with \/vod-events/],
      [['--callback-url', 'ftp://x.example.com/vod-events'], baseEnv(), /must be an http\(s\) URL/],
      [['--callback-url', 'not a url'], baseEnv(), /is not a URL/],
      [['--mode', 'POLL'], baseEnv(), /--mode must be PUSH or PULL/],
      [['--token-in', 'header', '--callback-url', FUNCTION_URL], baseEnv(), /--token-in must be query or path/],
      [['--callback-url', FUNCTION_URL], { ...baseEnv(), CALLBACK_TOKENS: undefined }, /CALLBACK_TOKENS is empty/],
      [['--callback-url', FUNCTION_URL], { ...baseEnv(), VOD_SECRET_ID: undefined }, /VOD_SECRET_ID is required/],
      [['--callback-url', FUNCTION_URL], { ...baseEnv(), CALLBACK_TOKENS: 'short' }, /CALLBACK_TOKENS/],
      [['--bogus'], baseEnv(), /Unknown option '--bogus'/],
    ];
    for (const [argv, env, message] of cases) {
      const { code, stderr } = await configure(argv, env);
      expect({ argv, code }).toEqual({ argv, code: 2 });
      expect(stderr).toMatch(message);
      expect(stderr).toContain('Usage: npm run vod:configure');
    }
    expect(modifyCalls).toBe(0);
  });

  test('API errors: exit 1 with the code, the request id and a hint; the secret key never printed', async () => {
    const wrongKey = await configure(['--callback-url', FUNCTION_URL], { ...baseEnv(), VOD_SECRET_KEY: `${SECRET_KEY}-wrong` });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(
      /^Error: VOD API error AuthFailure[.\w]*: .+ \(RequestId [\w-]+\) \(check VOD_SECRET_ID \/ VOD_SECRET_KEY/,
    );
    expect(wrongKey.stderr).not.toContain(`${SECRET_KEY}-wrong`);

    const wrongApp = await configure(['--callback-url', FUNCTION_URL], { ...baseEnv(), VOD_SUB_APP_ID: '1599999999' });
    expect(wrongApp.code).toBe(1);
    expect(wrongApp.stderr).toMatch(/InvalidParameterValue\.SubAppId.*\(check VOD_SUB_APP_ID\)/);

    const unreachable = await configure(['--callback-url', FUNCTION_URL], { ...baseEnv(), VOD_API_ENDPOINT: '127.0.0.1:1' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^Error: could not reach the VOD API/);
    expect(modifyCalls).toBe(0);
  });

  test('the configuration it writes delivers callbacks that vod-events accepts (token and Sign/T)', async () => {
    const received: Array<{ url: string; body: unknown }> = [];
    const receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ url: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const port = (receiver.address() as AddressInfo).port;
      const { code, stderr } = await configure(['--callback-url', `http://127.0.0.1:${port}/vod-events`]);
      expect(code).toBe(0);
      expect(stderr).toBe(''); // loopback http: no warning
      emulator.context.events.emitVodEvent(SUB_APP_ID, 'NewFileUpload', 'FileUploadEvent', { FileId: '5285890784273533167' });
      await emulator.flush();
      expect(received).toHaveLength(1);
      const [delivery] = received;
      const url = new URL(delivery!.url, 'http://127.0.0.1');
      expect(url.pathname).toBe('/vod-events');
      expect(tokenMatches(url.searchParams.get('token') ?? undefined, [NEW_TOKEN, OLD_TOKEN])).toBe(true);
      const fields = callbackSignFields(delivery!.body, Object.fromEntries(url.searchParams));
      expect(verifyCallbackSign(fields, [NEW_SIGN_KEY, OLD_SIGN_KEY], Math.floor(Date.now() / 1000))).toBe('ok');
      expect(delivery!.body).toMatchObject({ EventType: 'NewFileUpload', FileUploadEvent: { FileId: '5285890784273533167' } });
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });

  test('npm run vod:configure: dry run, then apply (end to end, in a fresh process)', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          'npm',
          ['run', '--silent', 'vod:configure', '--', ...args],
          {
            cwd: path.resolve(__dirname, '..', '..'),
            env: { PATH: process.env.PATH!, HOME: dataDir, npm_config_update_notifier: 'false', ...baseEnv() },
            timeout: 30_000,
          },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      });
    const dry = await run(['--callback-url', FUNCTION_URL, '--dry-run']);
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.stdout).toContain('Dry run: nothing was changed.');
    expect(modifyCalls).toBe(0);
    expect((await describe_()).UploadMediaCompleteEventSwitch).toBe('OFF');

    const applied = await run(['--callback-url', FUNCTION_URL]);
    expect(applied).toMatchObject({ code: 0 });
    expect(applied.stdout).toContain('Applied. DescribeEventConfig now:');
    expect(await describe_()).toMatchObject({
      NotificationUrl: `${FUNCTION_URL}?token=${NEW_TOKEN}`,
      UploadMediaCompleteEventSwitch: 'ON',
    });
    for (const secret of SECRETS) expect(dry.stdout + dry.stderr + applied.stdout + applied.stderr).not.toContain(secret);

    const bad = await run(['--mode', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--mode must be PUSH or PULL');
  });
});

describe('helpers', () => {
  test('callbackUrl adds the token (query or path) and keeps other query parameters', () => {
    expect(callbackUrl('https://h.example.com/vod-events', 'tok-1234567890abcdef', 'query')).toBe(
      'https://h.example.com/vod-events?token=tok-1234567890abcdef',
    );
    expect(callbackUrl('https://h.example.com/release/vod-events/?a=1', 'tok/needs escaping', 'path')).toBe(
      'https://h.example.com/release/vod-events/tok%2Fneeds%20escaping?a=1',
    );
    const warnings: string[] = [];
    callbackUrl('http://h.example.com/vod-events', 't', 'query', (w) => warnings.push(w));
    expect(warnings).toEqual([expect.stringMatching(/plain http/)]);
  });

  test('maskUrl names our tokens, fingerprints others, hides secret-looking parameters', () => {
    expect(maskUrl('https://h/vod-events?token=A', ['B', 'A'])).toBe('https://h/vod-events?token=<CALLBACK_TOKENS[1]>');
    expect(maskUrl('https://h/vod-events/zzz', ['A'])).toMatch(/^https:\/\/h\/vod-events\/<token sha256:[0-9a-f]{8}>$/);
    expect(maskUrl('https://h/hook?x=1&signature=s3cr3t', [])).toBe('https://h/hook?x=1&signature=<hidden>');
    expect(maskUrl('', [])).toBe('');
  });

  test('planChanges compares only what is asked; SignKey is always a change (write-only)', () => {
    expect(
      planChanges(
        { Mode: 'PUSH', NotificationUrl: 'u', UploadMediaCompleteEventSwitch: 'ON', DeleteMediaCompleteEventSwitch: 'ON' },
        {
          Mode: 'PUSH',
          NotificationUrl: 'u',
          UploadMediaCompleteEventSwitch: 'ON',
          DeleteMediaCompleteEventSwitch: 'ON',
        },
      ),
    ).toEqual([]);
    expect(planChanges({ Mode: 'PULL' }, { Mode: 'PUSH', SignKey: 'k' })).toEqual([
      { field: 'Mode', from: 'PULL', to: 'PUSH' },
      { field: 'SignKey', to: 'k' },
    ]);
  });
});
