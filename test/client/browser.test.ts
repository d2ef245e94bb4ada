/**
 * The browser build of the upload client (client/browser.ts bundled by esbuild for the browser, with
 * cos-js-sdk-v5) in headless Chromium: a File uploaded through the real upload-signature function and
 * the emulator (COS in the emulator's Domain form, cross-origin), progress, then an upload cancelled
 * half-way and resumed from localStorage, sending only the missing parts.
 * Needs the Debian `chromium` package; skipped with a message without it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { userToken } from '../support/jwt';
import { partPuts, stackUsable, startClientStack } from './stack';
import type { ClientStack } from './stack';

/** The page's global object, as seen by code that page.evaluate runs in Chromium. */
declare const window: any;

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) console.warn(`client browser test skipped: no Chromium at ${CHROMIUM}`);
const maybe = haveChromium && stackUsable ? test : test.skip;
const MIB = 1024 * 1024;

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><script src="/vod-upload-client.js"></script></head>
<body><script>
// Deterministic bytes, so the same "file" can be chosen again after a reload.
function makeFile(size, name) {
  const bytes = new Uint8Array(size);
  let x = 2463534242;
  for (let i = 0; i < size; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; bytes[i] = x & 255; }
  return new File([bytes], name, { type: 'video/mp4', lastModified: 1700000000000 });
}
window.runUpload = async function (config) {
  const { VodUploader } = window.VodUploadClient;
  const uploader = new VodUploader({ ...config, apiBaseUrl: location.origin, chunkSize: 1024 * 1024, parallel: 1 });
  const controller = new AbortController();
  window.abortUpload = () => controller.abort();
  const progress = [];
  try {
    const result = await uploader.upload(makeFile(config.size, 'browser clip.mp4'), {
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p.loaded);
      },
    });
    return { ok: true, result, progress, stored: Object.keys(localStorage).filter((k) => k.startsWith('vod-upload:')).length };
  } catch (error) {
    return { ok: false, kind: error.kind, message: error.message, progress, stored: Object.keys(localStorage).filter((k) => k.startsWith('vod-upload:')).length };
  }
};
</script></body></html>`;

let stack: ClientStack;
let browser: Browser;
let bundleBytes = 0;

beforeAll(async () => {
  if (!haveChromium || !stackUsable) return;
  const bundle = await build({
    entryPoints: [path.join(__dirname, '..', '..', 'client', 'browser.ts')],
    bundle: true,
    format: 'iife',
    globalName: 'VodUploadClient',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  const js = bundle.outputFiles[0]!.contents;
  bundleBytes = js.length;
  stack = await startClientStack({
    files: {
      '/': { contentType: 'text/html; charset=utf-8', body: PAGE },
      '/vod-upload-client.js': { contentType: 'application/javascript; charset=utf-8', body: Buffer.from(js) },
    },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

maybe(
  'the esbuild browser bundle uploads a File from Chromium, and resumes a cancelled upload from localStorage',
  async () => {
    expect(bundleBytes).toBeGreaterThan(0);
    expect(bundleBytes).toBeLessThan(400 * 1024);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${stack.apiUrl}/`);
    const config = { token: await userToken('browser-user'), vodApiUrl: stack.vodApiUrl, cosDomain: stack.cosDomain };

    // 1. A whole upload.
    stack.requests.length = 0;
    const whole = await page.evaluate(([c]) => window.runUpload({ ...c, size: 2 * 1024 * 1024 + 99 }), [config] as const);
    expect(whole).toMatchObject({
      ok: true,
      stored: 0,
      result: { status: 'COMMITTED', resumed: false, totalBytes: 2 * MIB + 99 },
    });
    expect(whole.result.fileId).toMatch(/^\d+$/);
    expect(whole.progress.at(-1)).toBe(2 * MIB + 99);
    expect(partPuts(stack.requests).sort()).toEqual([1, 2, 3]);

    // 2. Cancelled (the page's AbortController) once the emulator has 3 of 24 parts, then the same file
    //    again after a reload: only the missing parts are sent.
    stack.requests.length = 0;
    const parts = 24;
    const size = parts * MIB;
    let done = 0;
    stack.onRequestDone = (r) => {
      if (partPuts([r]).length && ++done === 3) void page.evaluate(() => window.abortUpload());
    };
    const cancelled = await page.evaluate(([c, s]) => window.runUpload({ ...c, size: s }), [config, size] as const);
    stack.onRequestDone = undefined;
    expect(cancelled).toMatchObject({ ok: false, kind: 'cancelled', stored: 1 });
    await new Promise((r) => setTimeout(r, 200));
    const firstParts = new Set(partPuts(stack.requests));
    expect(firstParts.size).toBeGreaterThanOrEqual(3);
    expect(firstParts.size).toBeLessThan(parts);

    stack.requests.length = 0;
    await page.reload(); // a new page load: only localStorage remembers the upload
    const resumed = await page.evaluate(([c, s]) => window.runUpload({ ...c, size: s }), [config, size] as const);
    expect(resumed).toMatchObject({ ok: true, stored: 0, result: { resumed: true, totalBytes: size } });
    const secondParts = partPuts(stack.requests);
    expect(secondParts.length).toBeLessThanOrEqual(parts - 3);
    expect(secondParts.length + resumed.result.resumedBytes / MIB).toBe(parts);
    expect(new Set([...secondParts, ...firstParts]).size).toBe(parts);
    expect(resumed.progress[0]).toBeGreaterThanOrEqual(3 * MIB);
    expect(errors).toEqual([]);
    await page.close();
  },
  45_000,
);
