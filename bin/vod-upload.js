#!/usr/bin/env node
// The repo's own launcher for the `vod-upload` CLI (client/cli/vod-upload.ts): registers tsx's TypeScript
// loader, then runs the source, so `npx vod-upload` in this repo (the command `npm start` prints) needs no
// build. package.json: "bin": { "vod-upload": "bin/vod-upload.js" }. The published package
// (client/package.json) runs the built client/dist/cli.cjs with plain node instead.

require('tsx/cjs/api').register();
// `vod-upload doctor <uploadId>` is for operators (database and VOD secrets): the repo's scripts/doctor.ts,
// never part of the client package.
if (process.argv[2] === 'doctor') {
  require('../scripts/doctor.ts')
    .main(process.argv.slice(3), process.env, console.log, console.error)
    .then(
      (code) => process.exit(code),
      (error) => {
        console.error(error.message);
        process.exit(1);
      },
    );
} else {
  require('../client/cli/vod-upload.ts');
}
