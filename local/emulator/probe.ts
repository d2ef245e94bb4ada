/** Media metadata with ffprobe, in VOD's `MediaMetaData` shape (docs/vod-protocol/events.md §4.2). */
import { execFile } from 'node:child_process';
import { ffprobePath } from './ffmpeg.ts';

/** The binary: chosen with ffmpeg's (ffmpeg.ts). */
export { ffprobePath };

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  codec_tag_string?: string;
  width?: number;
  height?: number;
  bit_rate?: string;
  sample_rate?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  duration?: string;
  tags?: Record<string, string>;
  side_data_list?: { rotation?: number }[];
  disposition?: { attached_pic?: number };
}

interface ProbeOutput {
  format?: { format_name?: string; duration?: string; bit_rate?: string; size?: string };
  streams?: ProbeStream[];
}

export type MediaCategory = 'Video' | 'Audio' | 'Image';

export interface ProbeResult {
  metaData: Record<string, unknown>;
  category: MediaCategory;
}

const int = (v: string | number | undefined) => {
  const n = Math.round(Number(v));
  return Number.isFinite(n) ? n : 0;
};
const float = (v: string | undefined) => {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
};

function fps(rate: string | undefined): number {
  const m = /^(\d+)\/(\d+)$/.exec(rate ?? '');
  if (!m || Number(m[2]) === 0) return 0;
  return Math.round(Number(m[1]) / Number(m[2]));
}

function run(binary: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });
}

/**
 * Reads the metadata of `file`. A file ffprobe cannot read still becomes media (VOD accepts any
 * upload): it gets Size and Md5 and zeros elsewhere.
 */
export async function probeMedia(file: string, size: number, md5: string, type: string, binary?: string): Promise<ProbeResult> {
  let probe: ProbeOutput = {};
  try {
    probe = JSON.parse(
      await run(ffprobePath(binary), ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file]),
    ) as ProbeOutput;
  } catch {
    probe = {};
  }
  const streams = probe.streams ?? [];
  const videos = streams.filter((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const audios = streams.filter((s) => s.codec_type === 'audio');
  const video = videos[0];
  const formatName = probe.format?.format_name ?? '';
  const isImage =
    /image2|_pipe$|^png|^mjpeg|^gif|^webp/.test(formatName) && audios.length === 0 && float(probe.format?.duration) <= 0.05;
  const rotation = video
    ? Number(video.tags?.rotate ?? 0) ||
      Math.abs(Number(video.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? 0))
    : 0;
  const metaData = {
    Size: size,
    Container: formatName || type,
    Bitrate: int(probe.format?.bit_rate),
    Height: video?.height ?? 0,
    Width: video?.width ?? 0,
    Duration: float(probe.format?.duration),
    Rotate: rotation,
    VideoStreamSet: videos.map((s) => ({
      Bitrate: int(s.bit_rate),
      Height: s.height ?? 0,
      Width: s.width ?? 0,
      Codec: s.codec_name ?? '',
      Fps: fps(s.avg_frame_rate) || fps(s.r_frame_rate),
      CodecTag: s.codec_tag_string ?? '',
    })),
    AudioStreamSet: audios.map((s) => ({
      Bitrate: int(s.bit_rate),
      SamplingRate: int(s.sample_rate),
      Codec: s.codec_name ?? '',
    })),
    VideoDuration: float(video?.duration),
    AudioDuration: float(audios[0]?.duration),
    Md5: md5,
  };
  const category: MediaCategory = isImage ? 'Image' : videos.length > 0 ? 'Video' : audios.length > 0 ? 'Audio' : 'Video';
  return { metaData, category };
}
