/**
 * The media description of the wire format (rules in `fields.ts`): MediaBasicInfo and MetaData
 * (NewFileUpload, ProcedureStateChanged.MetaData), and the outputs the subtasks report.
 */
import * as z from 'zod';
import type {
  AdaptiveStream,
  AnimatedGraphic,
  AudioStream,
  Cover,
  ImageSprite,
  MediaBasicInfo,
  MediaMetaData,
  Rendition,
  SampleSnapshotSet,
  SnapshotSet,
  VideoStream,
} from '../media.ts';
import {
  list,
  optionalId,
  optionalNumber,
  optionalText,
  optionalUrl,
  safeString,
  urlList,
  watermarkDefinitions,
} from './fields.ts';

const videoStream = z
  .object({
    Bitrate: optionalNumber,
    Height: optionalNumber,
    Width: optionalNumber,
    Codec: optionalText,
    Fps: optionalNumber,
    CodecTag: optionalText,
  })
  .transform(
    (s): VideoStream => ({
      bitrate: s.Bitrate,
      height: s.Height,
      width: s.Width,
      codec: s.Codec,
      fps: s.Fps,
      codecTag: s.CodecTag,
    }),
  );

const audioStream = z
  .object({ Bitrate: optionalNumber, SamplingRate: optionalNumber, Codec: optionalText })
  .transform((s): AudioStream => ({ bitrate: s.Bitrate, samplingRate: s.SamplingRate, codec: s.Codec }));

export const metaData = z
  .object({
    Size: optionalNumber,
    Container: optionalText,
    Bitrate: optionalNumber,
    Height: optionalNumber,
    Width: optionalNumber,
    Duration: optionalNumber,
    Rotate: optionalNumber,
    VideoStreamSet: list(videoStream),
    AudioStreamSet: list(audioStream),
    VideoDuration: optionalNumber,
    AudioDuration: optionalNumber,
    Md5: optionalText,
  })
  .nullish()
  .transform((m): MediaMetaData | undefined =>
    m
      ? {
          size: m.Size,
          container: m.Container,
          bitrate: m.Bitrate,
          height: m.Height,
          width: m.Width,
          duration: m.Duration,
          rotate: m.Rotate,
          videoDuration: m.VideoDuration,
          audioDuration: m.AudioDuration,
          md5: m.Md5,
          videoStreams: m.VideoStreamSet,
          audioStreams: m.AudioStreamSet,
        }
      : undefined,
  );

export const mediaBasicInfo = z
  .object({
    Name: optionalText,
    Description: optionalText,
    CreateTime: optionalText,
    UpdateTime: optionalText,
    ExpireTime: optionalText,
    ClassId: optionalNumber,
    ClassName: optionalText,
    ClassPath: optionalText,
    CoverUrl: optionalUrl,
    Type: optionalText,
    MediaUrl: optionalUrl,
    SourceInfo: z.object({ SourceType: optionalText, SourceContext: optionalText }).nullish(),
    StorageRegion: optionalText,
    StoragePath: optionalText,
    TagSet: list(safeString).catch([]),
    Vid: optionalText,
    Category: optionalText,
    Status: optionalText,
    StorageClass: optionalText,
  })
  .nullish()
  .transform((b) => ({
    sourceContext: b?.SourceInfo?.SourceContext,
    media: {
      name: b?.Name,
      description: b?.Description,
      createTime: b?.CreateTime,
      updateTime: b?.UpdateTime,
      expireTime: b?.ExpireTime,
      classId: b?.ClassId,
      className: b?.ClassName,
      classPath: b?.ClassPath,
      coverUrl: b?.CoverUrl,
      type: b?.Type,
      mediaUrl: b?.MediaUrl,
      sourceType: b?.SourceInfo?.SourceType,
      storageRegion: b?.StorageRegion,
      storagePath: b?.StoragePath,
      tagSet: b?.TagSet ?? [],
      vid: b?.Vid,
      category: b?.Category,
      status: b?.Status,
      storageClass: b?.StorageClass,
    } satisfies MediaBasicInfo,
  }));

// ---------------------------------------------------------------------------------------------
// Subtask outputs

