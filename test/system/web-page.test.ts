/**
 * The demo page in headless Chromium (Debian's package), against the local stack: sign in, upload a
 * generated clip, wait for the gallery, check that every video can play and every image loads, and save
 * a screenshot (test-artifacts/web-page.png). Skipped with a message when Chromium is not installed.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeTestClip } from '../../scripts/test-clip';
import { chromium, type Browser } from 'playwright-core';
import { setLogSink } from '#lib/log';
import { startStack, type Stack } from '../../local/stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts');
const available = existsSync(CHROMIUM);
if (!available) console.warn(`web-page test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
const maybe = available ? test : test.skip;

// Shapes of the DOM objects read in the page (this project's type-check has no DOM library).
interface PageVideo {
  currentSrc: string;
  readyState: number;
  videoWidth: number;
  addEventListener(type: string, listener: () => void, options?: { once: boolean }): void;
}
interface PageImage {
  src: string;
  naturalWidth: number;
  decode(): Promise<void>;
}
declare const document: { getElementById(id: string): any };
declare const window: { demoPlayer?: any };

let stack: Stack;
let browser: Browser;
let work: string;
let previousSink: (line: string) => void;

beforeAll(async () => {
  if (!available) return;
  previousSink = setLogSink(() => undefined);
  work = mkdtempSync(path.join(tmpdir(), 'vub-web-'));
  makeTestClip(path.join(work, 'holiday.mp4'), { width: 480, height: 270, seconds: 3 });
  stack = await startStack({
    dataDir: path.join(work, 'data'),
    port: 0,
    emulatorPort: 0,
    timers: false,
    log: () => undefined,
    // Key hotlink protection on: the player must carry the playlist's query to every segment.
    env: {
      PIPELINE_TRANSCODE_DEFINITIONS: '100010,100020',
      PIPELINE_WATERMARK_DEFINITION: '501',
      PIPELINE_SNAPSHOT_OFFSETS: '1s,2s',
      HOTLINK_KEY: 'WebPageHotlink2026',
    },
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}, 60_000);

afterAll(async () => {
  if (!available) return;
  await browser?.close();
  await stack?.close();
  setLogSink(previousSink);
  rmSync(work, { recursive: true, force: true });
});

maybe(
  'sign in, upload, watch the status, and see playable renditions and loaded images',
  async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${stack.apiUrl}/`);
    await page.fill('#user', 'dora');
    await page.click('button[type=submit]');
    await page.waitForSelector('#who:not([hidden])');
    expect(await page.textContent('#who')).toContain('dora');

    await page.setInputFiles('#file', path.join(work, 'holiday.mp4'));
    await page.waitForFunction(
      () => ['READY', 'failed'].includes(document.getElementById('status')?.textContent ?? ''),
      undefined,
      { timeout: 90_000 },
    );
    expect(await page.textContent('#error')).toBe('');
    expect(await page.textContent('#status')).toBe('READY');
    await page.waitForSelector('#gallery:not([hidden])');

    const videos = await page.$$eval('#renditions video', (elements) =>
      Promise.all(
        (elements as unknown as PageVideo[]).map(
          (video) =>
            new Promise<{ src: string; ok: boolean; width: number }>((resolve) => {
              const done = (ok: boolean) => resolve({ src: video.currentSrc, ok, width: video.videoWidth });
              if (video.readyState >= 3) return done(true);
              video.addEventListener('canplay', () => done(true), { once: true });
              video.addEventListener('error', () => done(false), { once: true });
              setTimeout(() => done(video.readyState >= 3), 15_000);
            }),
        ),
      ),
    );
    expect(videos).toHaveLength(2);
    for (const video of videos) {
      expect(video.ok).toBe(true);
      expect(video.width).toBeGreaterThan(0);
    }
    const images = await page.$$eval('#images img, #sprite img', (elements) =>
      Promise.all(
        (elements as unknown as PageImage[]).map((img) =>
          img.decode().then(
            () => ({ src: img.src, width: img.naturalWidth }),
            () => ({ src: img.src, width: 0 }),
          ),
        ),
      ),
    );
    expect(images.length).toBeGreaterThanOrEqual(4); // cover, two snapshots, a sprite sheet
    for (const img of images) expect(img.width).toBeGreaterThan(0);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-page.png'), fullPage: true });
    expect(problems).toEqual([]);
  },
  120_000,
);

maybe(
  'the player: adaptive HLS through hls.js under hotlink protection, a forced quality switch, and the right sprite tile on hover',
  async () => {
    makeTestClip(path.join(work, 'long.mp4'), { width: 960, height: 540, seconds: 12 });
    const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    const segments: Array<{ url: string; status: number }> = [];
    page.on('response', (response) => {
      if (/\.(ts|m3u8)(\?|$)/.test(response.url())) segments.push({ url: response.url(), status: response.status() });
    });
    await page.goto(`${stack.apiUrl}/`);
    await page.fill('#user', 'frank');
    await page.click('button[type=submit]');
    await page.waitForSelector('#who:not([hidden])');
    await page.setInputFiles('#file', path.join(work, 'long.mp4'));
    await page.waitForFunction(
      () => ['READY', 'failed'].includes(document.getElementById('status')?.textContent ?? ''),
      undefined,
      { timeout: 150_000 },
    );
    expect(await page.textContent('#status')).toBe('READY');
    await page.waitForSelector('#player-box:not([hidden])');
    expect(await page.evaluate(() => window.demoPlayer.source)).toBe('hls');

    // Plays: the element reaches `playing` and its clock moves.
    await page.evaluate(
      () =>
        new Promise<void>((resolve, reject) => {
          const video = document.getElementById('player');
          video.addEventListener('playing', () => resolve(), { once: true });
          video.play().catch(reject);
        }),
    );
    await page.waitForFunction(() => document.getElementById('player').currentTime > 1, undefined, { timeout: 30_000 });
    // Every playlist and segment request was signed and served (no 403 from the hotlink check).
    expect(segments.length).toBeGreaterThan(2);
    for (const s of segments) expect([s.url.includes('sign='), s.status]).toEqual([true, 200]);

    // A quality switch when forced: two levels (360p and 540p), hls.currentLevel set to the other one.
    const levels = await page.evaluate(() => window.demoPlayer.hls.levels.map((l: { height: number }) => l.height));
    expect(levels.length).toBeGreaterThanOrEqual(2);
    const target = await page.evaluate(() => {
      const hls = window.demoPlayer.hls;
      const next = hls.currentLevel === 0 ? 1 : 0;
      hls.currentLevel = next;
      return next;
    });
    await page.waitForFunction((level) => window.demoPlayer.levelSwitches.includes(level), target, { timeout: 30_000 });
    await page.waitForFunction(() => document.getElementById('player').videoHeight > 0);

    // Hover thumbnails: sprite 10 has one 142x80 tile per 10 s, so 11 s into the video is the second tile.
    await page.waitForFunction(() => window.demoPlayer.cues.length >= 2);
    const box = (await page.locator('#timeline').boundingBox())!;
    const duration = await page.evaluate(() => document.getElementById('player').duration as number);
    const hover = async (seconds: number) => {
      await page.mouse.move(box.x + (box.width * seconds) / duration, box.y + box.height / 2);
      await page.waitForSelector('#thumb:not([hidden])');
      return page.evaluate(() => {
        const thumb = document.getElementById('thumb');
        return {
          position: thumb.style.backgroundPosition as string,
          image: thumb.style.backgroundImage as string,
          width: thumb.style.width as string,
        };
      });
    };
    const first = await hover(3);
    expect(first.position.split(' ').map((v: string) => Math.abs(Number.parseFloat(v)))).toEqual([0, 0]);
    const second = await hover(11);
    expect(second.position.split(' ').map((v: string) => Number.parseFloat(v))).toEqual([-142, 0]);
    expect(second.width).toBe('142px');
    const spriteUrl = /url\("(.*)"\)/.exec(second.image)![1]!;
    expect(spriteUrl).toContain('sign=');
    expect(await page.evaluate(async (url) => (await fetch(url)).status, spriteUrl)).toBe(200);
    expect(problems).toEqual([]);
  },
  240_000,
);

maybe(
  'errors are shown in words: a bad user name and a file that is not a video',
  async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.apiUrl}/`);
    await page.fill('#user', 'no spaces allowed');
    await page.click('button[type=submit]');
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error')).toMatch(/Could not sign in: userId/);

    await page.fill('#user', 'erin');
    await page.click('button[type=submit]');
    await page.waitForSelector('#who:not([hidden])');
    await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a video') });
    await page.waitForSelector('#error:not([hidden])', { timeout: 30_000 });
    expect(await page.textContent('#error')).toMatch(/refused|cannot be uploaded|fileName/i);
  },
  60_000,
);
