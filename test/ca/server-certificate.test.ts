import { generateKeyPairSync } from 'node:crypto';
import { CertificateAuthority, issueServerCertificate, renewalTime } from '../../src/ca/index.js';
import { createTestPki } from '../support/pki.js';

describe('issueServerCertificate', () => {
  it('issues for ttl seconds from now, backdated, in whole seconds', async () => {
    const authority = new CertificateAuthority({ verifyIssued: true });
    authority.install((await createTestPki()).material());
    const now = new Date(Date.now() + 750 - (Date.now() % 1000));
    const issued = await issueServerCertificate(
      authority.current(),
      {
        publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
        subjectAltNames: [{ type: 'dns', value: 'meshca.meshca.svc' }],
        ttlSeconds: 3600,
        backdateSeconds: 120,
      },
      now,
    );
    expect(issued.notAfter.getTime() - issued.notBefore.getTime()).toBe((3600 + 120) * 1000);
    expect(issued.notBefore.getTime() % 1000).toBe(0);
  });

  it('never outlives the CA', async () => {
    const authority = new CertificateAuthority({ verifyIssued: true });
    const material = (await createTestPki()).material();
    authority.install(material);
    const issued = await issueServerCertificate(
      authority.current(),
      {
        publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
        subjectAltNames: [{ type: 'dns', value: 'istiod.istio-system.svc' }],
        ttlSeconds: 10 * 365 * 86400,
        backdateSeconds: 60,
      },
      new Date(),
    );
    expect(issued.notAfter.getTime()).toBe(Math.floor(material.notAfter.getTime() / 1000) * 1000);
  });
});

describe('renewalTime', () => {
  it.each([
    ['two thirds from issuance', 3600, 120, 120 + 2400],
    ['a backdate longer than half the lifetime does not renew at once', 300, 900, 900 + 200],
    ['a backdate much longer than the lifetime', 60, 900, 900 + 40],
  ])('%s', (_name, ttlSeconds, backdateSeconds, expectedSecondsAfterNotBefore) => {
    const notBefore = new Date('2026-11-26T12:00:00Z');
    const notAfter = new Date(notBefore.getTime() + (backdateSeconds + ttlSeconds) * 1000);
    expect(renewalTime(notBefore, notAfter, backdateSeconds).getTime() - notBefore.getTime()).toBe(
      expectedSecondsAfterNotBefore * 1000,
    );
  });
});
