/**
 * The gRPC adapter: decodes IstioCertificateRequest and its metadata into domain values, calls
 * {@link CertificateService}, and maps every outcome through `status.ts`. Handlers never throw
 * and never return a promise to grpc-js (which would not await it; STYLE.md "Errors"), and the
 * request body is decoded by our own deserializer (`request-codec.ts`), which never throws
 * either: no input reaches grpc-js' default INTERNAL.
 *
 * @module
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { RequestCredentials } from '../auth/index.js';
import { InvalidRequestError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Part, ReadinessCheck } from '../runtime/index.js';
import type { IstioCertificateRequest__Output } from '../gen/istio/v1/auth/IstioCertificateRequest.js';
import type { IstioCertificateResponse } from '../gen/istio/v1/auth/IstioCertificateResponse.js';
import { CERTIFICATE_SERVICE_NAME, loadIstioCaProto } from './proto.js';
import { RequestDecoder, type WireRequest } from './request-codec.js';
import { grpcServerLimits } from './transport-limits.js';
import type { CertificateRequest, CertificateService } from './service.js';
import { toGrpcStatus } from './status.js';

/** Where the listener's TLS credentials come from (the serving certificate, once issued). */
export interface CredentialsSource {
  readonly credentials: grpc.ServerCredentials;
}

/** Options of {@link CaGrpcServer}. */
export interface GrpcServerOptions {
  /** `host:port`; port 0 picks a free port. */
  readonly listen: string;
  /** How long in-flight calls may finish on shutdown before connections are cut. */
  readonly shutdownGraceMs: number;
}

/** Istio's metadata keys are case-sensitive (ISTIO-CONTRACT.md §1). */
const IMPERSONATED_IDENTITY = 'ImpersonatedIdentity';
/** `validity_duration` is an int64 decoded as a decimal string. */
const INT64 = /^-?\d{1,19}$/;

/**
 * Decodes the wire request.
 *
 * @throws {@link InvalidRequestError} for a non-string ImpersonatedIdentity (istiod would read it
 * as "" and silently issue the caller's own identity; we say what is wrong instead).
 */
export function decodeRequest(request: IstioCertificateRequest__Output): CertificateRequest {
  const validity = request.validityDuration;
  if (!INT64.test(validity)) {
    throw new InvalidRequestError('ERR_TTL_INVALID', 'validity_duration is not an int64');
  }
  const value = request.metadata?.fields[IMPERSONATED_IDENTITY];
  let impersonatedIdentity: string | undefined;
  if (value !== undefined) {
    if (value.kind !== 'stringValue') {
      throw new InvalidRequestError(
        'ERR_REQUEST_INVALID',
        `metadata.${IMPERSONATED_IDENTITY} must be a string value`,
      );
    }
    impersonatedIdentity = value.stringValue === '' ? undefined : value.stringValue;
  }
  return { csrPem: request.csr, validitySeconds: BigInt(validity), impersonatedIdentity };
}

function metadataStrings(metadata: grpc.Metadata, key: string): string[] {
  return metadata.get(key).map((value) => (typeof value === 'string' ? value : value.toString()));
}

/**
 * Splits comma-joined header values. Node's HTTP/2 server joins repeated header fields into one
 * value with ", " (RFC 9110 §5.3), so a client that sends `clusterid` twice (which istiod counts
 * as no cluster claim) would otherwise arrive as one unknown cluster name "a, b".
 */
function listValues(values: readonly string[]): string[] {
  return values.flatMap((value) => value.split(',').map((item) => item.trim()));
}

