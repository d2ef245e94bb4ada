'use strict';
/**
 * Stands in, in the function bundles, for pg's client over libpq (`pg/lib/native`, loaded only with
 * NODE_PG_FORCE_NATIVE or through `pg.native`): the functions use pg's JavaScript client. Using it fails loudly.
 */
class NativeClient {
  constructor() {
    throw new Error("pg's native client is not part of the function bundles; they use pg's JavaScript client");
  }
}
module.exports = NativeClient;
