'use strict';
/**
 * Stands in, in the function bundles, for modules the VOD SDK loads but the functions never use
 * (`form-data` for multipart uploads, `https-proxy-agent` for proxies): using one fails loudly.
 */
class Unsupported {
  constructor() {
    throw new Error('This VOD SDK feature (multipart bodies or an HTTP proxy) is not supported in the function bundles');
  }
}
module.exports = Unsupported;
module.exports.default = Unsupported;
