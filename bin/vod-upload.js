#!/usr/bin/env node
// The repo's own launcher for the `vod-upload` CLI (client/cli/vod-upload.ts): registers tsx's TypeScript
// loader, then runs the source, so `npx vod-upload` in this repo (the command `npm start` prints) needs no
// build. package.json: "bin": { "vod-upload": "bin/vod-upload.js" }. The published package
// (client/package.json) runs the built client/dist/cli.cjs with plain node instead.

require('tsx/cjs/api').register();
require('../client/cli/vod-upload.ts');
