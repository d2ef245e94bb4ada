/**
 * GET /uploads/{uploadId}: the owner's view of one upload, plus a playback credential (Psign) for a
 * READY upload when PLAYBACK_KEY is set; with a service token the reviewer's view (lib/upload-view.ts). Who else may get that credential is PLAYBACK_AUDIENCE's call:
 * `owner` (default) nobody; `any-user` any authenticated user; `public` anyone. A non-owner sees only
 * `{ uploadId, status, playback }` of a READY upload; every other case is the same 404 as a missing
 * upload, so upload ids cannot be probed.
 */
import * as z from 'zod';
import { REVIEW_STATES, REVIEW_SUGGESTIONS, UPLOAD_STATUSES, type UploadStatus } from '#contract';
import type { Config } from '#lib/config';
import type { Queryable } from '#lib/db';
import { BadRequestError, NotFoundError } from '#lib/errors';
import { playbackCredential } from '#lib/player-signature';
import { UPLOAD_ID_PATTERN } from '#lib/upload-context';
import { historyView, playbackUrlSigner, uploadView } from '#lib/upload-view';
import { getUploadWithTimeline } from '#lib/webhooks';

/** The `{uploadId}` path parameter: an id POST /upload-signature returned (any case). */
export const uploadIdSchema = z.string().regex(UPLOAD_ID_PATTERN);

const url = z.string().min(1);
const count = z.number().min(0);
const definition = z.number().int();

/**
 * Fields the stored outputs carry beyond `UploadView` (VOD's MediaTranscodeItem, AdaptiveDynamicStreamingInfoItem
 * and MediaAnimatedGraphicsItem, as lib/vod-event/media.ts reads them): the view passes them through.
 */
const stream = z
  .object({
    codec: z.string(),
    bitrate: count,
    width: count,
    height: count,
    fps: count,
    codecTag: z.string(),
    samplingRate: count,
  })
  .partial()
  .strict();
const vodExtras = {
  rendition: {
    md5: z.string().optional(),
    videoStreams: z.array(stream).optional(),
    audioStreams: z.array(stream).optional(),
    digitalWatermarkType: z.string().optional(),
    fileId: z.string().optional(),
  },
  adaptiveStream: { drmType: z.string().optional(), digitalWatermarkType: z.string().optional() },
  animatedGraphic: {
    bitrate: count.optional(),
    size: count.optional(),
    md5: z.string().optional(),
    startTimeOffset: z.number().min(0).optional(),
    endTimeOffset: z.number().min(0).optional(),
  },
};

/**
 * The 200 answer: `UploadView` (contract/upload.ts) as a schema, so docs/openapi.json can describe it
 * (lib/openapi.ts). Strict: a field the view gains must be added here too (test/unit/openapi.test.ts).
 */
const playbackSchema = z
  .object({ appId: z.number().int().positive(), fileId: z.string(), psign: z.string(), expiresAt: z.iso.datetime() })
  .strict()
  .meta({
    description: 'What a Tencent player takes instead of a URL: the app id, the file id and the player signature (Psign)',
  });

export const uploadViewSchema = z
  .object({
    uploadId: z.uuid(),
    status: z.enum(UPLOAD_STATUSES as [UploadStatus, ...UploadStatus[]]),
    fileId: z.string().nullable(),
    fileName: z.string().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    statusChangedAt: z.iso.datetime(),
    signatureExpiresAt: z.iso.datetime().optional().meta({ description: 'Only while ISSUED' }),
    progress: z.number().min(0).max(100).optional().meta({ description: 'Only while PROCESSING: 0-100' }),
    media: z
      .object({ type: z.string(), size: count, duration: z.number().min(0), width: count, height: count, url })
      .partial()
      .strict()
      .optional()
      .meta({ description: "The uploaded file's facts, once VOD reported it" }),
    renditions: z.array(
      z
        .object({
          url,
          definition,
          width: count.optional(),
          height: count.optional(),
          bitrate: count.optional(),
          size: count.optional(),
          duration: z.number().min(0).optional(),
          container: z.string().optional(),
          ...vodExtras.rendition,
        })
        .strict(),
    ),
    adaptiveStreams: z.array(
      z
        .object({
          url,
          definition: definition.optional(),
          package: z.string().optional(),
          size: count.optional(),
          subStreams: z.array(z.unknown()).optional(),
          ...vodExtras.adaptiveStream,
        })
        .strict(),
    ),
    cover: z.object({ url }).strict().nullable(),
    snapshots: z.array(z.object({ url, timeOffsetMs: z.number().optional(), definition: definition.optional() }).strict()),
    sampleSnapshots: z.array(z.object({ imageUrls: z.array(url), definition: definition.optional() }).strict()),
    sprite: z
      .object({
        imageUrls: z.array(url),
        webVttUrl: url.optional(),
        width: count.optional(),
        height: count.optional(),
        totalCount: count.optional(),
        definition: definition.optional(),
      })
      .strict()
      .nullable(),
    animatedGraphics: z.array(
      z
        .object({
          url,
          definition: definition.optional(),
          container: z.string().optional(),
          width: count.optional(),
          height: count.optional(),
          ...vodExtras.animatedGraphic,
        })
        .strict(),
    ),
    error: z.object({ code: z.string().optional(), message: z.string().optional() }).strict().nullable(),
    review: z
      .object({
        state: z.enum(REVIEW_STATES),
        label: z.string().optional().meta({ description: "VOD's label when it held or blocked the content (Porn, Terror, …)" }),
        suggestion: z.enum(REVIEW_SUGGESTIONS).optional().meta({ description: "Service token only: VOD's verdict" }),
        form: z.string().optional().meta({ description: 'Service token only: where VOD found it (Image, OCR, ASR, Voice)' }),
        failure: z.string().optional().meta({ description: "Service token only: why VOD's review gave no verdict" }),
        decidedBy: z.string().optional().meta({ description: "Service token only: the reviewer's user id" }),
        reason: z.string().optional().meta({ description: "Service token only: the reviewer's reason" }),
        decidedAt: z.iso.datetime().optional().meta({ description: 'Service token only: when the reviewer decided' }),
        taskId: z.string().optional().meta({ description: "Service token only: VOD's ReviewAudioVideo task" }),
      })
      .strict()
      .optional()
      .meta({
        description:
          'The content review (REVIEW_MODE gate or async), once the upload has a file; with a service token the whole review',
      }),
    playback: playbackSchema.optional().meta({ description: 'With PLAYBACK_KEY set, for a READY upload' }),
    history: z
      .array(
        z
          .object({
            at: z.iso.datetime(),
            status: z.enum(UPLOAD_STATUSES as [UploadStatus, ...UploadStatus[]]),
            reason: z.string(),
          })
          .strict(),
      )
      .optional()
      .meta({ description: 'Every status the upload went through, oldest first, with a short reason' }),
  })
  .strict();

