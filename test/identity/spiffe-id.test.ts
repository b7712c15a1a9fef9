import { InvalidRequestError } from '../../src/errors.js';
import {
  isValidTrustDomain,
  parseWorkloadSpiffeId,
  sanitizeTrustDomain,
  workloadSpiffeId,
} from '../../src/identity/index.js';

/** Asserts `action` throws ERR_IDENTITY_INVALID naming the broken part. */
function expectInvalid(action: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidRequestError);
  expect((caught as InvalidRequestError).code).toBe('ERR_IDENTITY_INVALID');
  expect((caught as InvalidRequestError).kind).toBe('invalid');
  expect((caught as InvalidRequestError).message).toMatch(message);
}

const SHAPE = /not of the form spiffe:\/\/<trust-domain>\/ns\/<namespace>\/sa\/<service-account>/;
const TRUST_DOMAIN = /trust domain is not a valid name/;
const NAMESPACE = /namespace is not a DNS-1123 label/;
const SERVICE_ACCOUNT = /service account is not a DNS-1123 subdomain/;

describe('parseWorkloadSpiffeId accepts', () => {
  it.each([
    ['cluster.local', 'default', 'default'],
    ['cluster.local', 'istio-system', 'istio-ingressgateway-service-account'],
    ['td', 'a', 'b'],
    ['my_mesh-1.example.com', 'ns-1', 'sa.with.dots'],
    ['0', '0', '0'],
    ['cluster.local', 'n'.repeat(63), 's'.repeat(253)],
    ['t'.repeat(255), 'default', 'default'],
  ])('spiffe://%s/ns/%s/sa/%s', (trustDomain, namespace, serviceAccount) => {
    const uri = `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
    expect(parseWorkloadSpiffeId(uri)).toEqual({ trustDomain, namespace, serviceAccount, uri });
  });

  it('round-trips what workloadSpiffeId builds', () => {
    const id = workloadSpiffeId('cluster.local', 'default', 'web');
    expect(id.uri).toBe('spiffe://cluster.local/ns/default/sa/web');
    expect(parseWorkloadSpiffeId(id.uri)).toEqual(id);
  });
});

describe('parseWorkloadSpiffeId refuses', () => {
  it.each([
    ['another scheme', 'https://cluster.local/ns/default/sa/web', /not a spiffe:\/\/ URI/],
    ['an upper-case scheme', 'SPIFFE://cluster.local/ns/default/sa/web', /not a spiffe:\/\/ URI/],
    ['an empty string', '', /not a spiffe:\/\/ URI/],
    ['leading whitespace', ' spiffe://cluster.local/ns/default/sa/web', /not a spiffe:\/\/ URI/],
    ['a bare trust domain', 'spiffe://cluster.local', SHAPE],
    ['three segments', 'spiffe://cluster.local/ns/default', SHAPE],
    ['four segments', 'spiffe://cluster.local/ns/default/sa', SHAPE],
    ['six segments', 'spiffe://cluster.local/ns/default/sa/web/extra', SHAPE],
    ['a trailing slash', 'spiffe://cluster.local/ns/default/sa/web/', SHAPE],
    ['a double slash', 'spiffe://cluster.local//ns/default/sa/web', SHAPE],
    ['NS instead of ns', 'spiffe://cluster.local/NS/default/sa/web', SHAPE],
    ['swapped keywords', 'spiffe://cluster.local/sa/default/ns/web', SHAPE],
    ['an empty namespace', 'spiffe://cluster.local/ns//sa/web', NAMESPACE],
    ['an empty service account', 'spiffe://cluster.local/ns/default/sa/', SERVICE_ACCOUNT],
    ['an empty trust domain', 'spiffe:///ns/default/sa/web', TRUST_DOMAIN],
    ['an upper-case trust domain', 'spiffe://Cluster.local/ns/default/sa/web', TRUST_DOMAIN],
    ['a port', 'spiffe://cluster.local:443/ns/default/sa/web', TRUST_DOMAIN],
    ['user info', 'spiffe://user@cluster.local/ns/default/sa/web', TRUST_DOMAIN],
    [
      'a trust domain starting with a dot',
      'spiffe://.cluster.local/ns/default/sa/web',
      TRUST_DOMAIN,
    ],
    ['a trust domain ending with a dot', 'spiffe://cluster.local./ns/default/sa/web', TRUST_DOMAIN],
    ['a 256-character trust domain', `spiffe://${'t'.repeat(256)}/ns/default/sa/web`, TRUST_DOMAIN],
    ['a query', 'spiffe://cluster.local/ns/default/sa/web?x=1', SERVICE_ACCOUNT],
    ['a fragment', 'spiffe://cluster.local/ns/default/sa/web#frag', SERVICE_ACCOUNT],
    ['percent-encoding', 'spiffe://cluster.local/ns/default/sa/w%65b', SERVICE_ACCOUNT],
    ['an upper-case namespace', 'spiffe://cluster.local/ns/Default/sa/web', NAMESPACE],
    ['a namespace with a dot', 'spiffe://cluster.local/ns/my.ns/sa/web', NAMESPACE],
    ['a namespace starting with a dash', 'spiffe://cluster.local/ns/-ns/sa/web', NAMESPACE],
    ['a namespace ending with a dash', 'spiffe://cluster.local/ns/ns-/sa/web', NAMESPACE],
    ['a 64-character namespace', `spiffe://cluster.local/ns/${'n'.repeat(64)}/sa/web`, NAMESPACE],
    [
      'a service account with an underscore',
      'spiffe://cluster.local/ns/default/sa/my_sa',
      SERVICE_ACCOUNT,
    ],
    ['an upper-case service account', 'spiffe://cluster.local/ns/default/sa/Web', SERVICE_ACCOUNT],
    [
      'a service account ending with a dot',
      'spiffe://cluster.local/ns/default/sa/web.',
      SERVICE_ACCOUNT,
    ],
    [
      'a 254-character service account',
      `spiffe://cluster.local/ns/default/sa/${'s'.repeat(254)}`,
      SERVICE_ACCOUNT,
    ],
    ['a service account of "*"', 'spiffe://cluster.local/ns/default/sa/*', SERVICE_ACCOUNT],
  ])('%s', (_name, uri, message) => {
    expectInvalid(() => parseWorkloadSpiffeId(uri), message);
  });
});

