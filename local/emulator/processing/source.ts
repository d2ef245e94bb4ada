/** The source of a task: the media's original, probed once per task run. */
import fs from 'node:fs';
import path from 'node:path';
import type { EmulatorContext } from '../context.ts';
import { probeMedia } from '../probe.ts';
import { objectIndexKey } from '../state.ts';
import type { MediaRecord } from '../state.ts';
import { sourceError } from './subtask-error.ts';
import type { SubtaskError } from './subtask-error.ts';

export interface Source {
  media: MediaRecord;
  file: string;
  /** Displayed size (rotation applied). */
  width: number;
  height: number;
  duration: number;
  fps: number;
  hasAudio: boolean;
  /** Folder of the original's key: outputs go beside it. */
  dir: string;
}

export async function loadSource(ctx: EmulatorContext, fileId: string): Promise<Source | SubtaskError> {
  const media = ctx.store.doc.media[fileId];
  if (!media) return sourceError(`the media ${fileId} no longer exists`);
  if (!media.videoKey) return sourceError('the original file was deleted (DeleteMedia OriginalFiles); it cannot be processed');
  const meta = ctx.store.doc.objects[objectIndexKey(media.bucket, media.videoKey)];
  if (!meta || !fs.existsSync(meta.file)) return sourceError('the original file is missing from storage');
  const probe = await probeMedia(meta.file, meta.size, meta.md5, String(media.basicInfo.Type ?? ''), ctx.options.ffprobePath);
  const m = probe.metaData as {
    Width: number;
    Height: number;
    Rotate: number;
    Duration: number;
    VideoStreamSet: { Fps: number }[];
    AudioStreamSet: unknown[];
  };
  if (m.VideoStreamSet.length === 0 && m.AudioStreamSet.length === 0) {
    return sourceError(
      'the source file is not a media file ffmpeg can read (no audio or video stream found); it may be corrupt or of another type',
    );
  }
  if (m.VideoStreamSet.length === 0 || !m.Width || !m.Height)
    return sourceError('the source file has no video stream', 'SourceFileError.NoVideoMedia');
  const rotated = m.Rotate % 180 === 90;
  return {
    media,
    file: meta.file,
    width: rotated ? m.Height : m.Width,
    height: rotated ? m.Width : m.Height,
    duration: Math.max(m.Duration, 0),
    fps: m.VideoStreamSet[0]?.Fps || 25,
    hasAudio: m.AudioStreamSet.length > 0,
    dir: path.posix.dirname(media.videoKey),
  };
}
