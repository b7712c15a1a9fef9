/**
 * Classification, table-driven: which findings (kind, severity, location, certificate) each
 * shape of object yields, against a pinned clock and a fixed set of approved anchors.
 */
import type { CertificateDescription } from '../../src/ca/index.js';
import {
  Judge,
  VerdictCache,
  classifyCaIssuer,
  classifyHolder,
  classifySelfSignedIssuer,
  classifyServed,
  weaknesses,
  type CertificateHolder,
  type FindingDraft,
  type ObjectRef,
} from '../../src/discovery/index.js';
import { DAY, HOUR, makeCert, type Issued } from './fixtures.js';

const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const SECRET: ObjectRef = { apiVersion: 'v1', kind: 'Secret', namespace: 'team', name: 's' };
const INGRESS: ObjectRef = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  namespace: 'team',
  name: 'web',
};

interface Pki {
  approvedRoot: Issued;
  approvedIntermediate: Issued;
  approvedLeaf: Issued;
  unknownRoot: Issued;
  unknownIntermediate: Issued;
  unknownLeaf: Issued;
  expiredLeaf: Issued;
  soonLeaf: Issued;
  urgentLeaf: Issued;
  soonIntermediate: Issued;
  rsa1024Leaf: Issued;
  rsa1024Root: Issued;
  sha1Leaf: Issued;
  sha1Root: Issued;
  selfSignedLeaf: Issued;
  crossA: Issued;
  crossB: Issued;
}

let pki: Pki;

beforeAll(async () => {
  const at = { now: NOW };
  const approvedRoot = await makeCert({ cn: 'approved root', ...at });
  const approvedIntermediate = await makeCert({ cn: 'approved int', issuer: approvedRoot, ...at });
  const unknownRoot = await makeCert({ cn: 'homemade root', ...at });
  const rsaRoot = await makeCert({ cn: 'approved rsa root', key: 'rsa-2048', ...at });
  // Two CAs that signed each other: same names and keys, issued both ways.
  const crossKeyA = await makeCert({ cn: 'cross A', ...at });
  const crossKeyB = await makeCert({ cn: 'cross B', issuer: crossKeyA, ...at });
  pki = {
    approvedRoot,
    approvedIntermediate,
    approvedLeaf: await makeCert({ cn: 'web', ca: false, issuer: approvedIntermediate, ...at }),
    unknownRoot,
    unknownIntermediate: await makeCert({ cn: 'homemade int', issuer: unknownRoot, ...at }),
    unknownLeaf: await makeCert({ cn: 'shop', ca: false, issuer: unknownRoot, ...at }),
    expiredLeaf: await makeCert({
      cn: 'old',
      ca: false,
      issuer: approvedIntermediate,
      notBefore: new Date(NOW.getTime() - 30 * DAY),
      notAfter: new Date(NOW.getTime() - 2 * DAY),
    }),
    soonLeaf: await makeCert({
      cn: 'soon',
      ca: false,
      issuer: approvedIntermediate,
      notAfter: new Date(NOW.getTime() + 10 * DAY),
      ...at,
    }),
    urgentLeaf: await makeCert({
      cn: 'urgent',
      ca: false,
      issuer: approvedIntermediate,
      notAfter: new Date(NOW.getTime() + 3 * DAY),
      ...at,
    }),
    soonIntermediate: await makeCert({
      cn: 'approved int soon',
      issuer: approvedRoot,
      notAfter: new Date(NOW.getTime() + 3 * DAY),
      ...at,
    }),
    rsa1024Leaf: await makeCert({
      cn: 'tiny',
      ca: false,
      key: 'rsa-1024',
      issuer: approvedIntermediate,
      ...at,
    }),
    rsa1024Root: await makeCert({ cn: 'tiny root', key: 'rsa-1024', ...at }),
    sha1Leaf: await makeCert({ cn: 'sha1', ca: false, issuer: rsaRoot, sha1: true, ...at }),
    sha1Root: await makeCert({ cn: 'sha1 root', key: 'rsa-2048', sha1: true, ...at }),
    selfSignedLeaf: await makeCert({ cn: 'webhook.svc', ca: false, ...at }),
    crossA: {
      cert: (await makeCert({ cn: 'cross A', issuer: crossKeyB, ...at })).cert,
      key: crossKeyA.key,
    },
    crossB: crossKeyB,
  };
  // The approved anchors: the approved root and the RSA root the SHA-1 leaf chains to.
  anchors = [approvedRoot.cert, rsaRoot.cert];
});

let anchors: Issued['cert'][];

function judge(expiringSoonMs = 30 * DAY): Judge {
  return new Judge({ anchors, now: NOW, expiringSoonMs, cache: new VerdictCache(100) });
}

