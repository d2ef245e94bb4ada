/**
 * `#contract` inside client/: this folder has its own package.json (the published `@vod-upload/client`),
 * so Node, tsx, tsc and esbuild look up `#contract` in its `imports`, whose targets must stay inside the
 * package. The build bundles the contract's constants and rewrites the declarations' imports of it.
 */
export * from '../contract/index.ts';
