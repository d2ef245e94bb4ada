/**
 * A user's video library (issue #16): GET /uploads lists the caller's uploads newest first in keyset pages,
 * DELETE /uploads/{uploadId} deletes one for real (DeleteMedia in VOD). A service token (AppUser.admin)
 * may list any user's uploads, or everyone's, and delete any upload; a user token never reaches another
 * user's data: naming another user is a 403, another user's upload is the same 404 as a missing one.
 */
import * as z from 'zod';
import { REVIEW_STATES, type ReviewState, UPLOAD_STATUSES, type UploadStatus } from '#contract';
import type { AppUser } from '#lib/auth';
import type { Config } from '#lib/config';
import type { Database } from '#lib/db';
import { BadRequestError, ForbiddenError, NotFoundError } from '#lib/errors';
import type { Logger } from '#lib/log';
import { UploadStatus as Status } from '#lib/upload-lifecycle';
import { getLibraryUpload, type LibraryUpload, type ListingKey, listUploads, setMediaDeletionPending } from '#lib/upload-listing';
import { uploadIdParam, uploadViewSchema } from '#lib/upload-status';
import { updateUpload } from '#lib/upload-store';
import { sendPendingWebhooks } from '#lib/webhooks';
import { playbackUrlSigner, uploadView } from '#lib/upload-view';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
const MAX_USER_ID_LENGTH = 128;
const QUERY_FIELDS = new Set(['status', 'cursor', 'limit', 'userId', 'review']);

/** One upload of a page or of a deletion's answer: the owner's view without `playback` and `history`, plus what the library adds. */
export const libraryItemSchema = uploadViewSchema
  .omit({ playback: true, history: true })
  .extend({
    userId: z.string().optional().meta({ description: "The owner: only in a service token's listing of every user" }),
    mediaDeletion: z
      .literal('pending')
      .optional()
      .meta({ description: 'DELETED, but VOD could not be reached yet: the next cleanup run deletes the media' }),
  })
  .strict();

export const libraryPageSchema = z
  .object({
    uploads: z.array(libraryItemSchema),
    nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last one' }),
  })
  .strict();

export type LibraryItem = z.infer<typeof libraryItemSchema>;

export interface ListingQuery {
  status?: UploadStatus;
  /** The review queue: uploads whose content review is in this state (docs/content-review.md). */
  review?: ReviewState;
  after?: ListingKey;
  limit: number;
  userId?: string;
}