function holder(
  entries: Record<string, readonly Issued[]>,
  privateKeyEntries: readonly string[] = [],
  role: CertificateHolder['role'] = 'secret',
): CertificateHolder {
  return {
    object: SECRET,
    role,
    entries: Object.entries(entries).map(([location, certs]) => ({
      location,
      certificates: certs.map((issued) => issued.cert),
    })),
    privateKeyEntries,
  };
}

/** kind/severity/location/CN of each finding, sorted, for comparison. */
function summary(findings: readonly FindingDraft[]): string[] {
  return findings
    .map(
      (finding) =>
        `${finding.kind}/${finding.severity}/${finding.location}/${finding.certificate?.subject.replace(/^.*CN=/, '') ?? '-'}`,
    )
    .sort();
}

describe('classifyHolder', () => {
  const cases: [string, () => CertificateHolder, string[]][] = [
    ['an approved root alone', () => holder({ 'ca.crt': [pki.approvedRoot] }), []],
    [
      'an approved leaf with its chain (kubernetes.io/tls)',
      () =>
        holder(
          {
            'tls.crt': [pki.approvedLeaf, pki.approvedIntermediate],
            'ca.crt': [pki.approvedRoot],
          },
          ['tls.key'],
        ),
      [],
    ],
    [
      'a self-signed CA nobody approved',
      () => holder({ 'ca.crt': [pki.unknownRoot] }),
      ['self-signed-ca/high/ca.crt/homemade root'],
    ],
    [
      'a rogue hierarchy (root and intermediate) is reported once, at its top',
      () => holder({ 'cert-chain.pem': [pki.unknownIntermediate, pki.unknownRoot] }),
      ['self-signed-ca/high/cert-chain.pem/homemade root'],
    ],
    [
      'an intermediate of an unknown root, without the root',
      () => holder({ 'ca-cert.pem': [pki.unknownIntermediate] }),
      ['unapproved-ca/high/ca-cert.pem/homemade int'],
    ],
    ['an approved intermediate', () => holder({ 'ca.crt': [pki.approvedIntermediate] }), []],
    [
      'a leaf of an unknown CA, not served by anything',
      () => holder({ 'tls.crt': [pki.unknownLeaf] }, ['tls.key']),
      [],
    ],
    [
      'an expired leaf',
      () => holder({ 'tls.crt': [pki.expiredLeaf, pki.approvedIntermediate] }),
      ['expired/medium/tls.crt/old'],
    ],
    [
      'a leaf expiring in 10 days',
      () => holder({ 'tls.crt': [pki.soonLeaf] }),
      ['expiring-soon/low/tls.crt/soon'],
    ],
    [
      'a leaf expiring in 3 days',
      () => holder({ 'tls.crt': [pki.urgentLeaf] }),
      ['expiring-soon/medium/tls.crt/urgent'],
    ],
    [
      'an approved intermediate expiring in 3 days (watched by meshca_certificate_expiry)',
      () => holder({ 'ca.crt': [pki.soonIntermediate] }),
      [],
    ],
    [
      'an RSA-1024 leaf',
      () => holder({ 'tls.crt': [pki.rsa1024Leaf, pki.approvedIntermediate] }),
      ['weak-key/medium/tls.crt/tiny'],
    ],
    [
      'an RSA-1024 self-signed CA',
      () => holder({ 'ca.crt': [pki.rsa1024Root] }),
      ['self-signed-ca/high/ca.crt/tiny root', 'weak-key/high/ca.crt/tiny root'],
    ],
    [
      'a SHA-1 signed leaf',
      () => holder({ 'tls.crt': [pki.sha1Leaf] }),
      ['weak-key/medium/tls.crt/sha1'],
    ],
    [
      'a SHA-1 self-signed CA: its own signature is not relied upon',
      () => holder({ 'ca.crt': [pki.sha1Root] }),
      ['self-signed-ca/high/ca.crt/sha1 root'],
    ],
    [
      'a CA with its key (cert-manager CA Secret: tls.crt = ca.crt = CA, tls.key)',
      () => holder({ 'tls.crt': [pki.unknownRoot], 'ca.crt': [pki.unknownRoot] }, ['tls.key']),
      // One problem, one finding: the key's finding says the CA is self-signed and unapproved.
      ['ca-key-in-cluster/high/tls.key/homemade root'],
    ],
    [
      'ca.crt + tls.key + no tls.crt: the key is taken to be the CA’s',
      () => holder({ 'ca.crt': [pki.approvedIntermediate] }, ['tls.key']),
      ['ca-key-in-cluster/critical/tls.key/approved int'],
    ],
    [
      'a leaf with its key and a CA in ca.crt: the key is the leaf’s',
      () =>
        holder({ 'tls.crt': [pki.approvedLeaf], 'ca.crt': [pki.approvedIntermediate] }, [
          'tls.key',
        ]),
      [],
    ],
    [
      'Istio cacerts of an approved intermediate (ca-key.pem): critical',
      () =>
        holder(
          {
            'ca-cert.pem': [pki.approvedIntermediate],
            'cert-chain.pem': [pki.approvedIntermediate, pki.approvedRoot],
            'root-cert.pem': [pki.approvedRoot],
          },
          ['ca-key.pem'],
        ),
      ['ca-key-in-cluster/critical/ca-key.pem/approved int'],
    ],
    [
      'a private key pasted into tls.crt next to a CA',
      () => holder({ 'tls.crt': [pki.unknownRoot] }, ['tls.crt']),
      ['ca-key-in-cluster/high/tls.crt/homemade root'],
    ],
    [
      'a caBundle holding a self-signed leaf: a trust anchor whatever its flags say',
      () => holder({ 'webhooks[w].clientConfig.caBundle': [pki.selfSignedLeaf] }, [], 'ca-bundle'),
      ['self-signed-ca/high/webhooks[w].clientConfig.caBundle/webhook.svc'],
    ],
    [
      'the same certificate in two entries is one finding, at its first location',
      () => holder({ 'tls.crt': [pki.unknownRoot], 'ca.crt': [pki.unknownRoot] }),
      ['self-signed-ca/high/tls.crt/homemade root'],
    ],
    [
      'two CAs that signed each other are reported once',
      () => holder({ 'ca.crt': [pki.crossA, pki.crossB] }),
      ['__one_cross__'],
    ],
  ];

  it.each(cases)('%s', (_name, build, expected) => {
    const found = summary(classifyHolder(build(), judge()));
    if (expected[0] === '__one_cross__') {
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(/^unapproved-ca\/high\/ca\.crt\/cross [AB]$/);
      return;
    }
    expect(found).toEqual([...expected].sort());
  });

  it('names the object, the certificate and why', () => {
    const [finding] = classifyHolder(holder({ 'ca.crt': [pki.unknownRoot] }), judge());
    expect(finding).toMatchObject({
      object: SECRET,
      certificate: {
        sha256: pki.unknownRoot.cert.sha256,
        serialNumber: pki.unknownRoot.cert.x509.serialNumber,
        notAfter: pki.unknownRoot.cert.notAfter,
        isCa: true,
        selfSigned: true,
        key: 'EC-prime256v1',
        signatureAlgorithm: 'ecdsa-with-SHA256',
      },
    });
    expect(finding?.certificate?.subject).toContain('CN=homemade root');
    expect(finding?.why).toMatch(
      /Self-signed CA ".*homemade root" is not an approved trust anchor/,
    );
  });

  it('counts the certificates a reported CA issued in the same object', () => {
    const [finding] = classifyHolder(
      holder({ 'cert-chain.pem': [pki.unknownIntermediate, pki.unknownRoot] }),
      judge(),
    );
    expect(finding?.why).toContain('1 certificate it issued is in the same object');
  });

  it('treats every CA as unapproved when no anchors are configured', () => {
    const none = new Judge({
      anchors: [],
      now: NOW,
      expiringSoonMs: DAY,
      cache: new VerdictCache(10),
    });
    const found = summary(classifyHolder(holder({ 'ca.crt': [pki.approvedIntermediate] }), none));
    expect(found).toEqual(['unapproved-ca/high/ca.crt/approved int']);
  });
});

