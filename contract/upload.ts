/**
 * The upload as the backend exposes it: its statuses and the owner's view (`GET /uploads/{uploadId}`).
 * The state machine over these statuses lives in `lib/upload-lifecycle.ts` (docs/architecture.md §4).
 */
export const UploadStatus = {
  ISSUED: 'ISSUED',
  UPLOADED: 'UPLOADED',
  PROCESSING: 'PROCESSING',
  /** Processed; VOD's review asked for a person to look (REVIEW_MODE=gate). Nothing plays yet. */
  IN_REVIEW: 'IN_REVIEW',
  READY: 'READY',
  FAILED: 'FAILED',
  REJECTED: 'REJECTED',
  EXPIRED: 'EXPIRED',
  /** Refused by the review (VOD's `block` or a person): never plays; its media is deleted after BLOCKED_RETENTION_DAYS. */
  BLOCKED: 'BLOCKED',
  DELETED: 'DELETED',
} as const;

export type UploadStatus = (typeof UploadStatus)[keyof typeof UploadStatus];

export const UPLOAD_STATUSES = Object.values(UploadStatus);

/** REVIEW_MODE: no review; review must allow before READY; READY at once, a later `block` takes it down. */
export const REVIEW_MODES = ['off', 'gate', 'async'] as const;
export type ReviewMode = (typeof REVIEW_MODES)[number];

/**
 * Where an upload's content review stands: `pending` (asked, or still to be asked), `passed` (VOD said
 * `pass`), `held` (VOD said `review`, or its review failed: a person decides), `allowed` (a person allowed
 * it), `blocked` (VOD said `block`, or a person did).
 */
export const REVIEW_STATES = ['pending', 'passed', 'held', 'allowed', 'blocked'] as const;
export type ReviewState = (typeof REVIEW_STATES)[number];

/** A reviewer's decision (`POST /uploads/{uploadId}/review`). */
export const REVIEW_DECISIONS = ['allow', 'block'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

/** The review as the owner sees it (never who decided, never VOD's segments). */
export interface ReviewView {
  state: ReviewState;
  /** VOD's label when it held or blocked the content (`Porn`, `Terror`, …). */
  label?: string;
}

/** A produced file, with the URL a viewer fetches (signed when Key hotlink protection is on). */
export interface RenditionView {
  url: string;
  definition: number;
  width?: number;
  height?: number;
  bitrate?: number;
  size?: number;
  duration?: number;
  container?: string;
}

/** What a Tencent player needs to play a READY upload (the player signature, docs/vod-protocol/player-signature.md). */
export interface PlaybackCredential {
  appId: number;
  fileId: string;
  psign: string;
  /** When the Psign stops working (ISO 8601). */
  expiresAt: string;
}

/** What someone other than the owner gets with PLAYBACK_AUDIENCE `any-user` or `public`: the playback part only. */
export interface PlaybackView {
  uploadId: string;
  status: UploadStatus;
  playback: PlaybackCredential;
}

/** The owner's view of one upload, as `GET /uploads/{uploadId}` answers it. */
export interface UploadView {
  uploadId: string;
  status: UploadStatus;
  fileId: string | null;
  fileName: string | null;
  createdAt: string;
  updatedAt: string;
  statusChangedAt: string;
  /** Only while ISSUED. */
  signatureExpiresAt?: string;
  /** Only while PROCESSING: 0–100. */
  progress?: number;
  media: { type?: string; size?: number; duration?: number; width?: number; height?: number; url?: string } | undefined;
  renditions: RenditionView[];
  adaptiveStreams: Array<{ url: string; definition?: number; package?: string; size?: number; subStreams?: unknown[] }>;
  cover: { url: string } | null;
  snapshots: Array<{ url: string; timeOffsetMs?: number; definition?: number }>;
  sampleSnapshots: Array<{ imageUrls: string[]; definition?: number }>;
  sprite: { imageUrls: string[]; webVttUrl?: string; width?: number; height?: number; totalCount?: number } | null;
  animatedGraphics: Array<{ url: string; definition?: number; container?: string; width?: number; height?: number }>;
  error: { code?: string; message?: string } | null;
  /** With REVIEW_MODE gate or async, once the upload has a file. */
  review?: ReviewView;
  /** With PLAYBACK_KEY set, for a READY upload. */
  playback?: PlaybackCredential;
  /** Every status the upload went through, oldest first (GET /uploads/{uploadId} only, not in webhooks). */
  history?: HistoryEntry[];
}

/** One status change of an upload: when, to what, and why in a few words. */
export interface HistoryEntry {
  at: string;
  status: UploadStatus;
  reason: string;
}
