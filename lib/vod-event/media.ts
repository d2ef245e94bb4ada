/**
 * The media as the event model describes it (docs/vod-protocol/events.md §4; conventions in `events.ts`): a
 * file's basic info and metadata, and what each kind of processing made of it.
 */

export interface MediaBasicInfo {
  name?: string;
  description?: string;
  createTime?: string;
  updateTime?: string;
  /** ISO 8601; `9999-12-31T23:59:59Z` means never. */
  expireTime?: string;
  classId?: number;
  className?: string;
  classPath?: string;
  coverUrl?: string;
  /** Container, e.g. `mp4`. */
  type?: string;
  mediaUrl?: string;
  /** `Upload`, `Record`, `VideoProcessing`, … */
  sourceType?: string;
  storageRegion?: string;
  storagePath?: string;
  tagSet: string[];
  vid?: string;
  /** `Video`, `Audio` or `Image`. */
  category?: string;
  /** `Normal` or `Forbidden`. */
  status?: string;
  storageClass?: string;
}

export interface MediaMetaData {
  /** Bytes (for HLS: playlist plus segments). */
  size?: number;
  container?: string;
  /** bps, video + audio. */
  bitrate?: number;
  height?: number;
  width?: number;
  /** Seconds. */
  duration?: number;
  rotate?: number;
  videoDuration?: number;
  audioDuration?: number;
  md5?: string;
  videoStreams: VideoStream[];
  audioStreams: AudioStream[];
}

export interface VideoStream {
  bitrate?: number;
  height?: number;
  width?: number;
  codec?: string;
  fps?: number;
  codecTag?: string;
}

export interface AudioStream {
  bitrate?: number;
  samplingRate?: number;
  codec?: string;
}

/** `MediaTranscodeItem`. */
export interface Rendition {
  url?: string;
  /** Transcode template id (0 = the original file). */
  definition?: number;
  width?: number;
  height?: number;
  /** bps. */
  bitrate?: number;
  /** Bytes. */
  size?: number;
  /** Seconds. */
  duration?: number;
  container?: string;
  md5?: string;
  videoStreams: VideoStream[];
  audioStreams: AudioStream[];
  digitalWatermarkType?: string;
  /** Only when the rendition was written out as independent media. */
  fileId?: string;
}

/** `MediaAnimatedGraphicsItem`. */
export interface AnimatedGraphic {
  url?: string;
  definition?: number;
  /** `gif` or `webp`. */
  container?: string;
  width?: number;
  height?: number;
  bitrate?: number;
  size?: number;
  md5?: string;
  /** Seconds into the video. */
  startTimeOffset?: number;
  endTimeOffset?: number;
}

/** `MediaSnapshotByTimeOffsetItem`. */
export interface SnapshotSet {
  definition?: number;
  pictures: SnapshotPicture[];
}
interface SnapshotPicture {
  /** Milliseconds per the API model (one doc example looks like seconds). */
  timeOffsetMs?: number;
  url?: string;
  watermarkDefinitions: number[];
}

/** `MediaSampleSnapshotItem`. */
export interface SampleSnapshotSet {
  definition?: number;
  /** `Percent` or `Time`. */
  sampleType?: string;
  interval?: number;
  imageUrls: string[];
  watermarkDefinitions: number[];
}

/** `MediaImageSpriteItem`. */
export interface ImageSprite {
  definition?: number;
  /** Size of one thumbnail inside a sprite sheet. */
  width?: number;
  height?: number;
  /** Thumbnails per sheet. */
  totalCount?: number;
  imageUrls: string[];
  /** Maps times to thumbnail positions. */
  webVttUrl?: string;
}

/** `CoverBySnapshotTaskOutput`. */
export interface Cover {
  coverUrl?: string;
}

/** `AdaptiveDynamicStreamingInfoItem`. */
export interface AdaptiveStream {
  url?: string;
  definition?: number;
  /** Upper-cased (`HLS`, `DASH`): doc examples also show `hls`. */
  package?: string;
  /** "" (clear) → undefined. */
  drmType?: string;
  size?: number;
  digitalWatermarkType?: string;
  subStreams: AdaptiveSubStream[];
}
interface AdaptiveSubStream {
  /** `video`, `audio` or `subtitle`. */
  type?: string;
  width?: number;
  height?: number;
  size?: number;
}
