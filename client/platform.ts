/**
 * The platform seam: what `node.ts` and `browser.ts` give the platform-neutral client (file access, their
 * build of the COS SDK, where resume records go). Nothing else in the client touches Node or the DOM.
 */
import type { ResumeStore } from './resume-store.ts';

/** A file to upload, as the platform describes it. */
export interface UploadSource {
  /** Base name with extension, e.g. `clip.mp4`. */
  name: string;
  size: number;
  /** Stable identity of this file's content (path + size + mtime, name + size + lastModified): the resume key. */
  identity: string;
  /** What to pass to COS `sliceUploadFile`: `{ FilePath }` (Node) or `{ Body }` (browser). */
  cosParams: Record<string, unknown>;
}

/** The subset of the COS SDK (cos-nodejs-sdk-v5 / cos-js-sdk-v5) this client drives. */
export interface CosLike {
  sliceUploadFile(params: Record<string, unknown>, callback: (err: unknown, data: unknown) => void): unknown;
  cancelTask(taskId: string): void;
  restartTask(taskId: string): void;
}

export interface Platform {
  /** Turns what the caller passed (a path, a File…) into an UploadSource; throws bad-input when unusable. */
  describe(file: unknown, role: 'video' | 'cover'): Promise<UploadSource>;
  /** `new COS(options)` of the platform's SDK build (plus platform options such as `ConfCwd`). */
  createCos(options: Record<string, unknown>): CosLike;
  /** `COS.getAuthorization(options)`: the SDK's own request signer. */
  signCos(options: Record<string, unknown>): string;
  /** Where resume records go when the caller gives no store. */
  defaultResumeStore(): ResumeStore;
}
