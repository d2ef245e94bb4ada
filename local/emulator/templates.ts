/**
 * The processing templates the emulator knows: VOD's preset (system) templates from docs/vod-protocol/media-api.md §5.7,
 * the watermark templates (one image and one text template ship with the emulator; more by option), and
 * the task-flow templates (procedures) that ProcessMediaByProcedure and a signature's `procedure` name.
 */
import path from 'node:path';
import fs from 'node:fs';

export interface TranscodePreset {
  package: 'mp4' | 'hls';
  /** Short side of the output (VOD's presets adapt to orientation: a portrait video keeps 360 as its width). */
  shortSide: number;
  videoKbps: number;
  audioKbps: number;
  /** Remux templates copy the streams unchanged. */
  remux?: boolean;
}

/** H.264 + AAC 44.1 kHz stereo, ≤ 25 fps (§5.7). Legacy ids 10–40 / 210–240 are approximations. */
export const TRANSCODE_PRESETS: Record<number, TranscodePreset> = {
  100010: { package: 'mp4', shortSide: 360, videoKbps: 400, audioKbps: 64 },
  100020: { package: 'mp4', shortSide: 540, videoKbps: 1000, audioKbps: 64 },
  100030: { package: 'mp4', shortSide: 720, videoKbps: 1800, audioKbps: 128 },
  100040: { package: 'mp4', shortSide: 1080, videoKbps: 2500, audioKbps: 128 },
  100070: { package: 'mp4', shortSide: 1440, videoKbps: 3000, audioKbps: 160 },
  100080: { package: 'mp4', shortSide: 2160, videoKbps: 6000, audioKbps: 160 },
  100210: { package: 'hls', shortSide: 360, videoKbps: 400, audioKbps: 64 },
  100220: { package: 'hls', shortSide: 540, videoKbps: 1000, audioKbps: 64 },
  100230: { package: 'hls', shortSide: 720, videoKbps: 1800, audioKbps: 128 },
  100240: { package: 'hls', shortSide: 1080, videoKbps: 2500, audioKbps: 128 },
  100270: { package: 'hls', shortSide: 1440, videoKbps: 3000, audioKbps: 160 },
  100280: { package: 'hls', shortSide: 2160, videoKbps: 6000, audioKbps: 160 },
  10: { package: 'mp4', shortSide: 240, videoKbps: 256, audioKbps: 64 },
  20: { package: 'mp4', shortSide: 480, videoKbps: 800, audioKbps: 64 },
  30: { package: 'mp4', shortSide: 720, videoKbps: 1800, audioKbps: 128 },
  40: { package: 'mp4', shortSide: 1080, videoKbps: 2500, audioKbps: 128 },
  210: { package: 'hls', shortSide: 240, videoKbps: 256, audioKbps: 64 },
  220: { package: 'hls', shortSide: 480, videoKbps: 800, audioKbps: 64 },
  230: { package: 'hls', shortSide: 720, videoKbps: 1800, audioKbps: 128 },
  240: { package: 'hls', shortSide: 1080, videoKbps: 2500, audioKbps: 128 },
  875: { package: 'mp4', shortSide: 0, videoKbps: 0, audioKbps: 0, remux: true },
  876: { package: 'hls', shortSide: 0, videoKbps: 0, audioKbps: 0, remux: true },
};

/** Adaptive-streaming template 10 (HLS, clear): the HLS presets that fit the source. */
export const ADAPTIVE_PRESETS: Record<number, { package: 'HLS'; renditions: number[] }> = {
  10: { package: 'HLS', renditions: [100210, 100220, 100230, 100240, 100270, 100280] },
};

/** Time-point snapshot 10: JPG at the source size. */
export const SNAPSHOT_DEFINITIONS = new Set([10]);
/** Sample snapshot 10: JPG every 10 % of the duration. */
export const SAMPLE_SNAPSHOT_PRESETS: Record<number, { sampleType: 'Percent' | 'Time'; interval: number }> = {
  10: { sampleType: 'Percent', interval: 10 },
};
/** Image sprite 10: 142×80 thumbnails in a 10×10 grid, one every 10 s. */
export const IMAGE_SPRITE_PRESETS: Record<
  number,
  { width: number; height: number; rows: number; columns: number; intervalSeconds: number }
