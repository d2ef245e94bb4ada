/**
 * Browser entry of the upload client: files are `File`s (or Blobs with a name), COS is `cos-js-sdk-v5`,
 * resume records live in localStorage. Imports nothing from Node; bundle it with esbuild:
 *
 *   esbuild client/browser.ts --bundle --format=esm --platform=browser --outfile=…
 */
import COS from 'cos-js-sdk-v5';
import { VodUploadError } from './errors.ts';
import type { UploadCallOptions, UploadResult, VodUploaderOptions } from './options.ts';
import type { CosLike, Platform, UploadSource } from './platform.ts';
import { isResumeRecord, MemoryResumeStore } from './resume-store.ts';
import type { ResumeRecord, ResumeStore } from './resume-store.ts';
import { VodUploaderCore } from './uploader.ts';

export * from './cli/exit-codes.ts';
export { classifyCosError } from './cos-transfer.ts';
export * from './errors.ts';
export type * from './library-api.ts';
export * from './options.ts';
export * from './platform.ts';
export * from './resume-store.ts';
export { DEFAULT_VOD_API_URL } from './ugc-api.ts';
export type { UploadStatus, UploadView } from '#contract';
export { VodUploaderCore } from './uploader.ts';

/** What the browser client accepts: a File, or a Blob plus a name. */
export type BrowserFile = Blob & { name?: string; lastModified?: number };

/** The part of the DOM `Storage` interface used here (localStorage, sessionStorage). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Resume records in `localStorage` under `<prefix><key>`. */
export class LocalStorageResumeStore implements ResumeStore {
  constructor(
    private readonly storage: StorageLike,
    private readonly prefix = 'vod-upload:',
  ) {}
  get(key: string): ResumeRecord | undefined {
    try {
      const raw = this.storage.getItem(this.prefix + key);
      const parsed: unknown = raw ? JSON.parse(raw) : undefined;
      return isResumeRecord(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  set(key: string, record: ResumeRecord): void {
    try {
      this.storage.setItem(this.prefix + key, JSON.stringify(record));
    } catch {
      // Storage full or disabled (private mode): resume is best effort.
    }
  }
  delete(key: string): void {
    try {
      this.storage.removeItem(this.prefix + key);
    } catch {
      // ignore
    }
  }
}

const browserPlatform: Platform = {
  async describe(file: unknown, role): Promise<UploadSource> {
    const blob = file as BrowserFile | null;
    if (!blob || typeof blob !== 'object' || typeof blob.size !== 'number' || typeof blob.slice !== 'function') {
      throw new VodUploadError('bad-input', `the ${role} must be a File (or a Blob with a name)`);
    }
    const name =
      typeof blob.name === 'string' && blob.name
        ? blob.name
        : `${role}.${(blob.type.split('/')[1] ?? 'bin').replace(/[^a-z0-9]/gi, '')}`;
    return {
      name,
      size: blob.size,
      identity: `${name}:${blob.size}:${blob.lastModified ?? 0}`,
      cosParams: { Body: blob },
    };
  },
  createCos(options) {
    return new COS(options as ConstructorParameters<typeof COS>[0]) as unknown as CosLike;
  },
  signCos(options) {
    return COS.getAuthorization(options as unknown as Parameters<typeof COS.getAuthorization>[0]);
  },
  defaultResumeStore() {
    try {
      const storage = (globalThis as { localStorage?: StorageLike }).localStorage;
      if (storage) return new LocalStorageResumeStore(storage);
    } catch {
      // localStorage can throw when disabled
    }
    return new MemoryResumeStore();
  },
};

/**
 * The upload client for browsers.
 *
 * ```ts
 * const uploader = new VodUploader({ apiBaseUrl: location.origin, token });
 * const result = await uploader.upload(input.files[0], { onProgress, signal, waitForReady: true });
 * ```
 */
export class VodUploader extends VodUploaderCore {
  constructor(options: VodUploaderOptions) {
    super(browserPlatform, options);
  }

  override upload(file: BrowserFile, call?: UploadCallOptions & { cover?: BrowserFile }): Promise<UploadResult> {
    return super.upload(file, call);
  }
}

export function uploadVideo(
  file: BrowserFile,
  options: VodUploaderOptions & UploadCallOptions & { cover?: BrowserFile },
): Promise<UploadResult> {
  return new VodUploader(options).upload(file, options);
}
