/** Image sprites (`ImageSpriteTaskSet`): grids of thumbnails and the WebVTT that maps times to cells. */
import fs from 'node:fs';
import path from 'node:path';
import { IMAGE_SPRITE_PRESETS } from '../../templates.ts';
import { definitionOf, run } from '../execution.ts';
import type { Executor } from '../execution.ts';
import type { OutputFile } from '../publish.ts';
import { invalidInput, SubtaskError } from '../subtask-error.ts';

const vttTime = (s: number) => {
  const ms = Math.round(s * 1000);
  const h = Math.floor(ms / 3600_000);
  const m = Math.floor((ms % 3600_000) / 60_000);
  const sec = Math.floor((ms % 60_000) / 1000);
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')}`;
};

export const imageSprite: Executor = async (e) => {
  const definition = definitionOf(e.input);
  const p = IMAGE_SPRITE_PRESETS[definition];
  if (!p) throw invalidInput(`the image sprite template ${definition} does not exist`, 'InvalidInput.DefinitionNotExist');
  const base = `imageSprite.${definition}`;
  const select = `select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,${p.intervalSeconds})'`;
  const vf = `${select},scale=${p.width}:${p.height}:force_original_aspect_ratio=decrease,pad=${p.width}:${p.height}:(ow-iw)/2:(oh-ih)/2,setsar=1,tile=${p.columns}x${p.rows}`;
  await run(
    e,
    ['-i', e.source.file, '-an', '-vf', vf, '-vsync', '0', '-q:v', '3', `${base}_%d.jpg`],
    e.source.duration,
    e.onProgress,
  );
  const images = fs
    .readdirSync(e.dir)
    .filter((f) => f.startsWith(`${base}_`) && f.endsWith('.jpg'))
    .sort((a, b) => Number(/_(\d+)\.jpg$/.exec(a)![1]) - Number(/_(\d+)\.jpg$/.exec(b)![1]));
  if (images.length === 0) throw new SubtaskError('InternalError', 70000, 'ffmpeg produced no sprite image');
  const perImage = p.rows * p.columns;
  const total = Math.min(Math.max(1, Math.ceil(e.source.duration / p.intervalSeconds)), images.length * perImage);
  const files: OutputFile[] = images.map((name) => ({ local: path.join(e.dir, name), name }));
  const vttName = `${base}.vtt`;
  files.push({ local: path.join(e.dir, vttName), name: vttName });
  // The WebVTT names the published image URLs, so it is written by `output` once they are known.
  fs.writeFileSync(path.join(e.dir, vttName), '');
  return {
    kind: 'imageSprite',
    definition,
    files,
    output: (published) => {
      const lines = ['WEBVTT', ''];
      for (let i = 0; i < total; i++) {
        const image = published.get(images[Math.floor(i / perImage)]!)!;
        const cell = i % perImage;
        const x = (cell % p.columns) * p.width;
        const y = Math.floor(cell / p.columns) * p.height;
        const start = i * p.intervalSeconds;
        const end = Math.min(e.source.duration, (i + 1) * p.intervalSeconds);
        lines.push(
          `${vttTime(start)} --> ${vttTime(Math.max(end, start + 0.001))}`,
          `${image.url}#xywh=${x},${y},${p.width},${p.height}`,
          '',
        );
      }
      const vtt = published.get(vttName)!;
      fs.writeFileSync(vtt.file, lines.join('\n'));
      return {
        Definition: definition,
        Height: p.height,
        Width: p.width,
        TotalCount: total,
        ImageUrlSet: images.map((name) => published.get(name)!.url),
        WebVttUrl: vtt.url,
      };
    },
  };
};
