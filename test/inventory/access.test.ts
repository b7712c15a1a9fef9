/**
 * Who may read the inventory: TokenReview for the configured audience, then the allowed service
 * accounts or groups; anonymous only on loopback; nothing but loopback without a cluster; answers
 * reused for a while (TokenReview unavailability excepted). The review API is a fake here; the
 * real TokenReview is exercised in test/integration/ledger-kube.test.ts.
 */
import { FixedClock } from '../../src/clock.js';
import { UnavailableError } from '../../src/errors.js';
import { InventoryAccess, type InventoryAccessOptions } from '../../src/inventory/index.js';
import type { TokenReviewApi, TokenReviewStatus } from '../../src/kube/index.js';

const OPTIONS: InventoryAccessOptions = {
  serviceAccounts: [{ namespace: 'security', serviceAccount: 'auditor' }],
  groups: ['security-team'],
  audience: 'meshca-inventory',
  anonymous: false,
};

/** TokenReview answers by token. */
class FakeReviews implements TokenReviewApi {
  readonly calls: { token: string; audiences: readonly string[] }[] = [];
  down = false;
  readonly #answers: Record<string, Partial<TokenReviewStatus>> = {
    auditor: {
      username: 'system:serviceaccount:security:auditor',
      groups: ['system:serviceaccounts'],
    },
    teammate: { username: 'alice', groups: ['security-team', 'system:authenticated'] },
    stranger: { username: 'system:serviceaccount:shop:web', groups: ['system:serviceaccounts'] },
    'other-audience': {
      username: 'system:serviceaccount:security:auditor',
      audiences: ['istio-ca'],
    },
  };

  review(token: string, audiences: readonly string[]): Promise<TokenReviewStatus> {
    this.calls.push({ token, audiences });
    if (this.down)
      return Promise.reject(
        new UnavailableError('ERR_TOKEN_REVIEW_UNAVAILABLE', 'down at https://10.0.0.1'),
      );
    const answer = this.#answers[token];
    return Promise.resolve({
      authenticated: answer !== undefined,
      error: answer === undefined ? 'invalid bearer token' : undefined,
      audiences: answer?.audiences ?? (answer === undefined ? [] : [...audiences]),
      username: answer?.username,
      groups: answer?.groups ?? [],
      extra: {},
    });
  }
}

const signal = new AbortController().signal;

describe('InventoryAccess', () => {
  let reviews: FakeReviews;
  let clock: FixedClock;
  beforeEach(() => {
    reviews = new FakeReviews();
    clock = new FixedClock(new Date('2026-03-01T12:00:00Z'));
  });
  const access = (
    options: Partial<InventoryAccessOptions> = {},
    reviewer: TokenReviewApi | null = reviews,
  ) => new InventoryAccess({ ...OPTIONS, ...options }, reviewer ?? undefined, clock);

  it.each([
    ['Bearer auditor', { allowed: true, who: 'system:serviceaccount:security:auditor' }],
    ['bearer teammate', { allowed: true, who: 'alice' }],
    [
      'Bearer stranger',
      {
        allowed: false,
        status: 403,
        reason:
          'system:serviceaccount:shop:web may not read the inventory (see inventoryServiceAccounts, inventoryGroups)',
      },
    ],
    [
      'Bearer other-audience',
      {
        allowed: false,
        status: 401,
        reason: 'the token is not valid for the audience meshca-inventory',
      },
    ],
    [
      'Bearer forged',
      {
        allowed: false,
        status: 401,
        reason: 'the token is not valid for the audience meshca-inventory',
      },
    ],
    [
      'Basic dXNlcjpwdw==',
      { allowed: false, status: 401, reason: 'the Authorization header is not Bearer <token>' },
    ],
    [undefined, { allowed: false, status: 401, reason: 'a bearer token is required' }],
  ])('%s → %o', async (header, verdict) => {
    expect(await access().check(header, signal)).toEqual(verdict);
  });

  it('asks TokenReview for the inventory audience', async () => {
    await access().check('Bearer auditor', signal);
    expect(reviews.calls).toEqual([{ token: 'auditor', audiences: ['meshca-inventory'] }]);
  });

  it('lets requests without a token in only on loopback, and still checks tokens there', async () => {
    const loopback = access({ anonymous: true });
    expect(await loopback.check(undefined, signal)).toEqual({
      allowed: true,
      who: 'anonymous (loopback)',
    });
    expect(await loopback.check('Bearer stranger', signal)).toMatchObject({
      allowed: false,
      status: 403,
    });
  });

  it('without a cluster, admits nobody but anonymous loopback requests', async () => {
    expect(await access({}, null).check('Bearer auditor', signal)).toEqual({
      allowed: false,
      status: 401,
      reason: 'bearer tokens cannot be checked without a cluster (no TokenReview)',
    });
    expect(await access({}, null).check(undefined, signal)).toMatchObject({
      allowed: false,
      status: 401,
    });
    expect(await access({ anonymous: true }, null).check(undefined, signal)).toMatchObject({
      allowed: true,
    });
  });

  it('answers 503 without detail while TokenReview is unavailable, and does not remember it', async () => {
    const subject = access();
    reviews.down = true;
    expect(await subject.check('Bearer auditor', signal)).toEqual({
      allowed: false,
      status: 503,
      reason: 'the token cannot be checked now (TokenReview unavailable); retry later',
    });
    reviews.down = false;
    expect(await subject.check('Bearer auditor', signal)).toMatchObject({ allowed: true });
  });

  it('reuses an answer for its cache time, then asks again', async () => {
    const subject = access({ cacheMs: 30_000 });
    await subject.check('Bearer auditor', signal);
    await subject.check('Bearer auditor', signal);
    await subject.check('Bearer stranger', signal);
    await subject.check('Bearer stranger', signal);
    expect(reviews.calls).toHaveLength(2);
    clock.advance(30_001);
    await subject.check('Bearer auditor', signal);
    expect(reviews.calls).toHaveLength(3);
  });
});
