/** The ffmpeg filter graph of a video output: scaling and the watermarks of `WatermarkSet`. */
import fs from 'node:fs';
import path from 'node:path';
import { findFontFile } from '../templates.ts';
import type { WatermarkTemplate } from '../templates.ts';
import type { ExecContext } from './execution.ts';
import { invalidInput, SubtaskError } from './subtask-error.ts';

export const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/** Output size for a preset: short side = min(preset, source) (never upscale), aspect ratio kept. */
export function fitShortSide(width: number, height: number, shortSide: number): { width: number; height: number } {
  const sourceShort = Math.min(width, height);
  const target = Math.min(shortSide, sourceShort);
  const scale = target / sourceShort;
  return { width: even(width * scale), height: even(height * scale) };
}

/** Pixels from `12` or `'5%'` (of `base`). */
function px(value: number | string | undefined, base: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return Math.round(value);
  const m = /^(\d+(?:\.\d+)?)(%|px)?$/.exec(value.trim());
  if (!m) return fallback;
  return m[2] === '%' ? Math.round((Number(m[1]) / 100) * base) : Math.round(Number(m[1]));
}

interface GraphInput {
  /** Extra `-i` inputs (after the source, which is input 0). */
  args: string[];
  /** Filter chains, ending in `[vout]`. */
  graph: string;
}

/**
 * The filter graph for the source video: optional scale, then each watermark of `WatermarkSet`
 * (image templates overlay their PNG; text templates drawtext), ending in `[vout]`. Files the graph
 * needs are linked into `dir`, which ffmpeg runs in, so their names need no escaping.
 */
export function videoGraph(
  e: ExecContext,
  size: { width: number; height: number } | undefined,
  extra: string[] = [],
  seekSeconds = 0,
): GraphInput {
  const chains: string[] = [];
  const args: string[] = [];
  let label = '0:v';
  let n = 0;
  const next = () => `v${n++}`;
  const width = size?.width ?? e.source.width;
  const height = size?.height ?? e.source.height;
  if (size) {
    const out = next();
    chains.push(`[${label}]scale=${size.width}:${size.height}:flags=bicubic,setsar=1[${out}]`);
    label = out;
  }
  const watermarks = Array.isArray(e.input.WatermarkSet) ? (e.input.WatermarkSet as Record<string, unknown>[]) : [];
  watermarks.forEach((w, i) => {
    const definition = Number(w.Definition);
    const template: WatermarkTemplate | undefined = e.ctx.options.watermarkTemplates[definition];
    if (!template) throw invalidInput(`the watermark template ${definition} does not exist`, 'InvalidInput.DefinitionNotExist');
    const start = typeof w.StartTimeOffset === 'number' ? w.StartTimeOffset : undefined;
    const end = typeof w.EndTimeOffset === 'number' && w.EndTimeOffset > 0 ? w.EndTimeOffset : undefined;
    // Input seeking (`-ss` before `-i`) restarts timestamps at 0: shift the window by the seek.
    const enable =
      start !== undefined || end !== undefined
        ? `:enable=between(t\\,${(start ?? 0) - seekSeconds}\\,${(end ?? 1e9) - seekSeconds})`
        : '';
    const origin = template.origin ?? 'TopLeft';
    const x = px(template.x, width, 0);
    const y = px(template.y, height, 0);
    const out = next();
    if (template.type === 'image') {
      const image = template.imageFile;
      if (!image || !fs.existsSync(image))
        throw new SubtaskError(
          'InternalError',
          70000,
          `the image of watermark template ${definition} is missing (${image ?? 'none'})`,
        );
      const name = `wm${i}.png`;
      linkInto(image, path.join(e.dir, name));
      args.push('-i', name);
      const inputIndex = args.filter((a) => a === '-i').length;
      const wmWidth = even(px(template.width, width, Math.round(width * 0.2)));
      const ox = origin.endsWith('Right') ? `main_w-overlay_w-${x}` : `${x}`;
      const oy = origin.startsWith('Bottom') ? `main_h-overlay_h-${y}` : `${y}`;
      const wm = `w${i}`;
      chains.push(`[${inputIndex}:v]scale=${wmWidth}:-1,format=rgba[${wm}]`);
      chains.push(`[${label}][${wm}]overlay=x=${ox}:y=${oy}:format=auto${enable}[${out}]`);
    } else {
      const font = findFontFile(e.ctx.options.fontFile);
      if (!font || !fs.existsSync(font)) {
        throw new SubtaskError(
          'InternalError',
          70000,
          'text watermarks need a font file: none of the usual system fonts was found; set the emulator option fontFile',
        );
      }
      const text = typeof w.TextContent === 'string' && w.TextContent !== '' ? w.TextContent : (template.text ?? '');
      linkInto(font, path.join(e.dir, `font${i}${path.extname(font)}`));
      fs.writeFileSync(path.join(e.dir, `text${i}.txt`), text.replace(/\r?\n/g, ' '));
      const size = Math.max(8, px(template.fontSize ?? '6%', height, Math.round(height * 0.06)));
      const alpha = template.fontAlpha ?? 0.9;
      const tx = origin.endsWith('Right') ? `w-text_w-${x}` : `${x}`;
      const ty = origin.startsWith('Bottom') ? `h-text_h-${y}` : `${y}`;
      chains.push(
        `[${label}]drawtext=fontfile=font${i}${path.extname(font)}:textfile=text${i}.txt:expansion=none:fontsize=${size}:fontcolor=${template.fontColor ?? 'white'}@${alpha}:x=${tx}:y=${ty}${enable}[${out}]`,
      );
    }
    label = out;
  });
  chains.push(`[${label}]${[...extra, 'null'].join(',')}[vout]`);
  return { args, graph: chains.join(';') };
}

function linkInto(file: string, target: string): void {
  fs.rmSync(target, { force: true });
  try {
    fs.symlinkSync(path.resolve(file), target);
  } catch {
    fs.copyFileSync(file, target);
  }
}
