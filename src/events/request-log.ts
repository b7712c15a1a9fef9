/**
 * The request log, as an observer: one `info` line per issued certificate and one line per
 * refusal — `warn` for what a caller did wrong, `error` for what went wrong on our side — with
 * the request id, the stable code and the reason. Tokens, keys and CSRs never appear: only the
 * CSR's SHA-256.
 *
 * @module
 */
import type { Logger } from '../logger.js';
import type { IssuanceEvent, IssuanceObserver } from './issuance-event.js';

/** Writes the request log. */
export class RequestLogObserver implements IssuanceObserver {
  readonly name = 'request-log';
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  observe(event: IssuanceEvent): void {
    const { certificate, subject, caller } = event;
    const decision =
      event.decision === undefined ? undefined : `${event.decision.layer}/${event.decision.rule}`;
    const audits =
      event.decision === undefined || event.decision.audits.length === 0
        ? undefined
        : event.decision.audits.map(
            (audit) => `${audit.layer}/${audit.rule}: ${audit.reason ?? ''}`,
          );
    if (event.outcome === 'issued' && certificate !== undefined && subject !== undefined) {
      this.#logger.info(
        {
          requestId: event.requestId,
          identity: subject.uri,
          caller:
            caller === undefined || caller.identity.uri === subject.uri
              ? undefined
              : caller.identity.uri,
          cluster: event.clusterId,
          pod: caller?.podName,
          node: caller?.nodeName,
          serial: certificate.serialHex,
          notAfter: certificate.notAfter.toISOString(),
          ttlAdjustment: certificate.ttlAdjustment,
          keyType: event.key === undefined ? undefined : keyType(event.key),
          csrSha256: event.csrSha256,
          issuer: certificate.issuerFingerprint,
          decision,
          audits,
        },
        'certificate issued',
      );
      return;
    }
    const fields = {
      requestId: event.requestId,
      code: event.errorCode,
      reason: event.errorMessage,
      ...(event.errorCause === undefined ? {} : { cause: event.errorCause }),
      identity: subject?.uri,
      cluster: event.clusterId,
      decision: event.decision?.effect === 'deny' ? decision : undefined,
      audits,
    };
    if (event.outcome === 'internal') {
      this.#logger.error(fields, 'certificate request failed');
    } else {
      this.#logger.warn(fields, 'certificate request refused');
    }
  }
}

function keyType(key: NonNullable<IssuanceEvent['key']>): string {
  return key.curve ?? `RSA-${key.bits}`;
}