describe('weaknesses', () => {
  const base: CertificateDescription = {
    subject: 'CN=x',
    issuer: 'CN=y',
    serialNumber: '01',
    sha256: '00'.repeat(32),
    notBefore: NOW,
    notAfter: NOW,
    isCa: false,
    selfSigned: false,
    key: { algorithm: 'EC', curve: 'prime256v1', label: 'EC-prime256v1' },
    signatureAlgorithm: 'ecdsa-with-SHA256',
    signatureHash: 'SHA-256',
  };
  const cases: [string, Partial<CertificateDescription>, RegExp[]][] = [
    ['P-256 with SHA-256', {}, []],
    ['RSA-2048', { key: { algorithm: 'RSA', bits: 2048, label: 'RSA-2048' } }, []],
    [
      'RSA-1024',
      { key: { algorithm: 'RSA', bits: 1024, label: 'RSA-1024' } },
      [/RSA key of 1024 bits/],
    ],
    ['RSA-2047', { key: { algorithm: 'RSA', bits: 2047, label: 'RSA-2047' } }, [/2047 bits/]],
    ['DSA', { key: { algorithm: 'DSA', bits: 2048, label: 'DSA-2048' } }, [/DSA key/]],
    [
      'P-192',
      { key: { algorithm: 'EC', curve: 'prime192v1', label: 'EC-prime192v1' } },
      [/curve prime192v1/],
    ],
    [
      'secp224r1',
      { key: { algorithm: 'EC', curve: 'secp224r1', label: 'EC-secp224r1' } },
      [/secp224r1/],
    ],
    ['P-384', { key: { algorithm: 'EC', curve: 'secp384r1', label: 'EC-secp384r1' } }, []],
    ['P-521', { key: { algorithm: 'EC', curve: 'secp521r1', label: 'EC-secp521r1' } }, []],
    [
      'Ed25519',
      { key: { algorithm: 'Ed25519', label: 'Ed25519' }, signatureHash: 'intrinsic' },
      [],
    ],
    [
      'SHA-1 signature',
      { signatureHash: 'SHA-1', signatureAlgorithm: 'sha1WithRSAEncryption' },
      [/SHA-1 signature/],
    ],
    [
      'MD5 signature',
      { signatureHash: 'MD5', signatureAlgorithm: 'md5WithRSAEncryption' },
      [/MD5 signature/],
    ],
    ['SHA-1 on a self-signed certificate', { signatureHash: 'SHA-1', selfSigned: true }, []],
    ['SHA-224 signature', { signatureHash: 'SHA-224' }, []],
    [
      'RSA-1024 and SHA-1',
      { key: { algorithm: 'RSA', bits: 1024, label: 'RSA-1024' }, signatureHash: 'SHA-1' },
      [/1024 bits/, /SHA-1/],
    ],
  ];
  it.each(cases)('%s', (_name, change, expected) => {
    const found = weaknesses({ ...base, ...change });
    expect(found).toHaveLength(expected.length);
    expected.forEach((pattern, index) => {
      expect(found[index]).toMatch(pattern);
    });
  });
});

