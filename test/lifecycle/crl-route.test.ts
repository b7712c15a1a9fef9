/** `/crl`: DER by default, PEM on request, 503 before the first CRL, 400 for a bad format. */
import { crlRoute, type PublishedCrl } from '../../src/lifecycle/index.js';
import type { OpsRequest } from '../../src/server/index.js';

const crl: PublishedCrl = {
  der: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]),
  pem: '-----BEGIN X509 CRL-----\nMAMCAQE=\n-----END X509 CRL-----\n',
  crlNumber: 7n,
  thisUpdate: new Date('2026-03-01T12:00:00Z'),
  nextUpdate: new Date('2026-03-02T12:00:00Z'),
  issuerFingerprint: 'a'.repeat(64),
  entries: [],
};

function request(query = '', accept?: string): OpsRequest {
  return {
    method: 'GET',
    path: '/crl',
    query: new URLSearchParams(query),
    header: (name) => (name.toLowerCase() === 'accept' ? accept : undefined),
    signal: new AbortController().signal,
  };
}

describe('crlRoute', () => {
  const route = crlRoute({ current: () => crl });

  it.each([
    ['', undefined, 'application/pkix-crl', crl.der],
    ['format=der', 'application/x-pem-file', 'application/pkix-crl', crl.der],
    ['format=pem', undefined, 'application/x-pem-file', crl.pem],
    ['', 'application/x-pem-file', 'application/x-pem-file', crl.pem],
    ['', 'text/plain, application/x-pem-file;q=0.9', 'application/x-pem-file', crl.pem],
  ])('?%s with Accept %s answers %s', async (query, accept, type, body) => {
    const response = await route.handle(request(query, accept));
    expect(response.status).toBe(200);
    expect(response.headers?.['content-type']).toBe(type);
    expect(response.headers?.['last-modified']).toBe('Sun, 01 Mar 2026 12:00:00 GMT');
    expect(response.body).toEqual(body);
  });

  it('refuses an unknown format', async () => {
    expect((await route.handle(request('format=text'))).status).toBe(400);
  });

  it('answers 503 until a CRL is signed', async () => {
    const response = await crlRoute({ current: () => undefined }).handle(request());
    expect(response.status).toBe(503);
    expect(response.headers?.['retry-after']).toBe('5');
  });
});