> = {
  10: { width: 142, height: 80, rows: 10, columns: 10, intervalSeconds: 10 },
};
/** Cover by snapshot 10: JPG at the source size. */
export const COVER_DEFINITIONS = new Set([10]);
/** Animated graphic 20000: GIF, source resolution, 2 fps. */
export const ANIMATED_GRAPHIC_PRESETS: Record<number, { format: 'gif'; fps: number }> = { 20000: { format: 'gif', fps: 2 } };

/**
 * A watermark template. Positions and sizes are pixels (`12`) or a percentage of the video's width
 * (`x`, `width`) or height (`y`) (`'5%'`), measured from `origin`.
 */
export interface WatermarkTemplate {
  type: 'image' | 'text';
  /** PNG (with alpha) for image templates; default: the emulator's own `assets/watermark.png`. */
  imageFile?: string;
  /** Text templates: the text when the request gives no `TextContent`. */
  text?: string;
  /** Text templates: font size in pixels or % of the video height. Default '6%'. */
  fontSize?: number | string;
  /** Text templates: colour (ffmpeg colour syntax). Default 'white'. */
  fontColor?: string;
  /** Text templates: 0–1. Default 0.9. */
  fontAlpha?: number;
  origin?: 'TopLeft' | 'TopRight' | 'BottomLeft' | 'BottomRight';
  x?: number | string;
  y?: number | string;
  /** Image templates: width of the watermark (height keeps the image's aspect ratio). Default '20%'. */
  width?: number | string;
}

const ASSETS_DIR = path.join(__dirname, 'assets');
const DEFAULT_WATERMARK_PNG = path.join(ASSETS_DIR, 'watermark.png');

/** 501: the emulator's image watermark (top right); 502: a text watermark (bottom left). */
export const DEFAULT_WATERMARK_TEMPLATES: Record<number, WatermarkTemplate> = {
  501: { type: 'image', imageFile: DEFAULT_WATERMARK_PNG, origin: 'TopRight', x: '4%', y: '4%', width: '20%' },
  502: {
    type: 'text',
    text: 'VOD emulator',
    origin: 'BottomLeft',
    x: '4%',
    y: '4%',
    fontSize: '6%',
    fontColor: 'white',
    fontAlpha: 0.9,
  },
};

const FONT_CANDIDATES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  '/usr/share/fonts/truetype/freefont/FreeSans.ttf',
  '/System/Library/Fonts/Supplemental/Arial.ttf',
  'C:\\Windows\\Fonts\\arial.ttf',
];

/** The font drawtext uses for text watermarks: the option, else the first common system font found. */
export function findFontFile(explicit?: string): string | undefined {
  if (explicit) return explicit;
  return FONT_CANDIDATES.find((file) => fs.existsSync(file));
}

/** A task-flow template: the `MediaProcessTask` part of a ProcessMedia request (same field names). */
export type ProcedureTemplate = { MediaProcessTask: Record<string, unknown> };

/** The pipeline this backend asks for by default (lib/config.ts PIPELINE_* defaults). */
const TYPICAL_PIPELINE: Record<string, unknown> = {
  TranscodeTaskSet: [{ Definition: 100010 }, { Definition: 100020 }, { Definition: 100030 }],
  SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ['1s', '50%'] }],
  CoverBySnapshotTaskSet: [{ Definition: 10, PositionType: 'Time', PositionValue: 0 }],
  ImageSpriteTaskSet: [{ Definition: 10 }],
};

export const DEFAULT_PROCEDURES: Record<string, ProcedureTemplate> = {
  LongVideoPreset: { MediaProcessTask: TYPICAL_PIPELINE },
  demo: {
    MediaProcessTask: {
      TranscodeTaskSet: [
        { Definition: 100010, WatermarkSet: [{ Definition: 501 }] },
        { Definition: 100210, WatermarkSet: [{ Definition: 501 }] },
      ],
      SnapshotByTimeOffsetTaskSet: [{ Definition: 10, ExtTimeOffsetSet: ['1s', '50%'] }],
      SampleSnapshotTaskSet: [{ Definition: 10 }],
      CoverBySnapshotTaskSet: [{ Definition: 10, PositionType: 'Percent', PositionValue: 10 }],
      ImageSpriteTaskSet: [{ Definition: 10 }],
      AnimatedGraphicTaskSet: [{ Definition: 20000, StartTimeOffset: 0, EndTimeOffset: 2 }],
      AdaptiveDynamicStreamingTaskSet: [{ Definition: 10 }],
    },
  },
};