describe('classifyServed', () => {
  const cases: [string, () => readonly Issued[], boolean][] = [
    ['a leaf of an unknown CA', () => [pki.unknownLeaf], true],
    ['a self-signed leaf', () => [pki.selfSignedLeaf], true],
    [
      'an approved leaf with its intermediate',
      () => [pki.approvedLeaf, pki.approvedIntermediate],
      false,
    ],
    ['an approved leaf without its intermediate', () => [pki.approvedLeaf], true],
    [
      'an approved leaf that expired (expiry is reported on the Secret)',
      () => [pki.expiredLeaf, pki.approvedIntermediate],
      false,
    ],
    ['nothing', () => [], false],
  ];
  it.each(cases)('%s', (_name, chain, expected) => {
    const draft = classifyServed(
      INGRESS,
      'spec.tls[0]',
      SECRET,
      chain().map((issued) => issued.cert),
      judge(),
    );
    if (!expected) {
      expect(draft).toBeUndefined();
      return;
    }
    expect(draft).toMatchObject({
      kind: 'unapproved-ingress-certificate',
      severity: 'high',
      object: INGRESS,
      via: SECRET,
      location: 'spec.tls[0]',
    });
    expect(draft?.why).toContain('Ingress web serves Secret team/s');
  });
});

describe('cert-manager issuers', () => {
  const ISSUER: ObjectRef = {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Issuer',
    namespace: 'team',
    name: 'ca',
  };

  it('flags every selfSigned issuer', () => {
    expect(classifySelfSignedIssuer(ISSUER, 'spec.selfSigned')).toMatchObject({
      kind: 'rogue-issuer',
      severity: 'high',
      object: ISSUER,
    });
  });

  const cases: [string, () => readonly Issued[] | undefined, RegExp | undefined][] = [
    ['a CA Secret that is missing', () => undefined, /is missing or holds no certificate/],
    ['an unknown CA', () => [pki.unknownRoot], /does not chain to an approved trust anchor/],
    ['an approved intermediate', () => [pki.approvedIntermediate, pki.approvedRoot], undefined],
    ['an approved root', () => [pki.approvedRoot], undefined],
  ];
  it.each(cases)('a ca issuer with %s', (_name, chain, expected) => {
    const certs = chain()?.map((issued) => issued.cert);
    const draft = classifyCaIssuer(ISSUER, 'spec.ca.secretName', SECRET, certs, judge());
    if (expected === undefined) {
      expect(draft).toBeUndefined();
    } else {
      expect(draft).toMatchObject({ kind: 'rogue-issuer', severity: 'high', via: SECRET });
      expect(draft?.why).toMatch(expected);
    }
  });
});

it('fixtures are what they claim', () => {
  expect(pki.crossA.cert.selfSigned).toBe(false);
  expect(pki.sha1Leaf.cert.signatureAlgorithmOid).toBe('1.2.840.113549.1.1.5');
  expect(pki.rsa1024Leaf.cert.x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(1024);
  expect(pki.expiredLeaf.cert.notAfter.getTime()).toBeLessThan(NOW.getTime() - HOUR);
});
