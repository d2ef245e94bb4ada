/**
 * The delivery checks of `verify:deployment`: fetch what media-status handed out, through its (signed)
 * URLs, as a viewer would, and check that it is media: an MP4 `ftyp` box (then ffprobe), image magic
 * bytes, an HLS playlist and one of its segments. HLS under Key hotlink protection: a plain player drops
 * the playlist's query when it resolves a segment URI, so the check carries it along, as a player must
 * (docs/vod-protocol/hotlink.md §8.3), and reports whether the CDN rewrote the playlist itself.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { VERIFY_EXIT, type Failure } from './diagnosis.ts';

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }

  failure(): Failure {
    return { saw: this.message, hint: this.hint, exit: VERIFY_EXIT.deliveryFailed };
  }
}

const MAX_BYTES = 64 * 1024 * 1024;

/** Host and path: signed queries are not secrets, but they are long and say nothing to the reader. */
export function shortUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return url.slice(0, 80);
  }
}

/** GETs a media URL; a non-200 becomes a DeliveryError that says what the status means. */
export async function fetchMedia(url: string, timeoutMs = 30_000): Promise<Buffer> {
  let answer: Response;
  try {
    answer = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new DeliveryError(
      `GET ${shortUrl(url)} failed: ${error instanceof Error ? error.message : String(error)}`,
      'the media domain is unreachable from here',
    );
  }
  const body = Buffer.from(await answer.arrayBuffer());
  if (answer.status === 200 || answer.status === 206) {
    if (body.length > MAX_BYTES)
      throw new DeliveryError(`GET ${shortUrl(url)}: ${body.length} bytes, more than a test clip's`, 'an unexpected file');
    return body;
  }
  const signed = /[?&]sign=/.test(url);
  const hint =
    answer.status === 403
      ? signed
        ? "the CDN refused the signed URL: HOTLINK_KEY on media-status is not the Key set for the VOD domain, or this machine's clock and the CDN's differ by more than 300 s"
        : 'the CDN refused an unsigned URL: the VOD domain has Key hotlink protection on, so set HOTLINK_KEY on media-status to its key'
      : answer.status === 404
        ? "the URL VOD reported does not exist (yet): the domain is not the sub-application's, or the file was deleted"
        : 'an unexpected answer from the media domain';
  throw new DeliveryError(`GET ${shortUrl(url)} answered ${answer.status}: ${body.toString('utf8', 0, 160).trim()}`, hint);
}

/** What kind of file the first bytes say it is, or undefined. */
export function sniff(body: Buffer): 'mp4' | 'jpeg' | 'png' | 'webp' | 'gif' | 'ts' | 'm3u8' | undefined {
  if (body.length >= 8 && body.toString('latin1', 4, 8) === 'ftyp') return 'mp4';
  if (body.length >= 3 && body[0] === 0xff && body[1] === 0xd8 && body[2] === 0xff) return 'jpeg';
  if (body.length >= 8 && body.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (body.length >= 12 && body.toString('latin1', 0, 4) === 'RIFF' && body.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  if (body.length >= 6 && /^GIF8[79]a$/.test(body.toString('latin1', 0, 6))) return 'gif';
  if (body.length >= 188 && body[0] === 0x47 && (body.length < 377 || body[188] === 0x47)) return 'ts';
  if (body.toString('utf8', 0, 7) === '#EXTM3U') return 'm3u8';
  return undefined;
}

/** ffprobe's view of a file (format and first video stream), or undefined when no ffprobe binary is at hand. */
async function probe(file: string): Promise<{ duration?: number; codec?: string; width?: number; height?: number } | undefined> {
  let binary = process.env.FFPROBE_PATH;
  if (!binary) {
    try {
      binary = (require('@ffprobe-installer/ffprobe') as { path: string }).path;
    } catch {
      return undefined;
    }
  }
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      binary!,
      ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file],
      { timeout: 30_000 },
      (error, stdout, stderr) =>
        error
          ? reject(
              new DeliveryError(`ffprobe cannot read it: ${stderr.trim() || error.message}`, 'the file is not playable media'),
            )
          : resolve(stdout),
    ),
  );
  const parsed = JSON.parse(out) as {
    format?: { duration?: string };
    streams?: Array<{ codec_type?: string; codec_name?: string; width?: number; height?: number }>;
  };
  const video = parsed.streams?.find((s) => s.codec_type === 'video');
  return {
    duration: Number(parsed.format?.duration) || undefined,
    codec: video?.codec_name,
    width: video?.width,
    height: video?.height,
  };
}

