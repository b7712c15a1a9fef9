/**
 * `/v1/discovery/report`: continuous discovery's last report, the JSON of `meshca scan -o json`,
 * read like the inventory (TokenReview for the allowed accounts and groups, or no token on a
 * loopback-bound port); 503 before the first complete scan (or on a replica that does not lead).
 * The review API is a fake here; the route in a real `meshca serve` is exercised in
 * test/integration/discovery-serve.test.ts.
 */
import { FixedClock } from '../../src/clock.js';
import {
  REPORT_SCHEMA,
  buildReport,
  discoveryReportRoute,
  type DiscoveryReport,
  type ScanSummary,
} from '../../src/discovery/index.js';
import { InventoryAccess } from '../../src/inventory/index.js';
import type { TokenReviewApi, TokenReviewStatus } from '../../src/kube/index.js';
import type { OpsRequest } from '../../src/server/index.js';

const SUMMARY: ScanSummary = {
  scanId: 'abcd',
  startedAt: new Date('2026-01-02T03:04:05Z'),
  finishedAt: new Date('2026-01-02T03:04:06Z'),
  scope: { namespaces: [] },
  complete: true,
  sources: [{ source: 'secrets', state: 'scanned', resource: 'v1/secrets', objects: 1 }],
  certificates: 0,
  unreadable: 0,
  anchors: 1,
  bySeverity: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
  byKind: {
    'ca-key-in-cluster': 0,
    'self-signed-ca': 0,
    'unapproved-ca': 0,
    'unapproved-ingress-certificate': 0,
    'rogue-issuer': 0,
    'weak-key': 0,
    expired: 0,
    'expiring-soon': 0,
  },
  allowlisted: 0,
  findings: 0,
};

/** TokenReview answers by token: the auditor is allowed, the stranger is not. */
const reviews: TokenReviewApi = {
  review(token: string, audiences: readonly string[]): Promise<TokenReviewStatus> {
    const users: Record<string, string> = {
      auditor: 'system:serviceaccount:security:auditor',
      stranger: 'system:serviceaccount:shop:web',
    };
    const username = users[token];
    return Promise.resolve({
      authenticated: username !== undefined,
      error: username === undefined ? 'invalid bearer token' : undefined,
      audiences: username === undefined ? [] : [...audiences],
      username,
      groups: ['system:serviceaccounts'],
      extra: {},
    });
  },
};

function access(anonymous: boolean): InventoryAccess {
  return new InventoryAccess(
    {
      serviceAccounts: [{ namespace: 'security', serviceAccount: 'auditor' }],
      groups: [],
      audience: 'meshca-inventory',
      anonymous,
    },
    reviews,
    new FixedClock(new Date('2026-01-02T04:00:00Z')),
  );
}

function request(authorization?: string): OpsRequest {
  return {
    method: 'GET',
    path: '/v1/discovery/report',
    query: new URLSearchParams(),
    header: (name) => (name.toLowerCase() === 'authorization' ? authorization : undefined),
    signal: new AbortController().signal,
  };
}

const body = (response: { body: string | Uint8Array }): Record<string, unknown> =>
  JSON.parse(String(response.body)) as Record<string, unknown>;

describe('discoveryReportRoute', () => {
  const report: DiscoveryReport = buildReport(SUMMARY, [], 'https://kube.example:6443');

  it.each([
    ['an allowed account', 200, false, 'Bearer auditor'],
    ['no token, the port on loopback', 200, true, undefined],
    ['no token, the port on every address', 401, false, undefined],
    ['a token TokenReview refuses', 401, false, 'Bearer forged'],
    ['a stranger', 403, false, 'Bearer stranger'],
    ['a stranger, even on loopback', 403, true, 'Bearer stranger'],
  ])('answers %s with %i', async (_who, status, anonymous, authorization) => {
    const route = discoveryReportRoute({ report: () => report, access: access(anonymous) });
    const response = await route.handle(request(authorization));
    expect(response.status).toBe(status);
    if (status === 200) {
      expect(body(response)).toEqual(JSON.parse(JSON.stringify(report)));
      expect(response.headers?.['content-type']).toBe('application/json');
    } else {
      expect(body(response)).toEqual({
        schemaVersion: REPORT_SCHEMA,
        error: { status, message: expect.any(String) as string },
      });
    }
    if (status === 401) expect(response.headers?.['www-authenticate']).toBe('Bearer');
  });

  it('answers 503 before the first complete scan, saying where discovery runs', async () => {
    const route = discoveryReportRoute({ report: () => undefined, access: access(true) });
    const response = await route.handle(request());
    expect(response.status).toBe(503);
    expect(response.headers?.['retry-after']).toBe('30');
    expect(String(response.body)).toContain('discovery runs on the leader');
  });
});
