/**
 * The CDN side of Key hotlink protection for `/media/...` (docs/vod-protocol/hotlink.md §8): signed URLs verified
 * as VOD's CDN does, off unless the `hotlinkKey` option is set. Then:
 * - a URL without `t`/`sign`, with a signature that does not match (wrong key, Dir or edited
 *   parameters), or past `t` + 300 s gets 403 (the check is `verifyPlaybackUrl` from `#lib/playback-url-signer`);
 * - `rlimit`: at most that many distinct client IPs per signed URL (counted in memory), others 403;
 * - `exper`: only a preview is served: an HLS playlist lists only the segments of the first `exper`
 *   seconds (later segments get 403), an MP4 is cut to `exper` seconds (stream copy, cached);
 * - HLS: playlists are served as stored, their URIs NOT rewritten. Tencent's docs do not say that the
 *   CDN appends the playlist's query to the URIs inside it (docs/vod-protocol/hotlink.md §8.3), so the
 *   emulator does not guess: a player that resolves the relative URIs as written requests unsigned
 *   segments and gets 403; one that carries the playlist's query along gets them (the one Dir signature
 *   covers every file beside the playlist).
 * Not emulated: the referer and region lists (`whref`, `bkref`, `whreg`, `bkreg`) are part of the
 * signature but not enforced.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifyPlaybackUrl } from '#lib/playback-url-signer';
import type { EmulatorContext } from './context.ts';
import { ffmpegPath, runFfmpeg } from './ffmpeg.ts';
import type { ObjectMeta } from './state.ts';

export type KeyCheckDecision = { ok: true; exper: number } | { ok: false; reason: string };

export class CdnKeyCheck {
  /** sign → client IPs seen (rlimit). */
  private readonly clients = new Map<string, Set<string>>();
  private readonly previews = new Map<string, Promise<string>>();

  constructor(private readonly ctx: EmulatorContext) {}

  get enabled(): boolean {
    return this.ctx.options.hotlinkKey !== undefined;
  }

  check(req: IncomingMessage, rawPath: string, rawQuery: string): KeyCheckDecision {
    const key = this.ctx.options.hotlinkKey;
    if (key === undefined) return { ok: true, exper: 0 };
    const verdict = verifyPlaybackUrl(rawQuery ? `${rawPath}?${rawQuery}` : rawPath, key, Math.floor(this.ctx.now() / 1000));
    if (verdict !== 'ok') return { ok: false, reason: verdict };
    const params = new URLSearchParams(rawQuery);
    const sign = params.get('sign')!.toLowerCase();
    const rlimit = Number(params.get('rlimit') ?? 0);
    if (rlimit > 0) {
      const ip = req.socket.remoteAddress ?? '';
      const seen = this.clients.get(sign) ?? new Set<string>();
      if (!seen.has(ip) && seen.size >= rlimit)
        return { ok: false, reason: `rlimit: already played from ${seen.size} IP address(es)` };
      seen.add(ip);
      this.clients.set(sign, seen);
    }
    return { ok: true, exper: Number(params.get('exper') ?? 0) || 0 };
  }

  /** A playlist as served under hotlink protection: its URIs as stored, cut to the preview when `exper`. */
  playlist(meta: ObjectMeta, decision: { exper: number }): string {
    const lines = fs.readFileSync(meta.file, 'utf8').split('\n');
    const out: string[] = [];
    let elapsed = 0;
    let pending: number | undefined;
    let cut = false;
    for (const line of lines) {
      if (cut) continue;
      if (line === '' || line.startsWith('#')) {
        const extinf = /^#EXTINF:([\d.]+)/.exec(line);
        if (extinf) pending = Number(extinf[1]);
        out.push(line);
        continue;
      }
      out.push(line);
      if (pending !== undefined) {
        elapsed += pending;
        pending = undefined;
        if (decision.exper > 0 && elapsed >= decision.exper) cut = true;
      }
    }
    if (cut) out.push('#EXT-X-ENDLIST', '');
    return out.join('\n');
  }

  /**
   * Where an HLS segment starts (s), from the playlist beside it that lists it; 0 when none does.
   * A preview URL (`exper`) may not fetch segments past the preview.
   */
  segmentStart(segment: ObjectMeta): number {
    const dir = segment.key.slice(0, segment.key.lastIndexOf('/') + 1);
    const name = segment.key.slice(dir.length);
    for (const meta of Object.values(this.ctx.store.doc.objects)) {
      if (
        meta.bucket !== segment.bucket ||
        !meta.key.startsWith(dir) ||
        !meta.key.endsWith('.m3u8') ||
        meta.key.slice(dir.length).includes('/')
      )
        continue;
      let elapsed = 0;
      let pending = 0;
      for (const line of fs.readFileSync(meta.file, 'utf8').split('\n')) {
        const extinf = /^#EXTINF:([\d.]+)/.exec(line);
        if (extinf) pending = Number(extinf[1]);
        else if (line && !line.startsWith('#')) {
          if (line.split('?')[0] === name) return elapsed;
          elapsed += pending;
          pending = 0;
        }
      }
    }
    return 0;
  }

  /** The first `seconds` of an MP4 (stream copy), made once per file and length. */
  preview(meta: ObjectMeta, seconds: number): Promise<string> {
    const id = createHash('sha256').update(`${meta.file}\n${meta.etag}\n${seconds}`).digest('hex').slice(0, 32);
    const target = path.join(this.ctx.options.dataDir, 'previews', `${id}.mp4`);
    let made = this.previews.get(id);
    if (!made) {
      made = (async () => {
        if (fs.existsSync(target)) return target;
        fs.mkdirSync(path.dirname(target), { recursive: true });
        const tmp = `${target}.${process.pid}.tmp.mp4`;
        await runFfmpeg(['-i', meta.file, '-t', String(seconds), '-map', '0', '-c', 'copy', '-movflags', '+faststart', tmp], {
          binary: ffmpegPath(this.ctx.options.ffmpegPath),
          timeoutMs: 120_000,
        });
        fs.renameSync(tmp, target);
        return target;
      })();
      made.catch(() => this.previews.delete(id));
      this.previews.set(id, made);
    }
    return made;
  }
}

/** A 403 of the CDN; `cause` says which rule refused (hotlink protection, a forbidden media). */
export function sendForbidden(res: ServerResponse, reason: string, cause = 'hotlink protection'): void {
  const body = `403 Forbidden (${cause}: ${reason})\n`;
  res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