/** An MP4 rendition: `ftyp` first, then ffprobe finds a video stream. */
export async function checkMp4(url: string, workDir: string): Promise<string> {
  const body = await fetchMedia(url);
  const kind = sniff(body);
  if (kind !== 'mp4')
    throw new DeliveryError(
      `${shortUrl(url)} is not an MP4 (first bytes ${body.subarray(0, 8).toString('hex')})`,
      'the URL serves something else than the rendition',
    );
  const file = path.join(workDir, 'rendition.mp4');
  fs.writeFileSync(file, body);
  const facts = await probe(file);
  const size = `${(body.length / 1024).toFixed(1)} KiB`;
  if (!facts) return `MP4 (ftyp), ${size}`;
  if (!facts.codec) throw new DeliveryError(`${shortUrl(url)}: ffprobe finds no video stream`, 'the rendition has no video');
  return `MP4 (ftyp), ${size}, ffprobe: ${facts.codec} ${facts.width}x${facts.height}, ${facts.duration?.toFixed(1)} s`;
}

/** The cover: an image by its magic bytes. */
export async function checkImage(url: string): Promise<string> {
  const body = await fetchMedia(url);
  const kind = sniff(body);
  if (kind !== 'jpeg' && kind !== 'png' && kind !== 'webp' && kind !== 'gif') {
    throw new DeliveryError(
      `${shortUrl(url)} is not an image (first bytes ${body.subarray(0, 8).toString('hex')})`,
      'the cover URL serves something else than an image',
    );
  }
  return `${kind.toUpperCase()}, ${(body.length / 1024).toFixed(1)} KiB`;
}

/** The URIs of a playlist, in order. */
const playlistUris = (text: string) =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

/**
 * A URI of a playlist as a player must request it: resolved against the playlist's URL and, unless the
 * CDN already signed it, with the playlist's query (the `Dir` signature covers files beside it).
 */
function segmentUrl(uri: string, playlistUrl: string): { url: string; rewritten: boolean } {
  const resolved = new URL(uri, playlistUrl);
  if (resolved.searchParams.has('sign')) return { url: resolved.toString(), rewritten: true };
  const query = new URL(playlistUrl).search;
  return {
    url: query ? `${resolved.toString()}${resolved.search ? `&${query.slice(1)}` : query}` : resolved.toString(),
    rewritten: false,
  };
}

/** An HLS stream: the playlist (and a master's first variant), then its first segment. */
export async function checkHls(url: string): Promise<string> {
  let playlistUrl = url;
  let text = (await fetchMedia(playlistUrl)).toString('utf8');
  if (!text.startsWith('#EXTM3U'))
    throw new DeliveryError(`${shortUrl(url)} is not an HLS playlist`, 'the adaptive stream URL serves something else');
  let rewritten: boolean | undefined;
  if (text.includes('#EXT-X-STREAM-INF')) {
    const first = playlistUris(text)[0];
    if (!first)
      throw new DeliveryError(`${shortUrl(url)}: a master playlist without variants`, 'VOD produced an empty adaptive stream');
    const variant = segmentUrl(first, playlistUrl);
    rewritten = variant.rewritten;
    playlistUrl = variant.url;
    text = (await fetchMedia(playlistUrl)).toString('utf8');
  }
  const first = playlistUris(text)[0];
  if (!first) throw new DeliveryError(`${shortUrl(playlistUrl)}: a playlist without segments`, 'VOD produced an empty stream');
  const segment = segmentUrl(first, playlistUrl);
  rewritten ??= segment.rewritten;
  const body = await fetchMedia(segment.url);
  const kind = sniff(body);
  if (kind !== 'ts' && kind !== 'mp4') {
    throw new DeliveryError(
      `${shortUrl(segment.url)} is not a TS or fMP4 segment (first bytes ${body.subarray(0, 8).toString('hex')})`,
      'the segment URL serves something else',
    );
  }
  let how = rewritten ? 'the CDN signed the URIs in the playlist' : 'unsigned';
  if (!rewritten && /[?&]sign=/.test(url)) {
    // What a player that does no rewriting would request: the URI resolved as written, without the query.
    const plain = await fetch(new URL(first, playlistUrl), { signal: AbortSignal.timeout(30_000) });
    await plain.arrayBuffer();
    how = `the playlist's query carried to the segment; without it (a plain player) the CDN answers ${plain.status}`;
  }
  return `playlist + ${kind.toUpperCase()} segment ${(body.length / 1024).toFixed(1)} KiB; ${how}`;
}
