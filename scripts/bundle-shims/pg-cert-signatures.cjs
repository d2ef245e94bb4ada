'use strict';
/**
 * Stands in, in the function bundles, for pg's `crypto/cert-signatures` (reading the server certificate's
 * signature algorithm for SCRAM-SHA-256-PLUS channel binding, used only with pg's `enableChannelBinding`
 * option, which the functions never set). SCRAM-SHA-256 itself does not need it. Using it fails loudly.
 */
function signatureAlgorithmHashFromCertificate() {
  throw new Error('SCRAM channel binding (SCRAM-SHA-256-PLUS) is not part of the function bundles');
}
module.exports = { signatureAlgorithmHashFromCertificate };