export const rendition = z
  .object({
    Url: optionalUrl,
    Definition: optionalNumber,
    Bitrate: optionalNumber,
    Height: optionalNumber,
    Width: optionalNumber,
    Size: optionalNumber,
    Duration: optionalNumber,
    Md5: optionalText,
    Container: optionalText,
    VideoStreamSet: list(videoStream),
    AudioStreamSet: list(audioStream),
    DigitalWatermarkType: optionalText,
    FileId: optionalId,
  })
  .transform(
    (o): Rendition => ({
      url: o.Url,
      definition: o.Definition,
      width: o.Width,
      height: o.Height,
      bitrate: o.Bitrate,
      size: o.Size,
      duration: o.Duration,
      container: o.Container,
      md5: o.Md5,
      videoStreams: o.VideoStreamSet,
      audioStreams: o.AudioStreamSet,
      digitalWatermarkType: o.DigitalWatermarkType,
      fileId: o.FileId,
    }),
  );

export const animatedGraphic = z
  .object({
    Url: optionalUrl,
    Definition: optionalNumber,
    Container: optionalText,
    Height: optionalNumber,
    Width: optionalNumber,
    Bitrate: optionalNumber,
    Size: optionalNumber,
    Md5: optionalText,
    StartTimeOffset: optionalNumber,
    EndTimeOffset: optionalNumber,
  })
  .transform(
    (o): AnimatedGraphic => ({
      url: o.Url,
      definition: o.Definition,
      container: o.Container,
      width: o.Width,
      height: o.Height,
      bitrate: o.Bitrate,
      size: o.Size,
      md5: o.Md5,
      startTimeOffset: o.StartTimeOffset,
      endTimeOffset: o.EndTimeOffset,
    }),
  );

export const snapshotSet = z
  .object({
    Definition: optionalNumber,
    PicInfoSet: list(z.object({ TimeOffset: optionalNumber, Url: optionalUrl, WaterMarkDefinition: watermarkDefinitions })),
  })
  .transform(
    (o): SnapshotSet => ({
      definition: o.Definition,
      pictures: o.PicInfoSet.map((p) => ({
        timeOffsetMs: p.TimeOffset,
        url: p.Url,
        watermarkDefinitions: p.WaterMarkDefinition,
      })),
    }),
  );

export const sampleSnapshotSet = z
  .object({
    Definition: optionalNumber,
    SampleType: optionalText,
    Interval: optionalNumber,
    ImageUrlSet: urlList,
    // One doc example lists the images as `PicInfoSet` (the time-offset shape); read it as a fallback.
    PicInfoSet: list(z.object({ Url: optionalUrl })).catch([]),
    WaterMarkDefinition: watermarkDefinitions,
  })
  .transform(
    (o): SampleSnapshotSet => ({
      definition: o.Definition,
      sampleType: o.SampleType,
      interval: o.Interval,
      imageUrls: o.ImageUrlSet.length > 0 ? o.ImageUrlSet : o.PicInfoSet.flatMap((p) => (p.Url === undefined ? [] : [p.Url])),
      watermarkDefinitions: o.WaterMarkDefinition,
    }),
  );

export const imageSprite = z
  .object({
    Definition: optionalNumber,
    Height: optionalNumber,
    Width: optionalNumber,
    TotalCount: optionalNumber,
    ImageUrlSet: urlList,
    WebVttUrl: optionalUrl,
  })
  .transform(
    (o): ImageSprite => ({
      definition: o.Definition,
      width: o.Width,
      height: o.Height,
      totalCount: o.TotalCount,
      imageUrls: o.ImageUrlSet,
      webVttUrl: o.WebVttUrl,
    }),
  );

export const cover = z.object({ CoverUrl: optionalUrl }).transform((o): Cover => ({ coverUrl: o.CoverUrl }));

export const adaptiveStream = z
  .object({
    Definition: optionalNumber,
    Package: optionalText,
    DrmType: optionalText,
    Url: optionalUrl,
    Size: optionalNumber,
    DigitalWatermarkType: optionalText,
    SubStreamSet: list(z.object({ Type: optionalText, Width: optionalNumber, Height: optionalNumber, Size: optionalNumber })),
  })
  .transform(
    (o): AdaptiveStream => ({
      url: o.Url,
      definition: o.Definition,
      package: o.Package?.toUpperCase(),
      drmType: o.DrmType,
      size: o.Size,
      digitalWatermarkType: o.DigitalWatermarkType,
      subStreams: o.SubStreamSet.map((s) => ({ type: s.Type, width: s.Width, height: s.Height, size: s.Size })),
    }),
  );
