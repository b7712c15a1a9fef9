/**
 * A client of Istio's certificate service.
 *
 * @module
 */
export type { CaClientOptions, CreateCertificateCall } from './ca-client.js';
export { CaClient } from './ca-client.js';
