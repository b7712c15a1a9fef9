/**
 * The one mapping from domain errors to gRPC statuses: each kind to its code, the client sentence
 * (opaque where the detail must stay ours), and anything that is not a MeshCaError to INTERNAL.
 */
import { status as Status } from '@grpc/grpc-js';
import {
  ERROR_CATALOGUE,
  InternalError,
  InvalidRequestError,
  MAX_CLIENT_MESSAGE_BYTES,
  MeshCaError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
  type ErrorKind,
  type MeshCaErrorCode,
} from '../../src/errors.js';
import { toGrpcStatus } from '../../src/server/index.js';

describe('toGrpcStatus', () => {
  it.each([
    [
      'unauthenticated: opaque',
      new UnauthenticatedError('ERR_AUTH_TOKEN_INVALID', 'token signed by an unknown key'),
      Status.UNAUTHENTICATED,
      'authentication failed',
    ],
    [
      'impersonation: its own fixed sentence',
      new UnauthenticatedError('ERR_IMPERSONATION_DENIED', 'no pods of shop/cart on node-a'),
      Status.UNAUTHENTICATED,
      'impersonation not authorized',
    ],
    [
      'invalid: names the rule',
      new InvalidRequestError('ERR_CSR_SUBJECT_CN', 'CSR subject has a common name'),
      Status.INVALID_ARGUMENT,
      'CSR subject has a common name',
    ],
    [
      'denied: names the rule',
      new PermissionDeniedError('ERR_POLICY_DENIED', 'policy central/prod-only: denied'),
      Status.PERMISSION_DENIED,
      'policy central/prod-only: denied',
    ],
    [
      'unavailable: opaque, retried by clients',
      new UnavailableError('ERR_TOKEN_REVIEW_UNAVAILABLE', 'TokenReview: connect ECONNREFUSED'),
      Status.UNAVAILABLE,
      'the CA is temporarily unavailable, retry later',
    ],
    [
      'internal: opaque',
      new InternalError('ERR_SIGNING_FAILED', 'the CA key failed to sign'),
      Status.INTERNAL,
      'internal error',
    ],
    [
      'an explicit client message',
      new UnavailableError('ERR_PODS_NOT_SYNCED', 'pods not loaded', {
        clientMessage: 'pods not loaded yet, retry',
      }),
      Status.UNAVAILABLE,
      'pods not loaded yet, retry',
    ],
  ] as const)('%s', (_name, error, code, details) => {
    const status = toGrpcStatus(error);
    expect(Status[status.code]).toBe(Status[code]);
    expect(status.details).toBe(details);
    expect(status.metadata.getMap()).toEqual({});
  });

  it.each([
    ['an Error', new Error('secret internals: token=abc')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['a string', 'boom'],
    ['undefined', undefined],
  ])('maps %s (a bug) to INTERNAL without its message', (_name, thrown) => {
    const status = toGrpcStatus(thrown);
    expect(Status[status.code]).toBe('INTERNAL');
    expect(status.details).toBe('internal error');
  });

  const EXPECTED: Readonly<Record<ErrorKind, Status>> = {
    unauthenticated: Status.UNAUTHENTICATED,
    invalid: Status.INVALID_ARGUMENT,
    denied: Status.PERMISSION_DENIED,
    unavailable: Status.UNAVAILABLE,
    internal: Status.INTERNAL,
  };

  it.each(Object.keys(ERROR_CATALOGUE) as MeshCaErrorCode[])(
    'maps %s to the status of its kind',
    (code) => {
      const error = new MeshCaError(code, 'detail');
      expect(Status[toGrpcStatus(error).code]).toBe(Status[EXPECTED[ERROR_CATALOGUE[code].kind]]);
    },
  );

  it('bounds a long client message that echoes input', () => {
    const error = new InvalidRequestError(
      'ERR_CSR_SAN_FORBIDDEN_TYPE',
      `bad SAN ${'x'.repeat(5000)}`,
    );
    const { details } = toGrpcStatus(error);
    expect(Buffer.byteLength(details, 'utf8')).toBeLessThanOrEqual(MAX_CLIENT_MESSAGE_BYTES);
    expect(details.endsWith('...')).toBe(true);
  });
});
