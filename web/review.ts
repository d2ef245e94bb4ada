/**
 * The local stack's review queue (web/review.html): the demo admin signs in (`POST /local/session` with
 * `admin: true`, a service token), lists what waits for a person (`GET /uploads?status=IN_REVIEW` or
 * `?review=held`, ten at a time by `nextCursor`), watches each one (the reviewer's view of
 * `GET /uploads/{uploadId}` carries the media URLs whatever the status) and decides it with
 * `POST /uploads/{uploadId}/review` (docs/content-review.md). Errors are shown from the JSON error body.
 * Text from the backend is set with `textContent` only.
 */
import type { ReviewView, UploadView } from '../contract/upload.ts';
import { reviewNote, statusBadge } from './review-status.ts';

interface Session {
  token: string;
  userId: string;
  admin?: boolean;
  apiUrl: string;
  reviewMode?: string;
}

/** The review as a service token reads it: the owner's fields, and VOD's verdict and the decision. */
interface ReviewerReview extends ReviewView {
  suggestion?: string;
  form?: string;
  failure?: string;
  decidedBy?: string;
  reason?: string;
  decidedAt?: string;
}
type QueueItem = Omit<UploadView, 'review'> & { userId?: string; review?: ReviewerReview };

const PAGE_SIZE = 10;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** An answer other than 2xx, with what its JSON error body says. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

const describe = (error: unknown) =>
  error instanceof ApiError
    ? `${error.message} (HTTP ${error.status}${error.code ? ` ${error.code}` : ''})`
    : error instanceof Error
      ? error.message
      : String(error);

let session: Session | undefined;
let cursor: string | null = null;
/** Bumped by each sign-in and refresh: answers for an older one are dropped. */
let generation = 0;

