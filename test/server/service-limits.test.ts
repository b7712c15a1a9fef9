/**
 * CertificateService under load and time pressure, and with misbehaving observers: maxInFlight,
 * the request deadline, client cancellation, and observers that throw.
 */
import { InvalidRequestError, UnauthenticatedError, UnavailableError } from '../../src/errors.js';
import { ThrowingObserver } from '../fakes/index.js';
import { deferred } from '../support/deferred.js';
import {
  CREDENTIALS,
  IMPERSONATED,
  NOW,
  ZTUNNEL,
  refusal,
  request,
  setup,
} from './service-setup.js';

describe('CertificateService', () => {
  describe('rate limits', () => {
    it('asks the limiter about the subject identity, and refuses before the CSR is looked at', async () => {
      const asked: string[] = [];
      const { service, csrValidator, signer, recorder } = setup({
        limiter: {
          admit: (subject) => {
            asked.push(subject.uri);
            return new UnavailableError('ERR_RATE_LIMITED', `${subject.uri} over its limit`);
          },
        },
      });
      const error = await refusal(
        service.createCertificate(request(), CREDENTIALS, new AbortController().signal),
      );
      expect(error).toMatchObject({ kind: 'unavailable', code: 'ERR_RATE_LIMITED' });
      expect(asked).toEqual(['spiffe://cluster.local/ns/default/sa/app']);
      expect(csrValidator.calls).toEqual([]);
      expect(signer.calls).toEqual([]);
      // The event names who was limited.
      expect(recorder.only()).toMatchObject({
        outcome: 'unavailable',
        errorCode: 'ERR_RATE_LIMITED',
        subject: { uri: 'spiffe://cluster.local/ns/default/sa/app' },
      });
    });

    it('asks about the impersonated identity when a node proxy asks for a pod', async () => {
      const asked: string[] = [];
      const { service, authenticator } = setup({
        limiter: {
          admit: (subject) => {
            asked.push(subject.uri);
            return undefined;
          },
        },
      });
      authenticator.caller = ZTUNNEL;
      await service.createCertificate(
        request({ impersonatedIdentity: IMPERSONATED }),
        CREDENTIALS,
        new AbortController().signal,
      );
      expect(asked).toEqual([IMPERSONATED]);
    });
  });

  describe('limits', () => {
    it('refuses beyond maxInFlight with UNAVAILABLE, before authenticating', async () => {
      const { service, authenticator, decider, recorder } = setup({ service: { maxInFlight: 1 } });
      const hold = deferred();
      decider.hold = hold.promise;
      const first = service.createCertificate(request(), CREDENTIALS, new AbortController().signal);
      await new Promise((resolve) => setImmediate(resolve));
      expect(service.inFlight).toBe(1);
      const error = await refusal(
        service.createCertificate(request(), CREDENTIALS, new AbortController().signal),
      );
      expect(error).toMatchObject({ kind: 'unavailable', code: 'ERR_OVERLOADED' });
      expect(authenticator.calls).toHaveLength(1);
      expect(recorder.events).toHaveLength(1);
      expect(recorder.events[0]).toMatchObject({
        outcome: 'unavailable',
        errorCode: 'ERR_OVERLOADED',
        caller: undefined,
      });
      hold.resolve();
      await first;
      expect(recorder.events.map((event) => event.outcome)).toEqual(['unavailable', 'issued']);
      expect(service.inFlight).toBe(0);
    });

    it.each([
      ['the deadline passes', 'deadline'],
      ['the client cancels', 'cancel'],
    ] as const)('answers UNAVAILABLE ERR_DEADLINE when %s', async (_name, how) => {
      const { service, decider, recorder } = setup({
        service: { requestTimeoutMs: how === 'deadline' ? 50 : 60_000 },
      });
      const hold = deferred();
      decider.hold = hold.promise;
      const client = new AbortController();
      const pending = service.createCertificate(request(), CREDENTIALS, client.signal);
      if (how === 'cancel')
        setTimeout(() => {
          client.abort();
        }, 20);
      const error = await refusal(pending);
      expect(error).toMatchObject({ kind: 'unavailable', code: 'ERR_DEADLINE' });
      // The decider was told: its signal aborted with the request.
      expect(decider.signals[0]?.aborted).toBe(true);
      expect(recorder.only()).toMatchObject({ outcome: 'unavailable', errorCode: 'ERR_DEADLINE' });
      expect(service.inFlight).toBe(0);
      hold.resolve();
    });

    // Known gap (reported): after the deadline has answered the client, #process goes on and
    // asks the gates and the signer, so a certificate is signed that nobody receives and no
    // event records. A check of the signal before the gates would close it.
    it('does not sign after the request was abandoned', async () => {
      const { service, decider, signer, gates, recorder } = setup({
        service: { requestTimeoutMs: 30 },
      });
      const hold = deferred();
      decider.hold = hold.promise;
      await refusal(
        service.createCertificate(request(), CREDENTIALS, new AbortController().signal),
      );
      // The decision arrives after the client was answered UNAVAILABLE.
      hold.resolve();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(recorder.events).toHaveLength(1);
      expect(gates[0]?.checks).toBe(0);
      expect(signer.calls).toHaveLength(0);
    });
  });

  describe('observers', () => {
    it('keeps answering when an observer throws, and the others still see the event', async () => {
      const throwing = new ThrowingObserver();
      const { service, recorder, lines } = setup({ extraObservers: [throwing] });
      const response = await service.createCertificate(
        request(),
        CREDENTIALS,
        new AbortController().signal,
      );
      expect(response.certChain).toHaveLength(3);
      expect(throwing.calls).toBe(1);
      expect(recorder.only().outcome).toBe('issued');
      const logged = lines().map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(logged).toContainEqual(
        expect.objectContaining({
          msg: 'issuance observer failed',
          observer: 'throwing',
          requestId: recorder.only().requestId,
          err: 'observer bug',
        }) as unknown,
      );
    });

    it('keeps refusing with the domain error when an observer throws', async () => {
      const { service, authenticator } = setup({ extraObservers: [new ThrowingObserver()] });
      authenticator.failure = new UnauthenticatedError('ERR_AUTH_NO_TOKEN', 'no token');
      const error = await refusal(
        service.createCertificate(request(), CREDENTIALS, new AbortController().signal),
      );
      expect(error.code).toBe('ERR_AUTH_NO_TOKEN');
    });

    it('records a request the adapter refused before it reached the service', () => {
      const { service, recorder } = setup();
      service.refuse(new InvalidRequestError('ERR_REQUEST_INVALID', 'csr field missing'));
      expect(recorder.only()).toMatchObject({
        outcome: 'invalid',
        errorCode: 'ERR_REQUEST_INVALID',
        errorMessage: 'csr field missing',
        caller: undefined,
        time: NOW,
      });
    });

    it('records an unexpected adapter failure as internal', () => {
      const { service, recorder } = setup();
      service.refuse(new Error('decoder exploded'));
      expect(recorder.only()).toMatchObject({ outcome: 'internal', errorCode: 'ERR_INTERNAL' });
    });
  });
});
