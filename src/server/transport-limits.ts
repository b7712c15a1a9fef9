/**
 * The limits of the gRPC transport, set on purpose rather than left at library defaults. Each
 * bounds what one connection or one call can make meshca hold before any of our code runs.
 *
 * - Messages: a CSR is a few KiB and never more than 64 KiB (`csr/parse.ts`), so a request above
 *   72 KiB is refused by grpc-js before it is buffered (RESOURCE_EXHAUSTED), compressed or not
 *   (grpc-js counts the decompressed size). Responses (a chain and the trust bundle) are a few KiB;
 *   the send bound is the 4 MiB every gRPC client accepts by default.
 * - Metadata: Istio's clients send a bearer token (about 1 KiB; meshca refuses tokens above
 *   16 KiB, `auth/bearer.ts`) and a handful of headers. The header list of a call is bounded to
 *   32 KiB and 64 fields (Node's defaults are 64 KiB and 128): past either, Node's HTTP/2 layer
 *   refuses the stream (ENHANCE_YOUR_CALM; clients report RESOURCE_EXHAUSTED) and the connection
 *   stays usable. grpc-js has no option of its own for this, so it is passed to Node's HTTP/2
 *   server through the credentials (`tls.ts`).
 * - Streams: 256 calls at once per connection (a proxy makes one call at a time; ztunnel a few).
 *   Further calls wait in the client for a free stream.
 * - Handshakes: a TLS handshake must finish within 10 s (Node's default is 120 s), so connections
 *   that stall mid-handshake cannot pile up.
 *
 * @module
 */
import type { SecureServerOptions } from 'node:http2';
import type * as grpc from '@grpc/grpc-js';

/** The bounds, in bytes, counts and milliseconds. */
export const TRANSPORT_LIMITS = {
  maxReceiveMessageBytes: 72 * 1024,
  maxSendMessageBytes: 4 * 1024 * 1024,
  maxConcurrentStreams: 256,
  maxHeaderListBytes: 32 * 1024,
  maxHeaderPairs: 64,
  handshakeTimeoutMs: 10_000,
} as const;

/** grpc-js server options carrying the limits it knows. */
export function grpcServerLimits(): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': TRANSPORT_LIMITS.maxReceiveMessageBytes,
    'grpc.max_send_message_length': TRANSPORT_LIMITS.maxSendMessageBytes,
    'grpc.max_concurrent_streams': TRANSPORT_LIMITS.maxConcurrentStreams,
  };
}

/**
 * Node HTTP/2 and TLS server options carrying the limits grpc-js does not know. grpc-js merges
 * the credentials' constructor options over its own, so the stream limit is repeated here (the
 * `settings` object replaces grpc-js').
 */
export function http2ServerLimits(): SecureServerOptions {
  return {
    maxHeaderListPairs: TRANSPORT_LIMITS.maxHeaderPairs,
    settings: {
      maxConcurrentStreams: TRANSPORT_LIMITS.maxConcurrentStreams,
      maxHeaderListSize: TRANSPORT_LIMITS.maxHeaderListBytes,
    },
    handshakeTimeout: TRANSPORT_LIMITS.handshakeTimeoutMs,
  };
}
