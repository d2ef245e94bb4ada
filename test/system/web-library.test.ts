/**
 * The demo page's library in headless Chromium (Debian's package), against the local stack: the signed-in
 * user's uploads newest first, ten at a time with "Show more", a delete that asks first (dismissed: kept;
 * accepted: DELETED, said in the live region), the quota use, and nothing of another user's. Skipped with a
 * message when Chromium is not installed.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { setLogSink } from '#lib/log';
import { VodUploader } from '../../client/index.ts';
import { startStack, type Stack } from '../../local/stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '..', '..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const available = existsSync(CHROMIUM);
if (!available) console.warn(`web-library test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
const maybe = available ? test : test.skip;

declare const document: { getElementById(id: string): any };

const DAILY_UPLOADS = 40;
let stack: Stack;
let browser: Browser;
let work: string;
let previousSink: (line: string) => void;

beforeAll(async () => {
  if (!available) return;
  previousSink = setLogSink(() => undefined);
  work = mkdtempSync(path.join(tmpdir(), 'vub-web-library-'));
  stack = await startStack({
    dataDir: path.join(work, 'data'),
    port: 0,
    emulatorPort: 0,
    timers: false,
    log: () => undefined,
    env: { QUOTA_UPLOADS_PER_DAY: String(DAILY_UPLOADS) },
  });
  // The first call of each function opens (and migrates) the database: here, not in a test's time.
  const warm = await issue('warm-up', 1);
  await warm.list();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}, 120_000);

afterAll(async () => {
  if (!available) return;
  await browser?.close();
  await stack?.close();
  setLogSink(previousSink);
  rmSync(work, { recursive: true, force: true });
});

/** `n` ISSUED uploads of `userId`, named `<userId>-01.mp4`…, one after the other. */
async function issue(userId: string, n: number): Promise<VodUploader> {
  // A long timeout: a cold function on a loaded machine is slow, and a retried signature would issue two.
  const client = new VodUploader({
    apiBaseUrl: stack.apiUrl,
    token: await stack.demoToken(userId),
    resume: false,
    requestTimeoutMs: 60_000,
  });
  for (let i = 1; i <= n; i++) {
    await client.getSignature({ fileName: `${userId}-${String(i).padStart(2, '0')}.mp4`, fileSize: 5000, fileType: 'mp4' });
  }
  return client;
}

async function signIn(page: Page, userId: string): Promise<void> {
  await page.goto(`${stack.apiUrl}/`);
  await page.fill('#user', userId);
  await page.click('button[type=submit]');
  await page.waitForSelector('#library:not([hidden])');
}

const names = (page: Page) => page.$$eval('#library-rows tr th', (cells) => cells.map((c) => c.textContent ?? ''));
const statusOf = (page: Page, name: string) =>
  page.locator('#library-rows tr', { hasText: name }).locator('.library-status').textContent();

