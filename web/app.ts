/**
 * The local demo page: sign in as a demo user, upload a video with the upload client (browser build),
 * follow its status until READY, and show what VOD produced; below it, the user's library and quota use
 * (library.ts). With content review on, an upload may wait IN_REVIEW (followed until a person decides,
 * web/review.html) or end BLOCKED: neither shows a player or a link.
 */
import { VodUploader, VodUploadError, type UploadProgress, type UploadView } from '../client/browser.ts';
import { LibraryView } from './library.ts';
import { hidePlayer, showPlayer } from './player.ts';
import { reviewNote, setBadge } from './review-status.ts';
import './webhook-log.ts';

interface Session {
  token: string;
  userId: string;
  apiUrl: string;
  vodApiUrl: string;
  cosDomain: string;
  /** REVIEW_MODE of the stack's functions. */
  reviewMode?: string;
}

/** Statuses after which nothing more happens to an upload (it is not followed further). */
const ENDED = new Set(['READY', 'FAILED', 'REJECTED', 'EXPIRED', 'BLOCKED', 'DELETED']);
const PROCESSING_TIMEOUT_MS = 10 * 60_000;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let session: Session | undefined;
let controller: AbortController | undefined;
let library: LibraryView | undefined;

function showError(message: string | undefined): void {
  const box = $('error');
  box.textContent = message ?? '';
  box.hidden = !message;
}

