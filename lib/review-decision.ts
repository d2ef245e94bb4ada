/**
 * The reviewer's decision (POST /uploads/{uploadId}/review, docs/content-review.md): a service token allows
 * or blocks an upload. `allow` opens the gate of an IN_REVIEW upload (READY), or records the decision for
 * one whose processing has not finished yet (its success then opens the gate); `block` takes an upload
 * down (BLOCKED), READY ones included. The decision and its status change are one transaction on the
 * locked row, so of two decisions at once one wins and the other sees its result. After the commit a
 * block forbids the media's distribution in VOD, and the webhooks go out.
 */
import * as z from 'zod';
import { REVIEW_DECISIONS, type ReviewDecision } from '#contract';
import type { AppUser } from '#lib/auth';
import { forbidBlockedMedia } from '#lib/blocked-media';
import type { Config } from '#lib/config';
import type { Database } from '#lib/db';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '#lib/errors';
import type { Logger } from '#lib/log';
import { libraryItemSchema } from '#lib/upload-library';
import { UploadStatus as Status, type UploadStatus } from '#lib/upload-lifecycle';
import { uploadIdParam } from '#lib/upload-status';
import { getUpload, type StatusCause, type Upload, type UploadPatch, type UploadReview, updateUpload } from '#lib/upload-store';
import { playbackUrlSigner, uploadView } from '#lib/upload-view';
import type { VodCalls } from '#lib/vod-api';
import { sendPendingWebhooks } from '#lib/webhooks';

export const MAX_REASON_LENGTH = 500;

/** The request body (docs/openapi.json is generated from it: lib/openapi.ts). */
export const reviewDecisionRequestSchema = z
  .object({
    decision: z
      .enum(REVIEW_DECISIONS, { error: `must be one of ${REVIEW_DECISIONS.join(', ')}` })
      .meta({ description: '`allow`: publish (IN_REVIEW → READY); `block`: refuse or take down (→ BLOCKED)' }),
    reason: z
      .string({ error: 'must be a string' })
      .refine((value) => [...value].length <= MAX_REASON_LENGTH, `must be at most ${MAX_REASON_LENGTH} characters`)
      // Shown in the owner's history and the logs: no control character, no lone surrogate.
      .refine((value) => !/[\p{Cc}\p{Cs}]/u.test(value), 'must not contain control characters')
      .optional()
      .meta({ description: `Why, at most ${MAX_REASON_LENGTH} characters; shown to the owner in the history of a block` }),
  })
  .strict();

export interface DecisionRequest {
  decision: ReviewDecision;
  reason?: string;
}

/** The body, checked before the database is touched: 400 naming the field. */
export function decisionRequest(body: unknown): DecisionRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequestError('The request body must be a JSON object such as {"decision": "allow"}', 'decision');
  }
  const result = reviewDecisionRequestSchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      // Named back only when it is a plain name: the answer never echoes arbitrary text.
      const key = issue.keys[0]!;
      const field = /^[A-Za-z0-9_.-]{1,40}$/.test(key) ? key : 'body';
      throw new BadRequestError(`${field}: unknown field; use decision and reason`, field);
    }
    const field = String(issue.path[0] ?? 'decision');
    const missing = !Object.hasOwn(body, field);
    throw new BadRequestError(`${field}: ${missing ? 'is required' : issue.message}`, field);
  }
  const reason = result.data.reason?.trim();
  return { decision: result.data.decision, ...(reason ? { reason } : {}) };
}

/** The 200 answer: the upload as the reviewer sees it (lib/upload-view.ts: URLs, the whole review). */
export const reviewerItemSchema = libraryItemSchema;
export type ReviewerItem = z.infer<typeof reviewerItemSchema>;

/** What a decision does to an upload as it stands: nothing, a refusal (409), or a change. */
export type DecisionEffect =
  | { kind: 'unchanged' }
  | { kind: 'not-reviewable'; why: string }
  | { kind: 'change'; status?: UploadStatus; review: UploadReview };

// An undecided review (or none: REVIEW_MODE off, or a file that came before review was switched on).
const undecided = (review: UploadReview | null) => review === null || review.state === 'pending' || review.state === 'held';
const BLOCKABLE: readonly UploadStatus[] = [Status.UPLOADED, Status.PROCESSING, Status.IN_REVIEW, Status.READY];

