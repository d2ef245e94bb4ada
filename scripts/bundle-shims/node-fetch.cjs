'use strict';
/**
 * `node-fetch` (v2) for the bundles, on the platform's own fetch (Node 18+), so that the VOD SDK does not
 * drag in node-fetch's URL and encoding tables (tr46, whatwg-url). The SDK passes node-fetch's `timeout`
 * (ms) beside the standard options; a proxy `agent` is refused, as the functions never use one.
 */
function fetch(url, options) {
  const { timeout, agent, proxy, signal, ...init } = options || {};
  if (agent || proxy) return Promise.reject(new Error('HTTP proxies are not supported in the function bundles'));
  const controller = new AbortController();
  const abort = (reason) => controller.abort(reason);
  if (signal) {
    if (signal.aborted) abort(signal.reason);
    else signal.addEventListener('abort', () => abort(signal.reason), { once: true });
  }
  const timer = timeout > 0 ? setTimeout(() => abort(new Error(`network timeout after ${timeout} ms`)), timeout) : undefined;
  return globalThis.fetch(url, { ...init, signal: controller.signal }).finally(() => clearTimeout(timer));
}
module.exports = fetch;
module.exports.default = fetch;
