/**
 * The demo page's library: the signed-in user's uploads, newest first, a page at a time ("Show more"
 * follows `nextCursor`), a Delete button per upload (asks first), and the quota use from `GET /me/usage`.
 * Everything goes through the upload client (client/library-api.ts); text from the backend is set with
 * `textContent` only.
 */
import type { LibraryUpload, QuotaUse, UsageReport, VodUploader } from '../client/browser.ts';
import { setBadge, statusBadge } from './review-status.ts';

const PAGE_SIZE = 10;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function formatBytes(n: number): string {
  if (n >= 1073741824) return `${(n / 1073741824).toFixed(2)} GB`;
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.round(n / 1024)} KB`;
}

function formatSeconds(s: number): string {
  const total = Math.round(s);
  const m = Math.floor(total / 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m}:${String(total % 60).padStart(2, '0')}`;
}

const QUOTAS: Array<[keyof UsageReport['quotas'], string, (n: number) => string]> = [
  ['uploadsPerDay', 'Uploads today', String],
  ['bytesPerDay', 'Uploaded today', formatBytes],
  ['storedBytes', 'Stored', formatBytes],
  ['storedSeconds', 'Stored duration', formatSeconds],
  ['concurrentUploads', 'Uploads in progress', String],
];

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Bumped by every refresh of any view: an answer that arrives after a newer refresh (or a sign-in as
 * someone else) is dropped, so one user's rows never land in another's table.
 */
let current = 0;

export class LibraryView {
  private cursor: string | null = null;
  private generation = 0;

  constructor(private readonly client: VodUploader) {
    $('library-more').onclick = () => void this.loadPage(this.generation);
    $('library').hidden = false;
  }

  /** The first page again, and the quota use (after sign-in, an upload, a delete). */
  async refresh(): Promise<void> {
    const generation = ++current;
    this.generation = generation;
    this.cursor = null;
    $('library-rows').replaceChildren();
    await Promise.all([this.loadPage(generation), this.loadUsage(generation)]);
  }

  private async loadPage(generation: number): Promise<void> {
    const more = $<HTMLButtonElement>('library-more');
    more.disabled = true;
    this.error(undefined);
    try {
      const page = await this.client.list({ limit: PAGE_SIZE, ...(this.cursor ? { cursor: this.cursor } : {}) });
      if (generation !== current) return;
      for (const upload of page.uploads) $('library-rows').append(this.row(upload));
      this.cursor = page.nextCursor;
      more.hidden = !page.nextCursor;
      const count = $('library-rows').childElementCount;
      $('library-empty').hidden = count > 0;
      $('library-table').hidden = count === 0;
      $('library-count').textContent = `${count} shown${page.nextCursor ? ', more available' : ''}`;
    } catch (error) {
      if (generation === current) this.error(`Could not load your videos: ${message(error)}`);
    } finally {
      more.disabled = false;
    }
  }

  private row(upload: LibraryUpload): HTMLTableRowElement {
    const tr = document.createElement('tr');
    tr.dataset.uploadId = upload.uploadId;
    const name = upload.fileName ?? upload.uploadId;
    const cells: Array<string | HTMLElement[]> = [
      name,
      statusBadge(upload, 'badge library-status'),
      new Date(upload.createdAt).toLocaleString(),
      upload.media?.size !== undefined ? formatBytes(upload.media.size) : '',
      upload.media?.duration !== undefined ? formatSeconds(upload.media.duration) : '',
    ];
    for (const [i, text] of cells.entries()) {
      const cell = document.createElement(i === 0 ? 'th' : 'td');
      if (i === 0) cell.setAttribute('scope', 'row');
      if (typeof text === 'string') cell.textContent = text;
      else cell.append(...text);
      tr.append(cell);
    }
    const actions = document.createElement('td');
    if (upload.status !== 'DELETED') {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'delete';
      button.textContent = 'Delete';
      button.setAttribute('aria-label', `Delete ${name}`);
      button.onclick = () => void this.delete(upload, name, tr, button);
      actions.append(button);
    }
    tr.append(actions);
    return tr;
  }

  private async delete(upload: LibraryUpload, name: string, tr: HTMLTableRowElement, button: HTMLButtonElement) {
    if (!window.confirm(`Delete "${name}"? The video is erased from VOD and cannot be recovered.`)) return;
    button.disabled = true;
    this.error(undefined);
    try {
      const result = await this.client.deleteUpload(upload.uploadId);
      setBadge(tr.querySelector<HTMLElement>('.library-status')!, result.upload.status);
      tr.querySelector('.review-note')?.remove();
      button.remove();
      $('library-announce').textContent =
        result.mediaDeletion === 'pending' ? `Deleted ${name}. The video is erased at the next cleanup run.` : `Deleted ${name}.`;
      await this.loadUsage(this.generation);
    } catch (error) {
      button.disabled = false;
      this.error(`Could not delete ${name}: ${message(error)}`);
    }
  }

  private async loadUsage(generation: number): Promise<void> {
    try {
      const report = await this.client.usage();
      if (generation !== current) return;
      const rows = QUOTAS.filter(([key]) => report.quotas[key]).map(([key, label, format]) =>
        this.quotaRow(label, report.quotas[key], format),
      );
      $('usage-rows').replaceChildren(...rows);
      $('usage-error').hidden = true;
      $('usage').hidden = false;
    } catch (error) {
      if (generation !== current) return;
      $('usage').hidden = true;
      $('usage-error').textContent = `Quota use is not available: ${message(error)}`;
      $('usage-error').hidden = false;
    }
  }

  private quotaRow(label: string, quota: QuotaUse, format: (n: number) => string): HTMLTableRowElement {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = label;
    const use = document.createElement('td');
    const text = quota.limit === null ? `${format(quota.used)} (no limit)` : `${format(quota.used)} of ${format(quota.limit)}`;
    if (quota.limit !== null && quota.limit > 0) {
      const meter = document.createElement('meter');
      meter.min = 0;
      meter.max = quota.limit;
      meter.value = Math.min(quota.used, quota.limit);
      meter.high = quota.limit * 0.8;
      meter.setAttribute('aria-label', `${label}: ${text}`);
      use.append(meter);
    }
    use.append(text);
    if (quota.resetsAt) use.append(` · frees up ${new Date(quota.resetsAt).toLocaleString()}`);
    tr.append(th, use);
    return tr;
  }

  private error(text: string | undefined): void {
    $('library-error').textContent = text ?? '';
    $('library-error').hidden = !text;
  }
}
