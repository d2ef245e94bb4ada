/**
 * Publishing a subtask's outputs: they become objects in the media's bucket, beside the original
 * (`<dir>/v.f100010.mp4`, …), so the `/media/...` route serves them, and DescribeMediaInfos lists them.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { EmulatorContext } from '../context.ts';
import { mediaUrl } from '../context.ts';
import { isoTime } from '../times.ts';
import { objectIndexKey } from '../state.ts';
import type { DerivedEntry, DerivedKind, MediaRecord, ObjectMeta } from '../state.ts';
import { sourceError } from './subtask-error.ts';

export interface OutputFile {
  /** Local file in the work dir. */
  local: string;
  /** File name beside the original. */
  name: string;
}

export interface SubtaskResult {
  kind: DerivedKind;
  definition: number;
  files: OutputFile[];
  /** Builds the Output (and the DescribeMediaInfos item) from the published files' URLs and metadata. */
  output: (published: Map<string, ObjectMeta & { url: string }>) => Record<string, unknown>;
  /** The item listed in DescribeMediaInfos; default the Output. */
  item?: (output: Record<string, unknown>) => Record<string, unknown>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.vtt': 'text/vtt',
};

export function md5File(file: string): string {
  return createHash('md5').update(fs.readFileSync(file)).digest('hex');
}

/** Moves the outputs into object storage, records them on the media and returns the subtask Output. */
export function publish(ctx: EmulatorContext, media: MediaRecord, result: SubtaskResult): Record<string, unknown> {
  if (!ctx.store.doc.media[media.fileId]) throw sourceError('the media was deleted while it was being processed');
  const published = new Map<string, ObjectMeta & { url: string }>();
  const metas: ObjectMeta[] = [];
  for (const f of result.files) {
    const key = `${path.posix.dirname(media.videoKey ?? `${media.fileId}/x`)}/${f.name}`;
    const target = ctx.files.objectPath(media.bucket, key);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const md5 = md5File(f.local);
    const size = fs.statSync(f.local).size;
    fs.renameSync(f.local, target);
    const meta: ObjectMeta = {
      bucket: media.bucket,
      key,
      size,
      etag: `"${md5}"`,
      md5,
      contentType: CONTENT_TYPES[path.extname(f.name)] ?? 'application/octet-stream',
      lastModified: ctx.now(),
      file: target,
    };
    metas.push(meta);
    published.set(f.name, { ...meta, url: mediaUrl(ctx, `/${key}`) });
  }
  const output = result.output(published);
  // `output` may have written a file (the sprite's WebVTT names the published URLs).
  for (const meta of metas) {
    const size = fs.statSync(meta.file).size;
    if (size !== meta.size || meta.size === 0)
      Object.assign(meta, { size, md5: md5File(meta.file), etag: `"${md5File(meta.file)}"` });
  }
  const item = result.item ? result.item(output) : output;
  const keys = metas.map((m) => m.key);
  const stale: string[] = [];
  ctx.store.update((doc) => {
    for (const meta of metas) doc.objects[objectIndexKey(meta.bucket, meta.key)] = meta;
    const current = doc.media[media.fileId];
    if (!current) return;
    current.derived ??= [];
    const derived = current.derived;
    const previous = derived.findIndex((d) => d.kind === result.kind && d.definition === result.definition);
    const entry: DerivedEntry = { kind: result.kind, definition: result.definition, item, keys };
    if (previous >= 0) {
      for (const key of derived[previous]!.keys) if (!keys.includes(key)) stale.push(key);
      derived[previous] = entry;
    } else {
      derived.push(entry);
    }
    for (const key of stale) {
      const meta = doc.objects[objectIndexKey(current.bucket, key)];
      if (meta) ctx.files.remove(meta.file);
      delete doc.objects[objectIndexKey(current.bucket, key)];
    }
    if (result.kind === 'cover' && typeof output.CoverUrl === 'string') {
      current.basicInfo.CoverUrl = output.CoverUrl;
      current.basicInfo.UpdateTime = isoTime(ctx.now());
    }
  });
  return output;
}

/** Removes derived files (all, or those of some kinds/definitions) of a media. */
export function deleteDerived(ctx: EmulatorContext, media: MediaRecord, match: (entry: DerivedEntry) => boolean): DerivedEntry[] {
  const removed = (media.derived ?? []).filter(match);
  if (removed.length === 0) return [];
  ctx.store.update((doc) => {
    media.derived = (media.derived ?? []).filter((e) => !match(e));
    for (const entry of removed) {
      for (const key of entry.keys) {
        const meta = doc.objects[objectIndexKey(media.bucket, key)];
        if (meta) ctx.files.remove(meta.file);
        delete doc.objects[objectIndexKey(media.bucket, key)];
      }
    }
  });
  return removed;
}
