/**
 * The backend's answer about one upload (`GET /uploads/{uploadId}`), as this client reads it. Not an error
 * type: errors only carry the last view seen.
 */

/** The owner's view of an upload, as `GET /uploads/{uploadId}` returns it (fields this client reads). */
export interface UploadView {
  uploadId: string;
  status: UploadStatus;
  fileId?: string | null;
  fileName?: string | null;
  progress?: number;
  media?: { type?: string; size?: number; duration?: number; width?: number; height?: number; url?: string } | null;
  renditions?: Array<{ url: string; definition?: number; width?: number; height?: number; bitrate?: number; size?: number }>;
  adaptiveStreams?: Array<{ url: string; definition?: number; package?: string }>;
  cover?: { url: string } | null;
  snapshots?: Array<{ url: string; timeOffsetMs?: number }>;
  sampleSnapshots?: Array<{ imageUrls: string[] }>;
  sprite?: { imageUrls: string[]; webVttUrl?: string } | null;
  animatedGraphics?: Array<{ url: string }>;
  error?: { code?: string; message?: string } | null;
  [key: string]: unknown;
}

export type UploadStatus = 'ISSUED' | 'UPLOADED' | 'PROCESSING' | 'READY' | 'FAILED' | 'REJECTED' | 'EXPIRED' | 'DELETED';