describe('workloadSpiffeId', () => {
  it('builds the canonical URI', () => {
    expect(workloadSpiffeId('example.org', 'bookinfo', 'reviews')).toEqual({
      trustDomain: 'example.org',
      namespace: 'bookinfo',
      serviceAccount: 'reviews',
      uri: 'spiffe://example.org/ns/bookinfo/sa/reviews',
    });
  });

  it.each([
    ['Example.org', 'bookinfo', 'reviews', TRUST_DOMAIN],
    ['example.org/ns/x', 'bookinfo', 'reviews', TRUST_DOMAIN],
    ['example.org', 'book/info', 'reviews', NAMESPACE],
    ['example.org', '', 'reviews', NAMESPACE],
    ['example.org', 'bookinfo', 'reviews/sa/admin', SERVICE_ACCOUNT],
    ['example.org', 'bookinfo', '', SERVICE_ACCOUNT],
  ])('refuses (%j, %j, %j)', (trustDomain, namespace, serviceAccount, message) => {
    expectInvalid(() => workloadSpiffeId(trustDomain, namespace, serviceAccount), message);
  });
});

describe('isValidTrustDomain', () => {
  it.each([
    ['cluster.local', true],
    ['a', true],
    ['my_td-1.example', true],
    ['t'.repeat(255), true],
    ['', false],
    ['t'.repeat(256), false],
    ['Cluster.local', false],
    ['cluster.local.', false],
    ['.cluster.local', false],
    ['cluster local', false],
    ['cluster@local', false],
    ['cluster.local:8080', false],
  ])('%j -> %s', (value, valid) => {
    expect(isValidTrustDomain(value)).toBe(valid);
  });
});

describe('sanitizeTrustDomain', () => {
  it.each([
    ['cluster.local', 'cluster.local'],
    ['foo@bar', 'foo.bar'],
    ['a@b@c', 'a.b.c'],
    ['', ''],
    // Only '@' is rewritten, as in istio's spiffe.MustGenSpiffeURI; the rest is validated later.
    ['Upper@Case', 'Upper.Case'],
  ])('%j -> %j', (value, sanitized) => {
    expect(sanitizeTrustDomain(value)).toBe(sanitized);
  });

  it('makes an istio trust domain with @ usable in an identity', () => {
    expect(isValidTrustDomain('mesh@corp')).toBe(false);
    expect(workloadSpiffeId(sanitizeTrustDomain('mesh@corp'), 'default', 'web').uri).toBe(
      'spiffe://mesh.corp/ns/default/sa/web',
    );
  });
});
