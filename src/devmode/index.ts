/**
 * The embedded development mode: a local token issuer that stands in for a cluster's
 * service-account token signer.
 *
 * @module
 */
export type { DevTokenClaims, DevTokenIssuerLayout } from './token-issuer.js';
export {
  DEV_TOKEN_ISSUER,
  devTokenIssuerLayout,
  ensureDevTokenIssuer,
  issueDevToken,
} from './token-issuer.js';