// A cursor is base64url of `<created_at with microseconds>/<upload id>`: opaque to clients, checked here.
const CURSOR_TEXT =
  /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function encodeCursor(key: ListingKey): string {
  return Buffer.from(`${key.createdAt}/${key.uploadId}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): ListingKey {
  const refuse = () => new BadRequestError('cursor: must be a nextCursor returned by GET /uploads', 'cursor');
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw refuse();
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = CURSOR_TEXT.exec(text);
  // Re-encoding must give the same text: no second spelling of one cursor, no trailing bits.
  if (!match || encodeCursor({ createdAt: match[1]!, uploadId: match[2]! }) !== cursor) throw refuse();
  if (Number.isNaN(Date.parse(match[1]!))) throw refuse();
  return { createdAt: match[1]!, uploadId: match[2]! };
}

/** The query of GET /uploads, checked before the database is touched: 400 naming the field. */
export function listingQuery(query: Record<string, string>): ListingQuery {
  for (const name of Object.keys(query)) {
    if (QUERY_FIELDS.has(name)) continue;
    // Named back only when it is a plain name: the answer never echoes arbitrary text.
    const field = /^[A-Za-z0-9_.-]{1,40}$/.test(name) ? name : 'query';
    throw new BadRequestError(`${field}: unknown parameter; use status, review, cursor, limit or userId`, field);
  }
  const out: ListingQuery = { limit: DEFAULT_PAGE_SIZE };
  if (query.limit !== undefined && query.limit !== '') {
    const limit = /^\d{1,3}$/.test(query.limit) ? Number(query.limit) : Number.NaN;
    if (!(limit >= 1 && limit <= MAX_PAGE_SIZE))
      throw new BadRequestError(`limit: must be an integer from 1 to ${MAX_PAGE_SIZE}`, 'limit');
    out.limit = limit;
  }
  if (query.status !== undefined && query.status !== '') {
    if (!(UPLOAD_STATUSES as readonly string[]).includes(query.status)) {
      throw new BadRequestError(`status: must be one of ${UPLOAD_STATUSES.join(', ')}`, 'status');
    }
    out.status = query.status as UploadStatus;
  }
  if (query.review !== undefined && query.review !== '') {
    if (!(REVIEW_STATES as readonly string[]).includes(query.review)) {
      throw new BadRequestError(`review: must be one of ${REVIEW_STATES.join(', ')}`, 'review');
    }
    out.review = query.review as ReviewState;
  }
  if (query.cursor !== undefined && query.cursor !== '') out.after = decodeCursor(query.cursor);
  if (query.userId !== undefined) {
    const userId = query.userId;
    if (userId === '' || [...userId].length > MAX_USER_ID_LENGTH || /\p{Cc}/u.test(userId)) {
      throw new BadRequestError(`userId: must be a user id of 1-${MAX_USER_ID_LENGTH} characters`, 'userId');
    }
    out.userId = userId;
  }
  return out;
}

/** The view of one upload as the library gives it (URLs signed as GET /uploads/{uploadId} signs them). */
function libraryItem(config: Config, entry: LibraryUpload, withOwner: boolean): LibraryItem {
  const { upload } = entry;
  const view = uploadView(upload, playbackUrlSigner(config.hotlink, upload.media?.duration));
  return {
    ...view,
    ...(withOwner ? { userId: upload.userId } : {}),
    ...(entry.mediaDeletionPending && upload.status === Status.DELETED ? { mediaDeletion: 'pending' as const } : {}),
  };
}

export interface LibraryDeps {
  config: Config;
  db: Database;
  log: Logger;
}

/** GET /uploads: one page of the caller's uploads (a service token: anyone's, or everyone's). */
export async function listLibrary(deps: LibraryDeps, caller: AppUser, query: ListingQuery) {
  if (!caller.admin && query.userId !== undefined && query.userId !== caller.userId) {
    throw new ForbiddenError("userId: only a service token may list another user's uploads");
  }
  const everyone = caller.admin && query.userId === undefined;
  const userId = everyone ? undefined : (query.userId ?? caller.userId);
  // One row more than the page tells whether another page follows.
  const rows = await listUploads(deps.db, {
    userId,
    status: query.status,
    review: query.review,
    after: query.after,
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    uploads: page.map((entry) => libraryItem(deps.config, entry, everyone)),
    nextCursor: rows.length > query.limit && last ? encodeCursor(last.key) : null,
  };
}

export interface DeletionResult {
  /** 200: done; 202: DELETED, the media's deletion left to the cleanup (VOD could not be reached). */
  status: 200 | 202;
  body: LibraryItem;
}

/**
 * DELETE /uploads/{uploadId}. The upload becomes DELETED first, with the mark when it has a file (one
 * transaction, on the locked row), then VOD deletes the media and the mark is cleared: a failure anywhere
 * after the commit leaves the mark, and the cleanup's deletions step finishes the job. An ISSUED upload
 * has no file yet: one that arrives later is an orphan (lib/handle-vod-event.ts) and is deleted too.
 * Deleting a DELETED upload again answers the same (and retries VOD while the mark is set).
 */
export async function deleteLibraryUpload(
  deps: LibraryDeps & {
    /** DeleteMedia of one file, resolving when VOD no longer has it (lib/cleanup/deletions.ts `deleteMediaInVod`). */
    deleteMedia: (fileId: string) => Promise<void>;
    /** Epoch ms by which sending the webhook must be over. */
    webhookDeadline?: number;
  },
  caller: AppUser,
  rawUploadId: string | undefined,
): Promise<DeletionResult> {
  const uploadId = uploadIdParam(rawUploadId).toLowerCase();
  const entry = await deps.db.transaction(async (tx) => {
    const found = await getLibraryUpload(tx, uploadId, { forUpdate: true });
    if (!found || (!caller.admin && found.upload.userId !== caller.userId)) {
      throw new NotFoundError(`Upload ${rawUploadId} not found`);
    }
    if (found.upload.status === Status.DELETED) return found;
    await updateUpload(tx, uploadId, { status: Status.DELETED }, found.upload.status, {
      source: caller.admin ? 'operator' : 'user',
      detail: 'DELETE /uploads/{uploadId}',
    });
    if (found.upload.fileId !== null) await setMediaDeletionPending(tx, uploadId, true);
    return (await getLibraryUpload(tx, uploadId))!;
  });
  let done = entry;
  if (entry.mediaDeletionPending && entry.upload.fileId !== null) {
    try {
      await deps.deleteMedia(entry.upload.fileId);
      await setMediaDeletionPending(deps.db, uploadId, false);
      done = { ...entry, mediaDeletionPending: false };
    } catch (error) {
      // VOD unreachable or refusing, or the database lost after the commit: the mark stays (202).
      deps.log.warn('media deletion left to the cleanup', { uploadId, fileId: entry.upload.fileId, error });
    }
  }
  // The upload.deleted webhook, right after the commit within the function's time; else the webhooks timer's.
  await sendPendingWebhooks({ ...deps, deadline: deps.webhookDeadline }, uploadId);
  const item = libraryItem(deps.config, done, false);
  deps.log.info('upload deleted', {
    uploadId,
    byService: caller.admin,
    mediaDeletion: done.mediaDeletionPending ? 'pending' : 'done',
  });
  return { status: done.mediaDeletionPending ? 202 : 200, body: item };
}
