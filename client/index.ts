/**
 * The upload client (Node entry). Browsers: bundle `client/browser.ts` instead, which has the same API
 * with `File`s and `cos-js-sdk-v5`. See client/README.md.
 */
export * from './node.ts';
