/**
 * A client of IstioCertificateService, for `meshca request` and the tests: TLS to the CA with a
 * given root (as istio-agent verifies meshca with `istio-ca-root-cert`), bearer token and
 * `clusterid` metadata as istio-agent sends them (ISTIO-CONTRACT.md §2.3).
 *
 * @module
 */
import * as grpc from '@grpc/grpc-js';
import { loadIstioCaProto } from '../server/index.js';
import type { IstioCertificateServiceClient } from '../gen/istio/v1/auth/IstioCertificateService.js';
import type { Value } from '../gen/google/protobuf/Value.js';

/** Options of {@link CaClient}. */
export interface CaClientOptions {
  /** `host:port`. */
  readonly address: string;
  /** PEM roots to verify the CA's serving certificate. */
  readonly rootCertPem: string;
  /** Name to verify the serving certificate against (SNI); defaults to the address host. */
  readonly serverName?: string;
  /** Client keepalive, as istio-agent sets it (30 s). */
  readonly keepaliveMs?: number;
}

/** One call. */
export interface CreateCertificateCall {
  readonly csrPem: string;
  readonly validitySeconds?: number;
  readonly token?: string;
  readonly clusterId?: string;
  /** Raw metadata fields (e.g. `ImpersonatedIdentity`). */
  readonly metadata?: Readonly<Record<string, Value>>;
  readonly deadlineMs?: number;
}

/** A connection to meshca (or any Istio CA). */
export class CaClient {
  readonly #client: IstioCertificateServiceClient;

  constructor(options: CaClientOptions) {
    const proto = loadIstioCaProto();
    const channelOptions: grpc.ChannelOptions = {};
    if (options.serverName !== undefined) {
      channelOptions['grpc.ssl_target_name_override'] = options.serverName;
      channelOptions['grpc.default_authority'] = options.serverName;
    }
    if (options.keepaliveMs !== undefined) {
      channelOptions['grpc.keepalive_time_ms'] = options.keepaliveMs;
      channelOptions['grpc.keepalive_timeout_ms'] = 10_000;
      channelOptions['grpc.keepalive_permit_without_calls'] = 1;
    }
    this.#client = new proto.istio.v1.auth.IstioCertificateService(
      options.address,
      grpc.credentials.createSsl(Buffer.from(options.rootCertPem)),
      channelOptions,
    );
  }

  /**
   * Calls CreateCertificate.
   *
   * @throws the gRPC `ServiceError` on a non-OK status.
   */
  createCertificate(call: CreateCertificateCall): Promise<string[]> {
    const metadata = new grpc.Metadata();
    if (call.token !== undefined) metadata.set('authorization', `Bearer ${call.token}`);
    metadata.set('clusterid', call.clusterId ?? '');
    return new Promise((resolve, reject) => {
      this.#client.CreateCertificate(
        {
          csr: call.csrPem,
          validityDuration: call.validitySeconds ?? 0,
          metadata: { fields: { CertSigner: { stringValue: '' }, ...call.metadata } },
        },
        metadata,
        { deadline: Date.now() + (call.deadlineMs ?? 30_000) },
        (error, response) => {
          if (error) reject(error);
          else resolve(response?.certChain ?? []);
        },
      );
    });
  }

  /** Closes the channel. */
  close(): void {
    this.#client.close();
  }
}