/** The answer to someone other than the owner (PLAYBACK_AUDIENCE `any-user` or `public`): `PlaybackView`. */
export const playbackViewSchema = z.object({ uploadId: z.uuid(), status: z.literal('READY'), playback: playbackSchema }).strict();

/** The `{uploadId}` of the route, checked before the database is touched (400 when it is not one). */
export function uploadIdParam(value: string | undefined): string {
  const uploadId = value ?? '';
  if (!uploadIdSchema.safeParse(uploadId).success)
    throw new BadRequestError('uploadId: must be an upload id returned by POST /upload-signature', 'uploadId');
  return uploadId;
}

export interface StatusQuery {
  /** `?preview=1`: URLs and Psign limited to HOTLINK_PREVIEW_SECONDS (Key hotlink `exper`). */
  preview: boolean;
}

/** The query of the route: only `preview` (`1`/`true`, `0`/`false`) means something; 400 for other values. */
export function statusQuery(query: Record<string, string>, config: Pick<Config, 'hotlink'>): StatusQuery {
  const raw = query.preview;
  if (raw === undefined || /^(0|false)$/i.test(raw)) return { preview: false };
  if (!/^(1|true)$/i.test(raw)) throw new BadRequestError('preview: must be 1 or 0', 'preview');
  if (!config.hotlink?.previewSeconds) {
    throw new BadRequestError(
      'preview: this deployment offers no preview (it needs HOTLINK_KEY and HOTLINK_PREVIEW_SECONDS)',
      'preview',
    );
  }
  return { preview: true };
}

/** Whether a caller without a token may ask at all (PLAYBACK_AUDIENCE=public). */
export function anonymousAllowed(config: Pick<Config, 'playback'>): boolean {
  return config.playback?.audience === 'public';
}

export async function uploadStatus(
  deps: { config: Config; db: Queryable },
  /** Who asks (undefined: no token); a service token (`admin`) reads any upload as its reviewer (URLs, the whole review). */
  caller: { userId: string; admin?: boolean } | undefined,
  uploadId: string,
  query: StatusQuery = { preview: false },
) {
  const userId = caller?.userId;
  const { config } = deps;
  const found = await getUploadWithTimeline(deps.db, uploadId.toLowerCase());
  const notFound = () => new NotFoundError(`Upload ${uploadId} not found`);
  if (!found) throw notFound();
  const { upload, timeline } = found;
  const owner = caller !== undefined && (caller.admin === true || upload.userId === caller.userId);
  const playable = upload.status === 'READY' && upload.fileId !== null && config.playback !== undefined;
  const playback = playable
    ? await playbackCredential(upload, { ...config, playback: config.playback! }, { preview: query.preview })
    : undefined;

  if (!owner) {
    const audience = config.playback?.audience ?? 'owner';
    const mayView = audience === 'public' || (audience === 'any-user' && userId !== undefined);
    if (!mayView || !playback) throw notFound();
    // The playback part only: no file name, media facts, URLs, times or errors of someone else's upload.
    return { uploadId: upload.uploadId, status: upload.status, playback };
  }
  const hotlink = config.hotlink && {
    ...config.hotlink,
    previewSeconds: query.preview ? config.hotlink.previewSeconds : undefined,
  };
  // A service token reads as a reviewer: every URL whatever the status, so a person can watch before deciding.
  const viewer = caller?.admin === true ? 'reviewer' : 'owner';
  const view = uploadView(upload, playbackUrlSigner(hotlink, upload.media?.duration), viewer);
  const history = historyView(timeline);
  return playback ? { ...view, playback, history } : { ...view, history };
}
