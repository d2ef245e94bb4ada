/**
 * Content review on the local stack's pages, in headless Chromium (Debian's package), REVIEW_MODE=gate: the
 * emulator's review rules (local/emulator/README.md "Audio/video review") hold clips named `held-…` and block
 * clips named `nsfw-…`. The demo page shows IN_REVIEW and BLOCKED with no player and no media link; the
 * review page (web/review.html) lists a held clip for the demo admin, whose Allow makes the demo page play
 * it; a user token there is refused. The demo admin's sign-in (`/local/session {admin:true}`) is tested
 * without a browser. The Chromium tests are skipped with a message when Chromium is not installed.
 */
import http from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { chromium, type Browser, type Page } from 'playwright-core';
import { setLogSink } from '#lib/log';
import { VodUploader } from '../../client/index.ts';
import { makeTestClip } from '../../scripts/test-clip';
import { startStack, type Stack } from '../../local/stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts');
const available = existsSync(CHROMIUM);
if (!available) console.warn(`web-review test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
const maybe = available ? test : test.skip;

// Shapes of the DOM objects read in the page (this project's type-check has no DOM library).
declare const document: { getElementById(id: string): any; querySelectorAll(selector: string): ArrayLike<any> };

const RULES = {
  rules: [
    { name: '^held', suggestion: 'review', label: 'Terror' },
    { name: '^nsfw', suggestion: 'block', label: 'Porn', form: 'Image' },
  ],
  default: 'pass',
};

let stack: Stack;
let browser: Browser | undefined;
let work: string;
let previousSink: (line: string) => void;

beforeAll(async () => {
  previousSink = setLogSink(() => undefined);
  work = mkdtempSync(path.join(tmpdir(), 'vub-web-review-'));
  for (const name of ['held-clip', 'held-own', 'nsfw-clip']) {
    makeTestClip(path.join(work, `${name}.mp4`), { width: 480, height: 270, seconds: 2 });
  }
  stack = await startStack({
    dataDir: path.join(work, 'data'),
    port: 0,
    emulatorPort: 0,
    timers: false,
    log: () => undefined,
    env: { REVIEW_MODE: 'gate', PIPELINE_TRANSCODE_DEFINITIONS: '100010' },
  });
  const rules = await fetch(`${stack.emulator.url}/__admin/review-rules`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(RULES),
  });
  expect(rules.status).toBe(200);
  // The first call of each function opens (and migrates) the database: here, not in a test's time.
  await new VodUploader({ apiBaseUrl: stack.apiUrl, token: await stack.demoToken('warm-up'), resume: false }).list();
  if (available) {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  setLogSink(previousSink);
  rmSync(work, { recursive: true, force: true });
});

/** POST /local/session with a Host header of our choosing (fetch may not set one). */
function localSession(body: unknown, host?: string): Promise<{ status: number; json: any }> {
  const url = new URL(`${stack.apiUrl}/local/session`);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(host ? { host } : {}) },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('the demo admin sign-in (/local/session)', () => {
  test('admin: true gives a service token (the stack set AUTH_ADMIN_CLAIM); without it, a user token', async () => {
    expect(stack.env.AUTH_ADMIN_CLAIM).toBe('scope=vod-upload:admin');
    const admin = await localSession({ userId: 'rita', admin: true });
    expect(admin.status).toBe(200);
    expect(admin.json).toMatchObject({ userId: 'rita', admin: true, reviewMode: 'gate', apiUrl: stack.apiUrl });
    expect(decodeJwt(admin.json.token)).toMatchObject({ sub: 'rita', scope: 'vod-upload:admin' });
    const user = await localSession({ userId: 'rita' });
    expect(user.status).toBe(200);
    expect(user.json).not.toHaveProperty('admin');
    expect(decodeJwt(user.json.token)).not.toHaveProperty('scope');

    // The backend agrees: only the admin's token may read another user's uploads.
    const other = (token: string) =>
      fetch(`${stack.apiUrl}/uploads?userId=warm-up`, { headers: { authorization: `Bearer ${token}` } });
    expect((await other(admin.json.token)).status).toBe(200);
    const refused = await other(user.json.token);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  });

  test("the caller's AUTH_ADMIN_CLAIM is the one the admin token carries; set empty, there is no demo admin (409)", async () => {
    for (const [claim, expected] of [
      ['roles=vod-reviewer', 200],
      ['', 409],
    ] as const) {
      const other = await startStack({
        dataDir: path.join(work, `data-claim-${expected}`),
        port: 0,
        emulatorPort: 0,
        timers: false,
        log: () => undefined,
        env: { AUTH_ADMIN_CLAIM: claim },
      });
      try {
        const answer = await fetch(`${other.apiUrl}/local/session`, {
          method: 'POST',
          body: JSON.stringify({ userId: 'rita', admin: true }),
        });
        expect(answer.status).toBe(expected);
        const body = (await answer.json()) as any;
        if (expected === 200) expect(decodeJwt(body.token)).toMatchObject({ sub: 'rita', roles: 'vod-reviewer' });
        else
          expect(body).toMatchObject({
            error: { code: 'AdminSignInDisabled', message: expect.stringMatching(/AUTH_ADMIN_CLAIM/) },
          });
        // A user's sign-in works either way.
        const user = await fetch(`${other.apiUrl}/local/session`, { method: 'POST', body: JSON.stringify({ userId: 'rita' }) });
        expect(user.status).toBe(200);
      } finally {
        await other.close();
      }
    }
  }, 60_000);

  test('a bad admin flag is a 400 naming it; off localhost, no token at all (403)', async () => {
    const bad = await localSession({ userId: 'rita', admin: 'yes' });
    expect(bad).toMatchObject({ status: 400, json: { error: { code: 'InvalidRequest', field: 'admin' } } });
    const port = new URL(stack.apiUrl).port;
    const rebound = await localSession({ userId: 'rita', admin: true }, `evil.example:${port}`);
    expect(rebound.status).toBe(403);
    expect(rebound.json.error.message).toMatch(/only on localhost/);
    expect(JSON.stringify(rebound.json)).not.toMatch(/token/i);
  });
});

async function signIn(page: Page, userId: string): Promise<void> {
  await page.goto(`${stack.apiUrl}/`);
  await page.fill('#user', userId);
  await page.click('button[type=submit]');
  await page.waitForSelector('#library:not([hidden])');
}

/** Uploads a clip on the demo page and waits for the status it settles in (or a failure). */
async function uploadOnPage(page: Page, file: string, until: string[]): Promise<string> {
  await page.setInputFiles('#file', path.join(work, file));
  await page.waitForFunction(
    (wanted) => [...wanted, 'failed', 'FAILED'].includes(document.getElementById('status')?.textContent ?? ''),
    until,
    { timeout: 120_000 },
  );
  return (await page.textContent('#status')) ?? '';
}

/** What on the page could show or fetch media: sources, links off the page, a visible player. */
const mediaOnPage = (page: Page) =>
  page.evaluate(() => ({
    sources: Array.from(document.querySelectorAll('video[src], source[src], img[src]'), (e: any) => e.getAttribute('src')),
    links: Array.from(document.querySelectorAll('a[href]'), (a: any) => a.getAttribute('href') as string).filter((h) =>
      /^\w+:/.test(h),
    ),
    gallery: !document.getElementById('gallery').hidden,
    player: !document.getElementById('player-box').hidden,
  }));

const libraryRow = (page: Page, name: string) => page.locator('#library-rows tr', { hasText: name });

async function signInToReview(page: Page, userId: string, admin: boolean): Promise<void> {
  await page.goto(`${stack.apiUrl}/review.html`);
  await page.fill('#user', userId);
  await page.setChecked('#admin', admin);
  await page.click('button[type=submit]');
  await page.waitForSelector('#queue:not([hidden])');
}

maybe(
  'a held clip waits IN_REVIEW with nothing to play; the admin watches it on the review page and allows it; the demo page then plays it',
  async () => {
    const demo = await browser!.newPage({ viewport: { width: 1100, height: 1300 } });
    const problems: string[] = [];
    demo.on('pageerror', (error) => problems.push(error.message));
    await signIn(demo, 'hana');
    expect(await demo.isVisible('#review-link')).toBe(true);
    expect(await demo.textContent('#review-mode')).toBe('gate');

    expect(await uploadOnPage(demo, 'held-clip.mp4', ['IN_REVIEW', 'READY', 'BLOCKED'])).toBe('IN_REVIEW');
    expect(await demo.textContent('#review-note')).toBe('waiting for review');
    expect(await demo.textContent('#error')).toBe('');
    expect(await mediaOnPage(demo)).toEqual({ sources: [], links: [], gallery: false, player: false });
    await demo.waitForFunction(
      () => document.querySelectorAll('#library-rows .library-status[data-status=IN_REVIEW]').length === 1,
    );
    expect(await libraryRow(demo, 'held-clip.mp4').locator('.review-note').textContent()).toBe('waiting for review');

    // The review page: the admin sees the held clip with its owner, VOD's label and a preview that plays.
    const review = await browser!.newPage({ viewport: { width: 1100, height: 1000 } });
    review.on('pageerror', (error) => problems.push(error.message));
    await signInToReview(review, 'rita', true);
    const card = review.locator('#queue-items article', { hasText: 'held-clip.mp4' });
    await card.locator('dd[data-field="VOD said"]').waitFor();
    expect(await card.locator('dd[data-field=user]').textContent()).toBe('hana');
    expect(await card.locator('dd[data-field=label]').textContent()).toBe('Terror');
    expect(await card.locator('dd[data-field=review]').textContent()).toBe('held');
    expect(await card.locator('.badge').textContent()).toBe('IN_REVIEW');
    const preview = await card.locator('video').evaluate(
      (video: any) =>
        new Promise<{ ok: boolean; width: number }>((resolve) => {
          const done = (ok: boolean) => resolve({ ok, width: video.videoWidth });
          if (video.readyState >= 1) return done(true);
          video.addEventListener('loadedmetadata', () => done(true), { once: true });
          video.addEventListener('error', () => done(false), { once: true });
          setTimeout(() => done(video.readyState >= 1), 15_000);
        }),
    );
    expect(preview.ok).toBe(true);
    expect(preview.width).toBeGreaterThan(0);

    await card.locator('textarea').fill('fine on a second look');
    await review.getByRole('button', { name: 'Allow held-clip.mp4' }).click();
    await review.waitForFunction(() => document.getElementById('queue-announce').textContent.startsWith('Allowed'));
    expect(await review.textContent('#queue-announce')).toBe('Allowed held-clip.mp4: READY.');
    expect(await card.locator('.badge').textContent()).toBe('READY');
    expect(await card.locator('dd[data-field=review]').textContent()).toBe('allowed');
    expect(await card.locator('dd[data-field="decided by"]').textContent()).toBe('rita');
    expect(await card.locator('dd[data-field=reason]').textContent()).toBe('fine on a second look');
    expect(await card.locator('.item-error').isHidden()).toBe(true);

    // The demo page was still following the upload: READY now, with the player, and it plays.
    await demo.waitForFunction(() => document.getElementById('status').textContent === 'READY', undefined, { timeout: 30_000 });
    expect(await demo.isHidden('#review-note')).toBe(true);
    await demo.waitForSelector('#player-box:not([hidden])');
    await demo.evaluate(
      () =>
        new Promise<void>((resolve, reject) => {
          const video = document.getElementById('player');
          video.addEventListener('playing', () => resolve(), { once: true });
          video.play().catch(reject);
        }),
    );
    await demo.waitForFunction(() => document.getElementById('player').currentTime > 0.5, undefined, { timeout: 30_000 });
    expect(await demo.locator('#renditions video').count()).toBe(1);
    await demo.waitForFunction(() => document.querySelectorAll('#library-rows .library-status[data-status=READY]').length === 1);

    mkdirSync(ARTIFACTS, { recursive: true });
    await review.screenshot({ path: path.join(ARTIFACTS, 'web-review.png'), fullPage: true });
    expect(problems).toEqual([]);
  },
  240_000,
);

maybe(
  'a blocked clip ends BLOCKED on the demo page: the label, no player, no link, a BLOCKED badge in the library',
  async () => {
    const demo = await browser!.newPage({ viewport: { width: 1100, height: 1300 } });
    const problems: string[] = [];
    demo.on('pageerror', (error) => problems.push(error.message));
    await signIn(demo, 'ines');
    expect(await uploadOnPage(demo, 'nsfw-clip.mp4', ['IN_REVIEW', 'READY', 'BLOCKED'])).toBe('BLOCKED');
    expect(await demo.textContent('#review-note')).toBe('blocked by review: Porn');
    expect(await demo.textContent('#error')).toBe('');
    expect(await demo.locator('#status').getAttribute('data-status')).toBe('BLOCKED');
    expect(await mediaOnPage(demo)).toEqual({ sources: [], links: [], gallery: false, player: false });
    await demo.waitForFunction(
      () => document.querySelectorAll('#library-rows .library-status[data-status=BLOCKED]').length === 1,
    );
    expect(await libraryRow(demo, 'nsfw-clip.mp4').locator('.review-note').textContent()).toBe('blocked by review: Porn');
    mkdirSync(ARTIFACTS, { recursive: true });
    await demo.screenshot({ path: path.join(ARTIFACTS, 'web-review-blocked.png'), fullPage: true });
    expect(problems).toEqual([]);
  },
  180_000,
);

maybe(
  'a user token on the review page: only its own uploads, no preview, and the decision refused with the 403 shown',
  async () => {
    const owner = new VodUploader({
      apiBaseUrl: stack.apiUrl,
      token: await stack.demoToken('ulla'),
      vodApiUrl: stack.emulator.url,
      cosDomain: stack.emulator.cosDomain,
      resume: false,
    });
    const { uploadId } = await owner.upload(path.join(work, 'held-own.mp4'));
    const deadline = Date.now() + 120_000;
    while ((await owner.getUpload(uploadId)).status !== 'IN_REVIEW' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect((await owner.getUpload(uploadId)).status).toBe('IN_REVIEW');

    const page = await browser!.newPage();
    await signInToReview(page, 'ulla', false);
    expect(await page.textContent('#who')).toMatch(/a user \(no service token\)/);
    const card = page.locator('#queue-items article', { hasText: 'held-own.mp4' });
    await card.waitFor();
    // ulla's own list: none of the other users' held clips.
    expect(await page.locator('#queue-items article').count()).toBe(1);
    await card.locator('.preview p').waitFor();
    expect(await card.locator('.preview p').textContent()).toMatch(/no media URL/);
    expect(await card.locator('video').count()).toBe(0);

    await page.getByRole('button', { name: 'Allow held-own.mp4' }).click();
    await card.locator('.item-error:not([hidden])').waitFor();
    expect(await card.locator('.item-error').textContent()).toMatch(/^Could not allow held-own\.mp4: .+ \(HTTP 403 \w+\)$/);
    expect((await owner.getUpload(uploadId)).status).toBe('IN_REVIEW');
  },
  180_000,
);