maybe(
  'the library: newest first, ten at a time with Show more; delete asks first; only the signed-in user',
  async () => {
    const ivy = await issue('ivy', 12);
    await issue('jon', 1);
    const page = await browser.newPage({ viewport: { width: 1100, height: 1200 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await signIn(page, 'ivy');
    await page.waitForFunction(() => document.getElementById('library-rows').childElementCount === 10);
    const expected = Array.from({ length: 12 }, (_, i) => `ivy-${String(12 - i).padStart(2, '0')}.mp4`);
    expect(await names(page)).toEqual(expected.slice(0, 10));
    expect(await page.textContent('#library-count')).toBe('10 shown, more available');
    await page.getByRole('button', { name: 'Show more' }).click();
    await page.waitForFunction(() => document.getElementById('library-rows').childElementCount === 12);
    expect(await names(page)).toEqual(expected);
    expect(await page.isHidden('#library-more')).toBe(true);
    expect(await page.textContent('#library-count')).toBe('12 shown');
    expect(await statusOf(page, 'ivy-07.mp4')).toBe('ISSUED');

    // Dismissed: nothing happens.
    const questions: string[] = [];
    page.once('dialog', (dialog) => {
      questions.push(dialog.message());
      void dialog.dismiss();
    });
    await page.getByRole('button', { name: 'Delete ivy-07.mp4' }).click();
    expect(questions).toEqual(['Delete "ivy-07.mp4"? The video is erased from VOD and cannot be recovered.']);
    expect(await statusOf(page, 'ivy-07.mp4')).toBe('ISSUED');
    expect((await ivy.list({ status: 'DELETED' })).uploads).toEqual([]);

    // Accepted: DELETED on the page and in the backend, said in the live region, the button gone.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete ivy-07.mp4' }).click();
    await page.waitForFunction(() => document.getElementById('library-announce').textContent === 'Deleted ivy-07.mp4.');
    expect(await statusOf(page, 'ivy-07.mp4')).toBe('DELETED');
    expect(await page.getByRole('button', { name: 'Delete ivy-07.mp4' }).count()).toBe(0);
    expect((await ivy.list({ status: 'DELETED' })).uploads.map((u) => u.fileName)).toEqual(['ivy-07.mp4']);
    expect(await page.textContent('#library-error')).toBe('');

    // Reloaded and signed in again: the same order, the deleted one still shown as DELETED; jon's never.
    await signIn(page, 'ivy');
    await page.waitForFunction(() => document.getElementById('library-rows').childElementCount === 10);
    expect(await names(page)).toEqual(expected.slice(0, 10));
    expect(await statusOf(page, 'ivy-07.mp4')).toBe('DELETED');
    expect(await page.textContent('#library')).not.toContain('jon-01.mp4');

    // A user with no uploads: the empty state, no table.
    await signIn(page, 'kim');
    await page.waitForSelector('#library-empty:not([hidden])');
    expect(await page.isHidden('#library-table')).toBe(true);

    mkdirSync(ARTIFACTS, { recursive: true });
    await signIn(page, 'ivy');
    await page.waitForFunction(() => document.getElementById('library-rows').childElementCount === 10);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-library.png'), fullPage: true });
    expect(problems).toEqual([]);
  },
  90_000,
);

maybe(
  'the quota use: each quota with its use and limit, a meter for the limited ones, updated after a delete',
  async () => {
    await issue('lea', 3);
    const page = await browser.newPage();
    await signIn(page, 'lea');
    await page.waitForSelector('#usage:not([hidden])');
    const rows = () =>
      page.$$eval('#usage-rows tr', (trs) =>
        trs.map((tr) => [tr.querySelector('th')?.textContent, tr.querySelector('td')?.textContent]),
      );
    const before = await rows();
    expect(before.map(([label]) => label)).toEqual([
      'Uploads today',
      'Uploaded today',
      'Stored',
      'Stored duration',
      'Uploads in progress',
    ]);
    expect(before[0]![1]).toMatch(new RegExp(`^3 of ${DAILY_UPLOADS} · frees up `));
    expect(before[2]![1]).toMatch(/\(no limit\)$/);
    const meter = page.getByRole('meter', { name: /^Uploads today: 3 of 40$/ });
    expect(await meter.getAttribute('aria-label')).toBe(`Uploads today: 3 of ${DAILY_UPLOADS}`);
    const inProgress = before[4]![1];

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete lea-03.mp4' }).click();
    await page.waitForFunction(() => document.getElementById('library-announce').textContent === 'Deleted lea-03.mp4.');
    // A delete gives no daily share back, but the upload no longer counts as in progress.
    await page.waitForFunction(
      (previous) => document.getElementById('usage-rows').rows[4].cells[1].textContent !== previous,
      inProgress,
    );
    const after = await rows();
    expect(after[0]![1]).toMatch(/^3 of /);
    expect(await page.isHidden('#usage-error')).toBe(true);
  },
  60_000,
);
