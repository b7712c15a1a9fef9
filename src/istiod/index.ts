/**
 * istiod's serving certificate (the Secret `istiod-tls`).
 *
 * @module
 */
export type { IstiodCertificateOptions } from './istiod-certificate.js';
export { IstiodCertificateController, istiodDnsNames } from './istiod-certificate.js';