async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  if (!session) throw new Error('Sign in first');
  const response = await fetch(`${session.apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${session.token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const body = (await response.json().catch(() => undefined)) as
    | (T & { error?: { code?: string; message?: string } })
    | undefined;
  if (!response.ok) {
    const error = body?.error;
    throw new ApiError(response.status, error?.code, error?.message ?? `the backend answered ${response.status}`);
  }
  return body as T;
}

function showQueueError(text: string | undefined): void {
  $('queue-error').textContent = text ?? '';
  $('queue-error').hidden = !text;
}

/** Name, user, status, the review's details: rewritten whenever a newer view of the upload arrives. */
function renderDetails(box: HTMLElement, upload: QueueItem): void {
  const title = document.createElement('h3');
  title.textContent = upload.fileName ?? upload.uploadId;
  const status = document.createElement('p');
  status.append(...statusBadge({ status: upload.status, ...(upload.review ? { review: upload.review } : {}) }));
  const list = document.createElement('dl');
  const review = upload.review;
  const rows: Array<[string, string | undefined]> = [
    ['user', upload.userId],
    ['upload', upload.uploadId],
    ['uploaded', new Date(upload.createdAt).toLocaleString()],
    ['review', review?.state],
    ['VOD said', review?.suggestion],
    ['label', review?.label && (review.form ? `${review.label} (${review.form})` : review.label)],
    ['review failed', review?.failure],
    ['decided by', review?.decidedBy],
    ['reason', review?.reason],
    ['decided at', review?.decidedAt && new Date(review.decidedAt).toLocaleString()],
  ];
  for (const [term, value] of rows) {
    if (!value) continue;
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    dd.dataset.field = term;
    list.append(dt, dd);
  }
  box.replaceChildren(title, status, list);
}

/** The first rendition, else the source: a service token gets their URLs before anyone decided. */
function renderPreview(box: HTMLElement, upload: QueueItem): void {
  const url = upload.renditions?.[0]?.url ?? upload.media?.url;
  if (!url) {
    const none = document.createElement('p');
    none.className = 'muted';
    none.textContent =
      upload.status === 'PROCESSING' || upload.status === 'UPLOADED'
        ? 'No preview yet: still processing.'
        : 'No preview: this token gets no media URL for this upload.';
    box.replaceChildren(none);
    return;
  }
  const video = document.createElement('video');
  video.controls = true;
  video.muted = true;
  video.preload = 'metadata';
  video.src = url;
  if (upload.cover?.url) video.poster = upload.cover.url;
  video.setAttribute('aria-label', `Preview of ${upload.fileName ?? upload.uploadId}`);
  box.replaceChildren(video);
}

function item(upload: QueueItem): HTMLElement {
  const article = document.createElement('article');
  article.className = 'item';
  article.dataset.uploadId = upload.uploadId;
  const preview = document.createElement('div');
  preview.className = 'preview';
  const side = document.createElement('div');
  const details = document.createElement('div');
  details.className = 'details';
  renderDetails(details, upload);
  renderPreview(preview, upload);

  const name = upload.fileName ?? upload.uploadId;
  const reasonId = `reason-${upload.uploadId}`;
  const label = document.createElement('label');
  label.htmlFor = reasonId;
  label.textContent = 'Reason (optional, shown in the timeline)';
  const reason = document.createElement('textarea');
  reason.id = reasonId;
  reason.rows = 2;
  reason.maxLength = 500;
  const actions = document.createElement('div');
  actions.className = 'actions';
  const error = document.createElement('p');
  error.className = 'error item-error';
  error.setAttribute('role', 'alert');
  error.hidden = true;
  const buttons = (['allow', 'block'] as const).map((decision) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = decision;
    button.textContent = decision === 'allow' ? 'Allow' : 'Block';
    button.setAttribute('aria-label', `${button.textContent} ${name}`);
    return button;
  });
  for (const [i, button] of buttons.entries()) {
    const decision = i === 0 ? 'allow' : 'block';
    button.onclick = async () => {
      for (const b of buttons) b.disabled = true;
      error.hidden = true;
      try {
        const text = reason.value.trim();
        const view = await api<QueueItem>(`/uploads/${encodeURIComponent(upload.uploadId)}/review`, {
          method: 'POST',
          body: { decision, ...(text ? { reason: text } : {}) },
        });
        const decided = { ...view, userId: view.userId ?? upload.userId };
        renderDetails(details, decided);
        renderPreview(preview, decided);
        const note = reviewNote(decided);
        $('queue-announce').textContent =
          `${decision === 'allow' ? 'Allowed' : 'Blocked'} ${name}: ${decided.status}${note ? `, ${note}` : ''}.`;
      } catch (failure) {
        error.textContent = `Could not ${decision} ${name}: ${describe(failure)}`;
        error.hidden = false;
      } finally {
        for (const b of buttons) b.disabled = false;
      }
    };
  }
  actions.append(...buttons);
  side.append(details, label, reason, actions, error);
  article.append(preview, side);

  // The list item is the owner's view; the reviewer's (URLs, VOD's verdict) comes from GET /uploads/{id}.
  const mine = generation;
  api<QueueItem>(`/uploads/${encodeURIComponent(upload.uploadId)}`).then(
    (view) => {
      if (mine !== generation) return;
      const full = { ...view, userId: view.userId ?? upload.userId };
      renderDetails(details, full);
      renderPreview(preview, full);
    },
    (failure: unknown) => {
      if (mine !== generation) return;
      error.textContent = `Could not read ${name}: ${describe(failure)}`;
      error.hidden = false;
    },
  );
  return article;
}

async function loadPage(mine: number): Promise<void> {
  const more = $<HTMLButtonElement>('queue-more');
  more.disabled = true;
  showQueueError(undefined);
  try {
    const query = new URLSearchParams($<HTMLSelectElement>('queue-filter').value);
    query.set('limit', String(PAGE_SIZE));
    if (cursor) query.set('cursor', cursor);
    const page = await api<{ uploads: QueueItem[]; nextCursor: string | null }>(`/uploads?${query}`);
    if (mine !== generation) return;
    $('queue-items').append(...page.uploads.map(item));
    cursor = page.nextCursor;
    more.hidden = !page.nextCursor;
    const count = $('queue-items').childElementCount;
    $('queue-empty').hidden = count > 0;
    $('queue-count').textContent = count ? `${count} shown${page.nextCursor ? ', more available' : ''}` : '';
  } catch (error) {
    if (mine === generation) showQueueError(`Could not load the queue: ${describe(error)}`);
  } finally {
    more.disabled = false;
  }
}

function refresh(): Promise<void> {
  generation++;
  cursor = null;
  $('queue-items').replaceChildren();
  $('queue-announce').textContent = '';
  $('queue-more').hidden = true;
  $('queue-empty').hidden = true;
  $('queue-count').textContent = '';
  return loadPage(generation);
}

$('signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('signin-error').hidden = true;
  const userId = $<HTMLInputElement>('user').value.trim();
  const admin = $<HTMLInputElement>('admin').checked;
  try {
    const response = await fetch('/local/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId, admin }),
    });
    const body = (await response.json()) as Session & { error?: { message: string } };
    if (!response.ok) throw new Error(body.error?.message ?? `sign-in failed (${response.status})`);
    session = body;
    $('who').textContent = session.admin
      ? `Signed in as ${session.userId}, the demo admin. REVIEW_MODE ${session.reviewMode ?? 'off'}.`
      : `Signed in as ${session.userId}, a user (no service token): only ${session.userId}'s uploads are listed, and decisions are refused.`;
    $('who').hidden = false;
    $('queue').hidden = false;
    // Gate mode queues by status; async mode keeps held videos READY, so the review state finds them.
    $<HTMLSelectElement>('queue-filter').value = session.reviewMode === 'async' ? 'review=held' : 'status=IN_REVIEW';
    await refresh();
  } catch (error) {
    session = undefined;
    generation++;
    $('who').hidden = true;
    $('queue').hidden = true;
    $('signin-error').textContent = `Could not sign in: ${describe(error)}`;
    $('signin-error').hidden = false;
  }
});
$('queue-filter').addEventListener('change', () => void refresh());
$('queue-refresh').addEventListener('click', () => void refresh());
$('queue-more').addEventListener('click', () => void loadPage(generation));
