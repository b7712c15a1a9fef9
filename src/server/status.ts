/**
 * The one mapping from domain errors to gRPC statuses (STYLE.md "Errors"). Clients get a fixed,
 * safe sentence; the detail stays in our logs.
 *
 * - unauthenticated → UNAUTHENTICATED: not retried by istio-agent; opaque message.
 * - invalid → INVALID_ARGUMENT and denied → PERMISSION_DENIED: not retried; the message names the
 *   rule broken.
 * - unavailable → UNAVAILABLE: retried by istio-agent up to 5 times (ISTIO-CONTRACT.md §2.4) and
 *   by ztunnel with backoff, which is what a transient condition needs.
 * - internal → INTERNAL, and anything that is not a {@link MeshCaError} is a bug: INTERNAL too.
 *
 * @module
 */
import { status as Status, type StatusObject } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { MeshCaError, type ErrorKind } from '../errors.js';

const CODES: Readonly<Record<ErrorKind, Status>> = {
  unauthenticated: Status.UNAUTHENTICATED,
  invalid: Status.INVALID_ARGUMENT,
  denied: Status.PERMISSION_DENIED,
  unavailable: Status.UNAVAILABLE,
  internal: Status.INTERNAL,
};

/** The status to send for `error`. */
export function toGrpcStatus(error: unknown): StatusObject {
  if (error instanceof MeshCaError) {
    return { code: CODES[error.kind], details: error.clientMessage, metadata: new Metadata() };
  }
  return { code: Status.INTERNAL, details: 'internal error', metadata: new Metadata() };
}
