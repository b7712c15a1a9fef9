/**
 * The issuance metrics observer: every call by outcome and reason, and every certificate issued
 * by key algorithm, TTL adjustment, authentication method and the intermediate that signed it
 * (the dashboard's "Issued certificates by intermediate" sums by `issuer`).
 */
import { CaMetrics, IssuanceMetricsObserver } from '../../src/metrics/index.js';
import { ISSUER_A, ISSUER_B, event } from '../ledger/fixtures.js';

describe('IssuanceMetricsObserver', () => {
  it('counts certificates per signing intermediate, and refusals by reason', async () => {
    const metrics = new CaMetrics({ collectProcessMetrics: false });
    const observer = new IssuanceMetricsObserver(metrics);
    observer.observe(event({ issuer: ISSUER_A }));
    observer.observe(event({ issuer: ISSUER_A }));
    // An intermediate rotation: the new one signs from now on.
    observer.observe(event({ issuer: ISSUER_B }));
    observer.observe(event({ outcome: 'denied', denyRule: 'shop-only' }));

    const text = (await metrics.exposition()).body;
    const issued = (issuer: string, count: number): string =>
      `meshca_certificates_issued_total{key_algorithm="P-256",ttl_adjustment="none",auth_method="token-review",issuer="${issuer}"} ${count}`;
    expect(text).toContain(issued(ISSUER_A, 2));
    expect(text).toContain(issued(ISSUER_B, 1));
    expect(text).toContain('meshca_certificate_requests_total{outcome="issued",reason="ok"} 3');
    expect(text).toContain(
      'meshca_certificate_requests_total{outcome="denied",reason="ERR_POLICY_DENIED"} 1',
    );
    // A refusal has no certificate, so no issuer series.
    expect(text.match(/^meshca_certificates_issued_total\{/gm)).toHaveLength(2);
  });
});