/** The gRPC server: Istio's certificate service plus grpc.health.v1. */
export class CaGrpcServer implements Part {
  readonly name = 'grpc';
  readonly #server: grpc.Server;
  #listening = false;
  #draining = false;
  /** Calls received since start, and those not answered yet. */
  #received = 0;
  #unanswered = 0;
  readonly #health = new HealthImplementation({
    '': 'NOT_SERVING',
    [CERTIFICATE_SERVICE_NAME]: 'NOT_SERVING',
  });
  readonly #credentials: CredentialsSource;
  readonly #options: GrpcServerOptions;
  readonly #logger: Logger;
  #port: number | undefined;

  constructor(
    service: CertificateService,
    credentials: CredentialsSource,
    logger: Logger,
    options: GrpcServerOptions,
  ) {
    this.#credentials = credentials;
    this.#options = options;
    this.#logger = logger;
    this.#server = new grpc.Server({
      // Message sizes and streams per connection (transport-limits.ts).
      ...grpcServerLimits(),
      // Detect dead peers; clients' own 30 s pings are always welcome (grpc-js enforces no
      // minimum ping interval, so istio-agent and ztunnel keepalives never earn a GOAWAY).
      'grpc.keepalive_time_ms': 5 * 60 * 1000,
      'grpc.keepalive_timeout_ms': 20 * 1000,
    });
    const { CreateCertificate: method } =
      loadIstioCaProto().istio.v1.auth.IstioCertificateService.service;
    const definition = {
      CreateCertificate: { ...method, requestDeserialize: new RequestDecoder().decode },
    } satisfies grpc.ServiceDefinition;
    this.#server.addService(definition, {
      CreateCertificate: (
        call: grpc.ServerUnaryCall<WireRequest, IstioCertificateResponse>,
        callback: grpc.sendUnaryData<IstioCertificateResponse>,
      ) => {
        // Every call received is counted until answered, so that a drain can say what it did.
        this.#received++;
        this.#unanswered++;
        this.#handle(service, call, (error, response) => {
          this.#unanswered--;
          callback(error, response);
        });
      },
    });
    this.#health.addToServer(this.#server);
  }

  #handle(
    service: CertificateService,
    call: grpc.ServerUnaryCall<WireRequest, IstioCertificateResponse>,
    callback: grpc.sendUnaryData<IstioCertificateResponse>,
  ): void {
    // The listener is bound with TLS credentials only, so every call arrived over TLS (istiod
    // treats a plaintext peer as unauthenticated; we never accept one).
    let request: CertificateRequest;
    try {
      if (call.request.kind === 'undecodable') {
        // INVALID_ARGUMENT, which no Istio client retries: a broken client fails fast.
        throw new InvalidRequestError('ERR_REQUEST_INVALID', call.request.reason);
      }
      request = decodeRequest(call.request.request);
    } catch (error) {
      service.refuse(error);
      callback(toGrpcStatus(error));
      return;
    }
    const credentials: RequestCredentials = {
      authorization: metadataStrings(call.metadata, 'authorization'),
      clusterId: listValues(metadataStrings(call.metadata, 'clusterid')),
    };
    const cancelled = new AbortController();
    call.once('cancelled', () => {
      cancelled.abort();
    });
    service.createCertificate(request, credentials, cancelled.signal).then(
      (response) => {
        callback(null, { certChain: [...response.certChain] });
      },
      (error: unknown) => {
        callback(toGrpcStatus(error));
      },
    );
  }

  /** The bound port, once started. */
  get port(): number {
    if (this.#port === undefined) throw new TypeError('server not started');
    return this.#port;
  }

  /** Binds, starts serving and reports SERVING on grpc.health.v1. */
  async start(): Promise<void> {
    this.#port = await new Promise<number>((resolve, reject) => {
      this.#server.bindAsync(this.#options.listen, this.#credentials.credentials, (error, port) => {
        if (error) reject(error);
        else resolve(port);
      });
    });
    this.#listening = true;
    this.setServing(true);
    this.#logger.info({ listen: this.#options.listen, port: this.#port }, 'gRPC listening');
  }

  /** `grpc`: the listener is up (and not draining). */
  readiness(): readonly ReadinessCheck[] {
    return [
      {
        name: 'grpc',
        check: () => {
          if (this.#draining) return 'shutting down: draining calls in flight';
          return this.#listening ? undefined : 'gRPC listener not started';
        },
      },
    ];
  }

  /** Reports the service as serving (or not) on grpc.health.v1. */
  setServing(serving: boolean): void {
    const status = serving ? 'SERVING' : 'NOT_SERVING';
    this.#health.setStatus('', status);
    this.#health.setStatus(CERTIFICATE_SERVICE_NAME, status);
  }

  /**
   * Drains: stops accepting connections and calls at once (the listener closes; open connections
   * get an HTTP/2 GOAWAY naming the last call the server took), lets every call already received
   * finish within the grace period, then closes. Only calls a client sent after the GOAWAY — ones
   * this server never received — are refused, and grpc-js clients retry those transparently or
   * see UNAVAILABLE (which istio-agent and ztunnel retry). Calls still running when the grace
   * period ends are cut, and counted in the log line.
   */
  async close(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    this.#draining = true;
    this.setServing(false);
    const started = performance.now();
    const inFlightAtStart = this.#unanswered;
    let cut = 0;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        cut = this.#unanswered;
        this.#server.forceShutdown();
        resolve();
      }, this.#options.shutdownGraceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    const fields = {
      received: this.#received,
      inFlightAtStart,
      cut,
      drainMs: Math.round(performance.now() - started),
    };
    if (cut > 0)
      this.#logger.warn(fields, 'gRPC drain cut calls still running at the grace period');
    else this.#logger.info(fields, 'gRPC drained: every call received was answered');
  }
}
