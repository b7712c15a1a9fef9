/**
 * TLS for the gRPC listener: HTTP/2 with ALPN h2, TLS 1.2 and 1.3, client certificates requested
 * but not required (Go's VerifyClientCertIfGiven, what istiod and istio-csr use), and a serving
 * certificate that can be replaced without dropping established connections.
 *
 * grpc-js applies a credentials update to the listening server with `setSecureContext`, which
 * affects only new handshakes; open HTTP/2 connections keep their session.
 *
 * @module
 */
import type { SecureContextOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { http2ServerLimits } from './transport-limits.js';

/**
 * TLS 1.2 suites: ECDHE with AES-GCM or ChaCha20 only, which covers istio-agent's FIPS 140-2
 * profile (ECDHE-{ECDSA,RSA}-AES{128,256}-GCM) and ztunnel with TLS12_ENABLED. TLS 1.3 suites are
 * OpenSSL's defaults (AES-GCM and ChaCha20), which include ztunnel's AES-GCM-only set.
 */
const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');
const TLS13_CIPHERS = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

/** The serving identity: certificate chain (leaf first, no root) and its key. */
export interface ServingIdentity {
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
  /** Roots against which an optional client certificate is checked. */
  readonly clientCaPem: string;
}

function contextOptions(identity: ServingIdentity): SecureContextOptions {
  return {
    cert: identity.certificateChainPem,
    key: identity.privateKeyPem,
    ca: identity.clientCaPem,
    minVersion: 'TLSv1.2',
    ciphers: `${TLS13_CIPHERS}:${TLS12_CIPHERS}`,
    // P-256 and P-384 are what FIPS profiles and ztunnel allow; X25519 first for everyone else.
    ecdhCurve: 'X25519:P-256:P-384',
  };
}

/** Server credentials whose certificate can be swapped at run time. */
export class RotatingServerCredentials extends grpc.ServerCredentials {
  constructor(identity: ServingIdentity) {
    // requestCert without rejectUnauthorized: ask for a client certificate, accept its absence.
    // The HTTP/2 limits grpc-js has no option for ride along (transport-limits.ts).
    super(
      { requestCert: true, rejectUnauthorized: false, ...http2ServerLimits() },
      contextOptions(identity),
    );
  }

  /** Uses `identity` for every handshake from now on. */
  update(identity: ServingIdentity): void {
    this.updateSecureContextOptions(contextOptions(identity));
  }

  override _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}
