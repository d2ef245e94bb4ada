/**
 * The local demo page: sign in as a demo user, upload a video with the upload client (browser build),
 * follow its status until READY, and show what VOD produced; below it, the user's library and quota use
 * (library.ts).
 */
import { VodUploader, VodUploadError, type UploadProgress, type UploadView } from '../client/browser.ts';
import { LibraryView } from './library.ts';
import { showPlayer } from './player.ts';
import './webhook-log.ts';

interface Session {
  token: string;
  userId: string;
  apiUrl: string;
  vodApiUrl: string;
  cosDomain: string;
}

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

async function upload(file: File): Promise<void> {
  if (!session) return;
  showError(undefined);
  $('gallery').hidden = true;
  $('progress-box').hidden = false;
  $('file-name').textContent = file.name;
  $('status').textContent = 'uploading';
  $<HTMLButtonElement>('cancel').disabled = false;
  controller = new AbortController();
  const uploader = new VodUploader({
    apiBaseUrl: session.apiUrl,
    token: session.token,
    vodApiUrl: session.vodApiUrl,
    cosDomain: session.cosDomain,
  });
  try {
    const result = await uploader.upload(file, {
      signal: controller.signal,
      onProgress,
      onStage: (event) => {
        if (event.stage === 'commit') $('status').textContent = 'committing';
        if (event.status) $('status').textContent = event.status;
      },
      waitForReady: { timeoutMs: 10 * 60_000, intervalMs: 500, onStatus: (view) => ($('status').textContent = view.status) },
    });
    $('status').textContent = result.status;
    if (result.upload) showGallery(result.upload);
  } catch (error) {
    $('status').textContent = 'failed';
    showError(describe(error));
  } finally {
    $<HTMLButtonElement>('cancel').disabled = true;
    void library?.refresh();
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
    $('upload').hidden = false;
    $('drop').hidden = false;
    library = new LibraryView(new VodUploader({ apiBaseUrl: session.apiUrl, token: session.token }));
    void library.refresh();
  } catch (error) {
    session = undefined;
    library = undefined;
    $('library').hidden = true;
    $('who').hidden = true;
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
