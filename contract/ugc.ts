/**
 * The UGC client-upload API (`POST /v3/index.php?Action=…`, docs/vod-protocol/ugc-upload.md §2): the
 * actions, the numeric answer codes and the `data` of ApplyUploadUGC and CommitUploadUGC, as the upload
 * client reads them and the emulator writes them.
 */
export const UGC_ACTIONS = ['ApplyUploadUGC', 'CommitUploadUGC', 'PrepareUploadUGC'] as const;
export type UgcAction = (typeof UGC_ACTIONS)[number];

/**
 * Answer codes (`{ code, message, data }`, always HTTP 200). Tencent documents only 10010 (signature
 * expired, in the iOS SDK). The others are the emulator's choice, kept stable; the client's recovery
 * branches on three of them (10001, 10010, 10012: retried with a fresh signature), so against the real
 * VOD only the retry on 10010 rests on a documented code (docs/vod-protocol/error-codes.md §9.1).
 */
export const UGC_CODES = {
  OK: 0,
  InternalError: 10001,
  InvalidParameter: 10002,
  /** Undocumented; follows the legacy web SDK, which dropped its cached vodSessionKey on this code. */
  SessionInvalid: 10005,
  FileNotFound: 10007,
  UploadIncomplete: 10008,
  SignatureInvalid: 10009,
  SignatureExpired: 10010,
  SignatureReused: 10012,
  InvalidAction: 10014,
} as const;

/** The codes after which the client asks for a fresh signature and tries again. */
export const UGC_RETRYABLE_CODES: readonly number[] = [
  UGC_CODES.InternalError,
  UGC_CODES.SignatureExpired,
  UGC_CODES.SignatureReused,
];

/** ApplyUploadUGC's `data`: where to put the bytes and the temporary COS credential to do it with. */
export interface UgcApplyData {
  video?: { storagePath: string };
  cover?: { storagePath: string };
  storageAppId: number;
  /** The bucket name without its `-<appid>` suffix. */
  storageBucket: string;
  storageRegionV5: string;
  vodSessionKey: string;
  tempCertificate: { secretId: string; secretKey: string; token: string; expiredTime: number };
  timestamp: number;
}

/** CommitUploadUGC's `data`. */
export interface UgcCommitData {
  fileId: string;
  video?: { url?: string };
  cover?: { url?: string };
}

/** A character a media name (`videoName`, `coverName`) may not contain (no `g` flag: safe with `test`). */
export const MEDIA_NAME_FORBIDDEN_CHARS = /[\\/:*?"<>|]/;
