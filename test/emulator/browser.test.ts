/**
 * The official web SDK, `vod-js-sdk-v6` (unmodified UMD bundle), in headless Chromium uploads a video
 * through the emulator: ApplyUploadUGC at vod2.qcloud.com, COS multipart at
 * `<bucket>-<appid>.cos.ap-guangzhou.myqcloud.com`, CommitUploadUGC — every host mapped to 127.0.0.1 with
 * `--host-resolver-rules`, all over HTTPS with a self-signed certificate (docs/vod-protocol/ugc-upload.md §2.7).
 *
 * The page's getSignature asks the real `functions/upload-signature` handler (run in-process behind the
 * page's own HTTPS server) when PGlite can start (`npm run test:jest`), otherwise `sign()` from lib.
 * Needs the Debian `chromium` package (/usr/bin/chromium); without it the test is skipped with a message.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { sign } from '#lib/upload-signature-codec';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { functionEnv, TEST_SECRET_ID, TEST_SECRET_KEY } from '../support/env';
import { functionUrlEvent, loadFunction, type HttpMainHandler } from '../support/function';
import { userToken } from '../support/jwt';
import { CLIP, startTestEmulator, tempDir } from './helpers';
import type { TestEmulator } from './helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`browser.test.ts skipped: no Chromium at ${CHROMIUM} (apt-get install -y --no-install-recommends chromium)`);
}
const vmModules = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('--experimental-vm-modules'));
const useFunction = vmModules || Boolean(process.env.TEST_DATABASE_URL);
const maybe = haveChromium ? test : test.skip;

const SDK = path.join(__dirname, '..', '..', 'node_modules', 'vod-js-sdk-v6', 'dist', 'vod-js-sdk-v6.js');

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><script src="/vod-js-sdk-v6.js"></script></head>
<body><script>
window.runUpload = async function () {
  const signatures = [];
  const getSignature = async () => {
    const r = await fetch('/upload-signature', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const body = await r.json();
    signatures.push(body.signature);
    return body.signature;
  };
  const bytes = await (await fetch('/clip.mp4')).arrayBuffer();
  const file = new File([bytes], 'browser clip.mp4', { type: 'video/mp4' });
  const tcVod = new TcVod.default({ getSignature, allowReport: false, enableRaceRegion: false });
  const uploader = tcVod.upload({ mediaFile: file, chunkSize: 1024 * 1024 });
  let progress = 0;
  uploader.on('media_progress', (info) => { progress = info.percent; });
  const done = await uploader.done();
  return { done, progress, signatures: signatures.length };
};
</script></body></html>`;

function selfSignedCertificate(dir: string): { key: string; cert: string } {
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=vod2.qcloud.com',
      '-addext',
      'subjectAltName=DNS:vod2.qcloud.com,DNS:vod2.dnsv1.com,DNS:*.cos.ap-guangzhou.myqcloud.com,DNS:app.test,IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8') };
}

let t: TestEmulator | undefined;
let page: https.Server | undefined;
let testDb: TestDatabase | undefined;
const work = tempDir('vod-emulator-browser-');

afterAll(async () => {
  page?.closeAllConnections();
  page?.close();
  await t?.close();
  await testDb?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

maybe(
  'vod-js-sdk-v6 in headless Chromium completes an upload against the emulator',
  async () => {
    const tls = selfSignedCertificate(work);
    const requests: string[] = [];
    t = await startTestEmulator({
      tls,
      credentials: [{ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY }],
      onRequest: (r) => {
        requests.push(`${r.method} ${r.host}${r.url.split('?')[0]}${r.url.includes('partNumber=') ? '?partNumber' : ''}`);
      },
    });

    let signatureFunction: HttpMainHandler | undefined;
    if (useFunction) {
      testDb = await openTestDatabase();
      signatureFunction = loadFunction(
        'upload-signature',
        functionEnv(testDb.url ? { DATABASE_URL: testDb.url } : { DATA_DIR: testDb.dataDir }),
      );
    } else {
      console.warn(
        'browser.test.ts: signatures from sign() in lib (run with `npm run test:jest` to use the upload-signature function)',
      );
    }
    const token = await userToken('carol');
    const issue = async (): Promise<string> => {
      if (!signatureFunction)
        return JSON.stringify({ signature: sign({ secretId: TEST_SECRET_ID, vodSubAppId: 1500000001 }, TEST_SECRET_KEY) });
      const result = await signatureFunction(
        functionUrlEvent('POST', '/upload-signature', { fileName: 'browser clip.mp4' }, { authorization: `Bearer ${token}` }),
      );
      expect(result.statusCode).toBe(200);
      return result.body;
    };

    page = https.createServer(tls, (req, res) => {
      if (req.url === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(PAGE);
      } else if (req.url === '/vod-js-sdk-v6.js') {
        res.writeHead(200, { 'content-type': 'application/javascript; charset=utf-8' });
        fs.createReadStream(SDK).pipe(res);
      } else if (req.url === '/clip.mp4') {
        res.writeHead(200, { 'content-type': 'video/mp4' });
        fs.createReadStream(CLIP).pipe(res);
      } else if (req.url === '/upload-signature' && req.method === 'POST') {
        req.resume();
        req.on('end', () => {
          void issue().then(
            (body) => {
              res.writeHead(200, { 'content-type': 'application/json' });
              res.end(body);
            },
            (error: unknown) => {
              res.writeHead(500);
              res.end(String(error));
            },
          );
        });
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => page!.listen(0, '127.0.0.1', resolve));
    const pagePort = (page.address() as AddressInfo).port;
    const emulatorPort = t.emulator.port;

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--ignore-certificate-errors',
        `--host-resolver-rules=MAP vod2.qcloud.com 127.0.0.1:${emulatorPort}, MAP vod2.dnsv1.com 127.0.0.1:${emulatorPort}, MAP *.myqcloud.com 127.0.0.1:${emulatorPort}, MAP *.tencentcos.cn 127.0.0.1:${emulatorPort}, MAP app.test 127.0.0.1:${pagePort}, EXCLUDE localhost`,
      ],
    });
    try {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const tab = await context.newPage();
      const consoleLines: string[] = [];
      tab.on('console', (m) => consoleLines.push(m.text()));
      await tab.goto('https://app.test/');
      const result = (await tab.evaluate('window.runUpload()').catch((error: unknown) => {
        throw new Error(`upload failed in the page: ${String(error)}\n${consoleLines.join('\n')}\n${requests.join('\n')}`);
      })) as { done: { fileId: string; video: { url: string } }; progress: number; signatures: number };

      expect(result.done.fileId).toMatch(/^\d{19}$/);
      expect(result.progress).toBe(1);
      expect(result.signatures).toBeGreaterThanOrEqual(2); // apply and commit each fetch a fresh signature
      const media = t.emulator.context.store.doc.media[result.done.fileId]!;
      expect(media.basicInfo).toMatchObject({ Name: 'browser clip', Type: 'mp4' });
      expect(media.metaData).toMatchObject({ Width: 320, Height: 240, Size: fs.statSync(CLIP).size });
      // The SDK really talked to the (mapped) Tencent hosts.
      expect(requests).toContain('POST vod2.qcloud.com/v3/index.php');
      const bucketHost = `${t.emulator.bucketFor()}.cos.ap-guangzhou.myqcloud.com`;
      expect(requests.some((r) => r.startsWith(`POST ${bucketHost}/`))).toBe(true);
      expect(requests.some((r) => r.startsWith(`PUT ${bucketHost}/`))).toBe(true);
    } finally {
      await browser.close();
    }
  },
  90_000,
);
