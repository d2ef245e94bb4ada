/**
 * The upload client (Node entry). Browsers: bundle `client/browser.ts` instead, which has the same API
 * with `File`s and `cos-js-sdk-v5`. See client/README.md.
 *
 * Value exports are listed by name (not `export *`) so that ES-module callers loading this file through a
 * CommonJS transform (tsx with `import` from an .mts/.mjs file) see them.
 */
export {
  classifyCosError,
  DEFAULT_VOD_API_URL,
  defaultStateDir,
  EXIT_CODES,
  exitCodeFor,
  FileResumeStore,
  isResumeRecord,
  isVodUploadError,
  MemoryResumeStore,
  RESUME_MAX_AGE_MS,
  uploadVideo,
  VodUploader,
  VodUploaderCore,
  VodUploadError,
} from './node.ts';
export type * from './node.ts';
