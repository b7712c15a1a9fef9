/**
 * The serving side: the CreateCertificate use case, the gRPC adapter and its TLS, the status
 * mapping, the serving certificate and the operations HTTP endpoint. The only folder (with
 * client/) that imports gRPC.
 *
 * @module
 */
export type {
  CertificateRequest,
  CertificateResponse,
  CertificateServiceDeps,
  CertificateServiceOptions,
  CsrChecker,
  PodDirectory,
} from './service.js';
export { CertificateService } from './service.js';
export type { CredentialsSource, GrpcServerOptions } from './grpc.js';
export { CaGrpcServer, decodeRequest } from './grpc.js';
export { toGrpcStatus } from './status.js';
export { TRANSPORT_LIMITS } from './transport-limits.js';
export type { ServingIdentity } from './tls.js';
export { RotatingServerCredentials } from './tls.js';
export type { ServingCertificateOptions } from './serving-certificate.js';
export { ServingCertificate, ipBytes } from './serving-certificate.js';
export type { OpsHttpOptions } from './ops-http.js';
export { OpsHttpServer, splitHostPort } from './ops-http.js';
export type { OpsRequest, OpsResponse, OpsRoute } from './ops-routes.js';
export { jsonResponse, routeMatches } from './ops-routes.js';
export {
  CERTIFICATE_SERVICE_NAME,
  CREATE_CERTIFICATE_PATH,
  PROTO_LOADER_OPTIONS,
  loadIstioCaProto,
} from './proto.js';
