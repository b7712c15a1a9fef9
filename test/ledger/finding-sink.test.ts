/**
 * Discovery's findings into the ledger: recorded when first seen, again when they come back after
 * a complete scan without them, again once a day while they stay; allowlisted ones too, marked; and the
 * record itself, as the `findings` view shows it.
 */
import { FixedClock } from '../../src/clock.js';
import type { Finding, ScanSummary } from '../../src/discovery/index.js';
import { LedgerFindingSink, findingInput, type FindingInput } from '../../src/ledger/index.js';

const HOUR = 3_600_000;

function finding(id: string, extra: Partial<Finding> = {}): Finding {
  return {
    id,
    kind: 'self-signed-ca',
    severity: 'high',
    object: { apiVersion: 'v1', kind: 'Secret', namespace: 'team-a', name: `ca-${id}` },
    location: 'data[ca.crt]',
    why: 'a self-signed CA that is not an approved root',
    ...extra,
  };
}

const summary = (complete: boolean): ScanSummary => ({ complete }) as ScanSummary;

describe('LedgerFindingSink', () => {
  let recorded: FindingInput[];
  let clock: FixedClock;
  let sink: LedgerFindingSink;
  beforeEach(() => {
    recorded = [];
    clock = new FixedClock(new Date('2026-03-01T12:00:00Z'));
    sink = new LedgerFindingSink({ finding: (input) => recorded.push(input) }, clock, 'east');
  });

  function scan(ids: readonly string[], complete = true): void {
    sink.begin();
    for (const id of ids) sink.record(finding(id));
    sink.complete(summary(complete));
  }
  const objects = (): string[] => recorded.map((input) => input.object);

  it('records a finding once, however many scans see it, until a day has passed', () => {
    scan(['a', 'b']);
    clock.advance(HOUR);
    scan(['a', 'b']);
    expect(objects()).toEqual(['Secret team-a/ca-a', 'Secret team-a/ca-b']);
    clock.advance(23 * HOUR);
    scan(['a']);
    expect(objects()).toEqual(['Secret team-a/ca-a', 'Secret team-a/ca-b', 'Secret team-a/ca-a']);
  });

  it('records a finding again when it comes back after a complete scan without it', () => {
    scan(['a']);
    scan([], false); // an incomplete scan proves nothing
    scan(['a']);
    expect(objects()).toHaveLength(1);
    scan([]);
    scan(['a']);
    expect(objects()).toEqual(['Secret team-a/ca-a', 'Secret team-a/ca-a']);
  });

  it('forgets what it recorded when another replica takes over scanning', () => {
    scan(['a']);
    sink.retract();
    scan(['a']);
    expect(objects()).toHaveLength(2);
  });

  it('records allowlisted findings with the rule that covers them', () => {
    sink.begin();
    sink.record(
      finding('a', { allowlisted: { rule: 'namespace', value: 'team-a', reason: 'lab' } }),
    );
    sink.complete(summary(true));
    expect(recorded.map((input) => input.detail)).toEqual([
      expect.objectContaining({
        id: 'a',
        allowlisted: { rule: 'namespace', value: 'team-a', reason: 'lab' },
      }),
    ]);
  });

  it('keeps what a security engineer needs in the record', () => {
    const input = findingInput(
      finding('a', {
        via: {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          namespace: 'team-a',
          name: 'shop',
        },
        certificate: {
          subject: 'CN=homemade',
          issuer: 'CN=homemade',
          serialNumber: '0A1B',
          sha256: 'f'.repeat(64),
          notBefore: new Date('2026-01-01T00:00:00Z'),
          notAfter: new Date('2027-01-01T00:00:00Z'),
          isCa: true,
          selfSigned: true,
          key: 'EC-prime256v1',
          signatureAlgorithm: 'ecdsa-with-SHA256',
        },
      }),
      'east',
    );
    expect(input).toEqual({
      kind: 'self-signed-ca',
      severity: 'high',
      object: 'Secret team-a/ca-a',
      cluster: 'east',
      fingerprint: 'f'.repeat(64),
      detail: {
        id: 'a',
        location: 'data[ca.crt]',
        why: 'a self-signed CA that is not an approved root',
        via: 'Ingress team-a/shop',
        certificate: {
          subject: 'CN=homemade',
          issuer: 'CN=homemade',
          serialNumber: '0A1B',
          notBefore: '2026-01-01T00:00:00.000Z',
          notAfter: '2027-01-01T00:00:00.000Z',
          isCa: true,
          selfSigned: true,
          key: 'EC-prime256v1',
          signatureAlgorithm: 'ecdsa-with-SHA256',
        },
      },
    });
  });
});