function describe(error: unknown): string {
  if (error instanceof VodUploadError) {
    const hints: Record<string, string> = {
      'signature-refused': 'The server refused to sign the upload',
      'credentials-expired': 'The upload credentials expired',
      network: 'The network failed',
      cancelled: 'Upload cancelled',
      'processing-failed': 'VOD could not process this video',
      timeout: 'Processing is taking too long',
      'bad-input': 'This file cannot be uploaded',
    };
    return `${hints[error.kind] ?? 'The upload failed'}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function formatBytes(n: number): string {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`;
}

function onProgress(p: UploadProgress): void {
  $<HTMLProgressElement>('progress').value = p.fraction;
  const rate = p.bytesPerSecond > 0 ? `, ${formatBytes(p.bytesPerSecond)}/s` : '';
  const eta = p.etaSeconds !== undefined ? `, ${Math.ceil(p.etaSeconds)} s left` : '';
  $('progress-text').textContent = `${formatBytes(p.loaded)} of ${formatBytes(p.total)}${rate}${eta}`;
}

function figure(media: HTMLElement, caption: string): HTMLElement {
  const fig = document.createElement('figure');
  const cap = document.createElement('figcaption');
  cap.textContent = caption;
  fig.append(media, cap);
  return fig;
}

function image(url: string, caption: string): HTMLElement {
  const img = document.createElement('img');
  img.src = url;
  img.alt = caption;
  return figure(img, caption);
}

function showGallery(view: UploadView): void {
  const renditions = $('renditions');
  const images = $('images');
  const sprite = $('sprite');
  renditions.replaceChildren();
  images.replaceChildren();
  sprite.replaceChildren();
  for (const r of view.renditions ?? []) {
    const video = document.createElement('video');
    video.src = r.url;
    video.controls = true;
    video.muted = true;
    video.preload = 'auto';
    if (view.cover?.url) video.poster = view.cover.url;
    renditions.append(
      figure(
        video,
        `${r.height ?? '?'}p · template ${r.definition ?? '?'}${r.bitrate ? ` · ${Math.round(r.bitrate / 1000)} kbps` : ''}`,
      ),
    );
  }
  if (view.cover?.url) images.append(image(view.cover.url, 'cover'));
  for (const s of view.snapshots ?? []) images.append(image(s.url, `snapshot at ${((s.timeOffsetMs ?? 0) / 1000).toFixed(1)} s`));
  for (const [i, url] of (view.sprite?.imageUrls ?? []).entries()) sprite.append(image(url, `sprite sheet ${i + 1}`));
  $('gallery').hidden = false;
  showPlayer(view);
}

/** The status line: the status (a badge) and, with a review, why nothing plays yet (or any more). */
function showStatus(status: string, view?: UploadView): void {
  setBadge($('status'), status);
  const note = view ? reviewNote(view) : undefined;
  $('review-note').textContent = note ?? '';
  $('review-note').hidden = note === undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = () => {
      clearTimeout(timer);
      reject(new VodUploadError('cancelled', 'stopped following the upload'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
}

/**
 * Polls the upload until nothing more happens to it (ENDED). While IN_REVIEW it waits for the person, however
 * long (the page shows it, and opens the player once READY); processing itself gets PROCESSING_TIMEOUT_MS.
 */
async function follow(uploader: VodUploader, uploadId: string, signal: AbortSignal): Promise<UploadView> {
  let deadline = Date.now() + PROCESSING_TIMEOUT_MS;
  let interval = 500;
  let last: string | undefined;
  for (;;) {
    const view = await uploader.getUpload(uploadId, signal);
    if (view.status !== last) {
      last = view.status;
      showStatus(view.status, view);
      if (view.status === 'IN_REVIEW') {
        // Waiting for a person: no cancel (nothing to cancel), the library shows it too.
        $<HTMLButtonElement>('cancel').disabled = true;
        void library?.refresh();
      }
    }
    if (ENDED.has(view.status)) return view;
    if (view.status === 'IN_REVIEW') deadline = Date.now() + PROCESSING_TIMEOUT_MS;
    if (Date.now() > deadline) {
      throw new VodUploadError('timeout', `upload ${uploadId} is still ${view.status} after ${PROCESSING_TIMEOUT_MS} ms`);
    }
    await sleep(view.status === 'IN_REVIEW' ? 2000 : interval, signal);
    interval = Math.min(5000, Math.round(interval * 1.5));
  }
}

async function upload(file: File): Promise<void> {
  if (!session) return;
  // A new upload stops following the previous one.
  controller?.abort();
  const mine = new AbortController();
  controller = mine;
  showError(undefined);
  $('gallery').hidden = true;
  for (const id of ['renditions', 'images', 'sprite']) $(id).replaceChildren();
  hidePlayer();
  $('progress-box').hidden = false;
  $('file-name').textContent = file.name;
  showStatus('uploading');
  $<HTMLButtonElement>('cancel').disabled = false;
  const uploader = new VodUploader({
    apiBaseUrl: session.apiUrl,
    token: session.token,
    vodApiUrl: session.vodApiUrl,
    cosDomain: session.cosDomain,
  });
  try {
    const result = await uploader.upload(file, {
      signal: mine.signal,
      onProgress,
      onStage: (event) => {
        if (event.stage === 'commit') showStatus('committing');
        if (event.status) showStatus(event.status);
      },
    });
    const view = await follow(uploader, result.uploadId, mine.signal);
    if (view.status === 'READY') showGallery(view);
    else if (view.status !== 'BLOCKED') {
      const why = view.error?.message ? `: ${view.error.message}` : '';
      showError(describe(new VodUploadError('processing-failed', `upload ${result.uploadId} ended ${view.status}${why}`)));
    }
  } catch (error) {
    if (controller !== mine) return; // replaced by a newer upload: that one owns the page now
    showStatus('failed');
    showError(describe(error));
  } finally {
    if (controller === mine) {
      $<HTMLButtonElement>('cancel').disabled = true;
      void library?.refresh();
    }
  }
}

$('signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  showError(undefined);
  const userId = $<HTMLInputElement>('user').value.trim();
  try {
    const response = await fetch('/local/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId }),
    });
    const body = (await response.json()) as Session & { error?: { message: string } };
    if (!response.ok) throw new Error(body.error?.message ?? `sign-in failed (${response.status})`);
    session = body;
    $('who').textContent = `Signed in as ${session.userId}.`;
    $('who').hidden = false;
    // The review queue is this stack's own page (a local admin sign-in): linked only when review is on.
    const reviewMode = session.reviewMode ?? 'off';
    $('review-mode').textContent = reviewMode;
    $('review-link').hidden = reviewMode === 'off';
    $('upload').hidden = false;
    $('drop').hidden = false;
    library = new LibraryView(new VodUploader({ apiBaseUrl: session.apiUrl, token: session.token }));
    void library.refresh();
  } catch (error) {
    session = undefined;
    library = undefined;
    $('library').hidden = true;
    $('who').hidden = true;
    $('review-link').hidden = true;
    $('upload').hidden = false;
    $('drop').hidden = true;
    showError(`Could not sign in: ${describe(error)}`);
  }
});

$<HTMLInputElement>('file').addEventListener('change', (event) => {
  const input = event.target as HTMLInputElement;
  const file = input.files?.[0];
  // Cleared, so that choosing the same file again (after a failure or a cancel) starts a new upload.
  input.value = '';
  if (file) void upload(file);
});
$('cancel').addEventListener('click', () => controller?.abort());

const drop = $('drop');
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  const file = event.dataTransfer?.files[0];
  if (file) void upload(file);
  else showError('Drop a video file.');
});
