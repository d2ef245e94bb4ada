/**
 * Preload for `serverless@3` + `serverless-tencent-scf`:
 *
 *   NODE_OPTIONS="--require ./scripts/sls-offline.cjs" npx serverless package
 *
 * The plugin's provider constructor fires a telemetry POST (`serverless-tencent-tools`
 * `Others.DataReport.report`) without an error handler; offline, the DNS failure becomes an uncaught
 * exception and every command dies at start-up, even `print` and `package`. This replaces that one method
 * with a no-op as soon as the module is loaded, and turns off the Framework's own telemetry and
 * notifications. Nothing else changes: deploy still talks to Tencent Cloud as usual (and is safe to run
 * with this preload: it merely stops reporting usage).
 */
'use strict';

const Module = require('node:module');

process.env.SLS_TELEMETRY_DISABLED = process.env.SLS_TELEMETRY_DISABLED || '1';
process.env.SLS_NOTIFICATIONS_MODE = process.env.SLS_NOTIFICATIONS_MODE || 'off';

const PATCHED = Symbol.for('vod-upload-backend.sls-offline.patched');

/** Makes `DataReport#report` a no-op on the exports of `serverless-tencent-tools/sdk/others/dataReport.js`. */
function neutralise(exports) {
  const DataReport = exports?.DataReport;
  if (typeof DataReport !== 'function' || !DataReport.prototype || DataReport.prototype[PATCHED]) return;
  DataReport.prototype.report = async function report() {
    return true;
  };
  DataReport.prototype[PATCHED] = true;
}

const originalLoad = Module._load;
Module._load = function load(request, ...rest) {
  const exports = originalLoad.call(this, request, ...rest);
  // `serverless-tencent-tools/sdk/others/index.js` loads it as `require('./dataReport')`.
  if (typeof request === 'string' && /(^|\/)dataReport(\.js)?$/.test(request)) neutralise(exports);
  return exports;
};