/** The rules of docs/content-review.md "The reviewer's decision", as a pure function of the upload. */
export function decisionEffect(
  upload: Pick<Upload, 'status' | 'review' | 'processedAt'>,
  request: DecisionRequest,
  by: { actor: string; at: Date },
): DecisionEffect {
  const { status, review } = upload;
  const decided = (state: 'allowed' | 'blocked'): UploadReview => ({
    ...(review ?? {}),
    state,
    decidedBy: by.actor,
    ...(request.reason ? { reason: request.reason } : { reason: undefined }),
    decidedAt: by.at.toISOString(),
  });
  const refuse = (why: string): DecisionEffect => ({ kind: 'not-reviewable', why });
  if (request.decision === 'block') {
    if (status === Status.BLOCKED) return { kind: 'unchanged' };
    if (!BLOCKABLE.includes(status))
      return refuse(`the upload is ${status}: only UPLOADED, PROCESSING, IN_REVIEW and READY can be blocked`);
    return { kind: 'change', status: Status.BLOCKED, review: decided('blocked') };
  }
  if (status === Status.IN_REVIEW) return { kind: 'change', status: Status.READY, review: decided('allowed') };
  if (status === Status.UPLOADED || status === Status.PROCESSING || status === Status.READY) {
    if (review?.state === 'blocked') return refuse('its review blocked it');
    if (!undecided(review)) return { kind: 'unchanged' };
    // Processing already succeeded and waits (gate) for this review: the gate opens now.
    const opens = status === Status.PROCESSING && upload.processedAt !== null;
    return { kind: 'change', ...(opens ? { status: Status.READY } : {}), review: decided('allowed') };
  }
  return refuse(`the upload is ${status}: only UPLOADED, PROCESSING, IN_REVIEW and READY can be allowed`);
}

export interface ReviewDecisionDeps {
  config: Config;
  db: Database;
  log: Logger;
  vod: VodCalls;
  /** Epoch ms by which VOD (ForbidMediaDistribution) must be done. */
  vodDeadline?: number;
  /** Epoch ms by which sending the webhooks must be over. */
  webhookDeadline?: number;
}

/** The view of the answer: the reviewer's (every URL, signed as usual, unless BLOCKED; the whole review). */
export function reviewerItem(config: Config, upload: Upload): ReviewerItem {
  return uploadView(upload, playbackUrlSigner(config.hotlink, upload.media?.duration), 'reviewer');
}

/** POST /uploads/{uploadId}/review. */
export async function decideReview(
  deps: ReviewDecisionDeps,
  caller: AppUser,
  rawUploadId: string | undefined,
  /** The parsed body; read only once the caller may decide (a user token gets its 403 whatever it sent). */
  body: () => unknown,
): Promise<ReviewerItem> {
  if (!caller.admin) throw new ForbiddenError('Only a service token may decide a review');
  const uploadId = uploadIdParam(rawUploadId).toLowerCase();
  const request = decisionRequest(body());
  const { upload, changed } = await deps.db.transaction(async (tx) => {
    const found = await getUpload(tx, uploadId, { forUpdate: true });
    if (!found) throw new NotFoundError(`Upload ${rawUploadId} not found`);
    const effect = decisionEffect(found, request, { actor: caller.userId, at: new Date() });
    if (effect.kind === 'not-reviewable') {
      throw new ConflictError(`Cannot ${request.decision} this upload: ${effect.why}`, 'NotReviewable');
    }
    if (effect.kind === 'unchanged') return { upload: found, changed: false };
    // A decision ends the review: the reconciler no longer starts it or asks VOD about it.
    const patch: UploadPatch = { review: effect.review, reviewCheckAfter: null, status: effect.status };
    const cause: StatusCause = {
      source: 'reviewer',
      detail: request.decision,
      actor: caller.userId,
      ...(request.reason ? { reason: request.reason } : {}),
    };
    await updateUpload(tx, uploadId, patch, found.status, cause);
    return { upload: (await getUpload(tx, uploadId))!, changed: true };
  });
  deps.log.info('review decided', {
    uploadId,
    decision: request.decision,
    status: upload.status,
    changed,
    reviewer: caller.userId,
  });
  let done = upload;
  // Also when it was already BLOCKED: what an earlier forbid could not do is tried again.
  if (upload.status === Status.BLOCKED && !upload.distributionForbidden) {
    const vodDeps = { ...deps, deadline: deps.vodDeadline };
    if (await forbidBlockedMedia(vodDeps, upload)) done = { ...upload, distributionForbidden: true };
  }
  if (changed) await sendPendingWebhooks({ ...deps, deadline: deps.webhookDeadline }, uploadId);
  return reviewerItem(deps.config, done);
}
