/**
 * The demo page's player: the adaptive HLS stream through hls.js (bundled), the MP4 renditions as the
 * fallback, the cover as poster, and the sprite's WebVTT as hover thumbnails over a timeline. With Key
 * hotlink protection the playlists list their segments by relative name, so each request hls.js makes
 * gets the signed playlist's query appended (docs/vod-protocol/hotlink.md §8.3).
 */
import Hls from 'hls.js';
import type { UploadView } from '../client/browser.ts';

interface Cue {
  start: number;
  end: number;
  image: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** What the tests read and drive (`window.demoPlayer`). */
export interface DemoPlayer {
  hls?: Hls;
  source: 'hls' | 'mp4' | 'none';
  levelSwitches: number[];
  cues: Cue[];
}

declare global {
  interface Window {
    demoPlayer?: DemoPlayer;
  }
}

/** The query of a signed URL ('' when unsigned), carried to every file beside it. */
function signedQuery(url: string): string {
  return new URL(url, location.href).search;
}

/** `00:01:02.500` or `01:02.500` → seconds. */
function vttSeconds(stamp: string): number {
  return stamp.split(':').reduce((total, part) => total * 60 + Number(part), 0);
}

/** The cues of a sprite WebVTT (`<image url>#xywh=x,y,w,h`), image URLs swapped for their signed form. */
export function parseSpriteVtt(text: string, vttUrl: string, signedImages: string[]): Cue[] {
  const signedByPath = new Map(signedImages.map((url) => [new URL(url, location.href).pathname, url]));
  const cues: Cue[] = [];
  const blocks = text.replace(/\r/g, '').split(/\n\n+/);
  for (const block of blocks) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    const timing = lines.findIndex((l) => l.includes('-->'));
    if (timing < 0 || !lines[timing + 1]) continue;
    const [from, to] = lines[timing]!.split('-->').map((s) => s.trim().split(/\s+/)[0]!);
    const match = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(lines[timing + 1]!.trim());
    if (!match) continue;
    const absolute = new URL(match[1]!, vttUrl);
    const image = signedByPath.get(absolute.pathname) ?? absolute.href;
    cues.push({
      start: vttSeconds(from!),
      end: vttSeconds(to!),
      image,
      x: Number(match[2]),
      y: Number(match[3]),
      w: Number(match[4]),
      h: Number(match[5]),
    });
  }
  return cues;
}

function attachSource(video: HTMLVideoElement, view: UploadView, state: DemoPlayer): void {
  const adaptive = view.adaptiveStreams?.[0]?.url;
  const mp4 = [...(view.renditions ?? [])]
    .filter((r) => (r.container ?? 'mp4') === 'mp4' || r.url.includes('.mp4'))
    .sort((a, b) => (b.height ?? 0) - (a.height ?? 0))[0]?.url;
  const fallback = () => {
    if (!mp4) return;
    state.source = 'mp4';
    video.src = mp4;
  };
  if (adaptive && Hls.isSupported()) {
    const query = signedQuery(adaptive);
    const hls = new Hls({
      xhrSetup: (xhr, url) => {
        // A segment or sub-playlist resolved against the signed playlist has lost its query: add it back.
        const target = query && !/[?&]sign=/.test(url) ? `${url}${url.includes('?') ? '&' : '?'}${query.slice(1)}` : url;
        xhr.open('GET', target, true);
      },
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => state.levelSwitches.push(data.level));
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) {
        hls.destroy();
        state.hls = undefined;
        fallback();
      }
    });
    hls.loadSource(adaptive);
    hls.attachMedia(video);
    state.hls = hls;
    state.source = 'hls';
  } else if (adaptive && video.canPlayType('application/vnd.apple.mpegurl')) {
    state.source = 'hls';
    video.src = adaptive; // native HLS (Safari); no query carrying possible there
  } else {
    fallback();
  }
}

async function attachThumbnails(
  video: HTMLVideoElement,
  timeline: HTMLElement,
  thumb: HTMLElement,
  view: UploadView,
  state: DemoPlayer,
): Promise<void> {
  const vtt = view.sprite?.webVttUrl;
  if (!vtt) return;
  const response = await fetch(vtt);
  if (!response.ok) return;
  state.cues = parseSpriteVtt(await response.text(), vtt, view.sprite?.imageUrls ?? []);
  timeline.hidden = false;
  const at = (event: MouseEvent) => {
    const box = timeline.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    return fraction * (Number.isFinite(video.duration) ? video.duration : (state.cues.at(-1)?.end ?? 0));
  };
  timeline.addEventListener('mousemove', (event) => {
    const time = at(event);
    const cue = state.cues.find((c) => time >= c.start && time < c.end) ?? state.cues.at(-1);
    if (!cue) return;
    thumb.style.width = `${cue.w}px`;
    thumb.style.height = `${cue.h}px`;
    thumb.style.backgroundImage = `url("${cue.image}")`;
    thumb.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
    thumb.style.left = `${event.clientX - timeline.getBoundingClientRect().left - cue.w / 2}px`;
    thumb.dataset.time = time.toFixed(2);
    thumb.hidden = false;
  });
  timeline.addEventListener('mouseleave', () => (thumb.hidden = true));
  timeline.addEventListener('click', (event) => (video.currentTime = at(event)));
}

/** Plays the upload's best stream in `#player`; replaces whatever played before. */
export function showPlayer(view: UploadView): DemoPlayer {
  window.demoPlayer?.hls?.destroy();
  const video = document.getElementById('player') as HTMLVideoElement;
  const timeline = document.getElementById('timeline') as HTMLElement;
  const thumb = document.getElementById('thumb') as HTMLElement;
  const state: DemoPlayer = { source: 'none', levelSwitches: [], cues: [] };
  window.demoPlayer = state;
  video.removeAttribute('src');
  if (view.cover?.url) video.poster = view.cover.url;
  attachSource(video, view, state);
  void attachThumbnails(video, timeline, thumb, view, state);
  (document.getElementById('player-box') as HTMLElement).hidden = false;
  return state;
}

/** Stops and hides the player (a new upload, or one that may not play: IN_REVIEW, BLOCKED). */
export function hidePlayer(): void {
  window.demoPlayer?.hls?.destroy();
  window.demoPlayer = undefined;
  const video = document.getElementById('player') as HTMLVideoElement;
  video.pause();
  video.removeAttribute('src');
  video.removeAttribute('poster');
  video.load();
  (document.getElementById('player-box') as HTMLElement).hidden = true;
  (document.getElementById('timeline') as HTMLElement).hidden = true;
}
