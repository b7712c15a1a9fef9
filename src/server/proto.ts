/**
 * Loading our `.proto` (proto/istio/v1/auth/ca.proto) with proto-loader. The options match the
 * generated types in src/gen (`npm run gen`): int64 as strings (no precision loss above 2^53,
 * ISTIO-CONTRACT.md §1), oneofs exposed (to tell a string `Struct` value from other kinds).
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../gen/ca.js';

/** The proto-loader options the generated types assume. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Full gRPC method path of CreateCertificate. */
export const CREATE_CERTIFICATE_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';
/** Service name used by the health service. */
export const CERTIFICATE_SERVICE_NAME = 'istio.v1.auth.IstioCertificateService';

const PROTO_ROOT = fileURLToPath(new URL('../../proto/', import.meta.url));

/** Loads the Istio certificate service definitions. */
export function loadIstioCaProto(): ProtoGrpcType {
  const definition = protoLoader.loadSync('istio/v1/auth/ca.proto', {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [PROTO_ROOT],
  });
  return grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
}
