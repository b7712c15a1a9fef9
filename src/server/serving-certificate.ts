/**
 * meshca's own serving certificate, issued in-process from the intermediate (milliseconds, no
 * dependency on anything else, unlike istio-csr's cert-manager round trip; ISTIO-CSR.md §9.13)
 * and renewed before it expires: at two thirds of its lifetime, and at once when the CA material
 * changes so that the served chain always leads to a root in the published bundle.
 *
 * Clients check it as Go's crypto/tls and rustls/webpki do: a DNS SAN equal to the host of
 * `CA_ADDR` / `CA_ADDRESS` (or an IP SAN), serverAuth, the intermediates sent
 * (ISTIO-CONTRACT.md §2.2, checklist 7).
 *
 * @module
 */
import { generateKeyPairSync } from 'node:crypto';
import { isIP } from 'node:net';
import {
  issueServerCertificate,
  renewalTime,
  type CertificateAuthority,
  type SubjectAltName,
} from '../ca/index.js';
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CaMetrics } from '../metrics/index.js';
import type { Part } from '../runtime/index.js';
import { RotatingServerCredentials, type ServingIdentity } from './tls.js';

/** Options of {@link ServingCertificate}. */
export interface ServingCertificateOptions {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly ttlSeconds: number;
  readonly backdateSeconds: number;
}

/** Retry delay after a failed renewal. */
const RETRY_MS = 10_000;

/** Issues and renews the serving certificate; its {@link credentials} serve the gRPC listener. */
export class ServingCertificate implements Part {
  readonly name = 'serving-certificate';
  #credentials: RotatingServerCredentials | undefined;
  #closed = false;
  readonly #authority: CertificateAuthority;
  readonly #options: ServingCertificateOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #metrics: CaMetrics;
  #timer: NodeJS.Timeout | undefined;
  #generation = 0;
  #unsubscribe: (() => void) | undefined;

  constructor(
    authority: CertificateAuthority,
    options: ServingCertificateOptions,
    deps: { readonly clock: Clock; readonly logger: Logger; readonly metrics: CaMetrics },
  ) {
    if (options.dnsNames.length + options.ipAddresses.length === 0) {
      throw new TypeError('the serving certificate needs at least one DNS name or IP address');
    }
    this.#authority = authority;
    this.#options = options;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#metrics = deps.metrics;
  }

  /**
   * Issues a fresh certificate and key.
   *
   * @throws `MeshCaError` when the CA is not ready or refuses to sign.
   */
  async issue(): Promise<ServingIdentity & { readonly notBefore: Date; readonly notAfter: Date }> {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const issued = await issueServerCertificate(
      this.#authority.current(),
      {
        publicKey,
        subjectAltNames: subjectAltNames(this.#options),
        ttlSeconds: this.#options.ttlSeconds,
        backdateSeconds: this.#options.backdateSeconds,
      },
      this.#clock.now(),
    );
    this.#metrics.certificateExpiry('serving', issued.notAfter);
    return {
      certificateChainPem: [issued.pem, ...issued.intermediatePems].join(''),
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      clientCaPem: issued.trustBundle.pem,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
    };
  }

  /**
   * The TLS credentials of the listener, always holding the current certificate.
   *
   * @throws TypeError before {@link start}.
   */
  get credentials(): RotatingServerCredentials {
    if (this.#credentials === undefined) throw new TypeError('serving certificate not issued yet');
    return this.#credentials;
  }

  /**
   * Issues the first certificate (so that the listener can start with it), then keeps it valid:
   * renews at 2/3 of the lifetime and whenever the CA material changes, until {@link close}.
   *
   * @throws `MeshCaError` when the CA cannot issue it.
   */
  async start(): Promise<void> {
    const first = await this.issue();
    const credentials = new RotatingServerCredentials(first);
    this.#credentials = credentials;
    this.#follow(first, (identity) => {
      credentials.update(identity);
    });
  }

  /** Cancels renewals. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    return Promise.resolve();
  }

  #follow(
    current: { readonly notBefore: Date; readonly notAfter: Date },
    apply: (identity: ServingIdentity) => void,
  ): void {
    const renew = async (reason: string): Promise<void> => {
      // Renewals may overlap (a timer and a CA change): only the latest one may apply, or an
      // older chain could replace a newer one.
      const generation = ++this.#generation;
      try {
        const next = await this.issue();
        if (generation !== this.#generation || this.#closed) return;
        apply(next);
        this.#logger.info(
          { reason, notAfter: next.notAfter.toISOString() },
          'serving certificate renewed',
        );
        this.#schedule(next, renew);
      } catch (error) {
        if (generation !== this.#generation) return;
        this.#logger.error(
          { reason, err: errorMessage(error) },
          'serving certificate renewal failed',
        );
        this.#arm(RETRY_MS, renew);
      }
    };
    this.#unsubscribe = this.#authority.onChange(() => {
      void renew('CA material changed');
    });
    this.#schedule(current, renew);
  }

  #schedule(
    cert: { readonly notBefore: Date; readonly notAfter: Date },
    renew: (reason: string) => Promise<void>,
  ): void {
    const at = renewalTime(cert.notBefore, cert.notAfter, this.#options.backdateSeconds).getTime();
    this.#arm(Math.max(at - this.#clock.now().getTime(), 1000), renew);
  }

  #arm(delayMs: number, renew: (reason: string) => Promise<void>): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#closed) return;
    // setTimeout holds at most 2^31-1 ms (~24.8 days); longer waits re-arm in steps.
    const step = Math.min(delayMs, 2 ** 31 - 1);
    this.#timer = setTimeout(() => {
      if (step < delayMs) this.#arm(delayMs - step, renew);
      else void renew('two thirds of the lifetime elapsed');
    }, step);
    this.#timer.unref();
  }
}

function subjectAltNames(options: ServingCertificateOptions): SubjectAltName[] {
  return [
    ...options.dnsNames.map((value): SubjectAltName => ({ type: 'dns', value })),
    ...options.ipAddresses.map((value): SubjectAltName => ({ type: 'ip', value: ipBytes(value) })),
  ];
}

/** RFC 5280 §4.2.1.6: four octets for IPv4, sixteen for IPv6. */
export function ipBytes(ip: string): Uint8Array {
  const version = isIP(ip);
  if (version === 4) return Uint8Array.from(ip.split('.').map(Number));
  if (version === 6) {
    const [head = '', tail = ''] = ip.split('::');
    const groups = (part: string): number[] =>
      part === '' ? [] : part.split(':').map((group) => parseInt(group, 16));
    const left = groups(head);
    const right = ip.includes('::') ? groups(tail) : [];
    const words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
    return Uint8Array.from(words.flatMap((word) => [word >> 8, word & 0xff]));
  }
  throw new TypeError(`not an IP address: ${ip}`);
}
