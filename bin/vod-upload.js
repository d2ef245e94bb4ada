#!/usr/bin/env node
// Launcher for the `vod-upload` CLI (client/cli/vod-upload.ts): registers tsx's TypeScript loader, then runs it.
// package.json: "bin": { "vod-upload": "bin/vod-upload.js" }
'use strict';
require('tsx/cjs/api').register();
require('../client/cli/vod-upload.ts');
