/**
 * The contract: what the backend (`lib/`), the upload client (`client/`) and the local cloud (`local/`)
 * must agree on. Types and constants only, so the client can import it without importing any server code.
 */
export * from './upload.ts';
export * from './ugc.ts';
export * from './vod.ts';
