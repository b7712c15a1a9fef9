/**
 * The fake API server's TLS identity (a test CA and a certificate for 127.0.0.1 and localhost)
 * and the kubeconfig that trusts it, as a real cluster's would: `certificate-authority-data` and
 * a bearer token.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SigningAuthority, issueServerCertificate } from '../../../src/ca/index.js';
import { createTestPki } from '../../support/pki.js';

/** What an HTTPS server needs, and the root a client must trust. */
export interface ServingTls {
  /** Leaf then intermediate. */
  readonly certPem: string;
  readonly keyPem: string;
  readonly rootPem: string;
}

/** A fresh CA and a serving certificate for `127.0.0.1` and `localhost`. */
export async function createServingTls(): Promise<ServingTls> {
  const pki = await createTestPki({ name: 'fake kube-apiserver' });
  const authority = new SigningAuthority(pki.material(), { verifyIssued: true });
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issued = await issueServerCertificate(
    authority,
    {
      publicKey,
      subjectAltNames: [
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: Uint8Array.from([127, 0, 0, 1]) },
      ],
      ttlSeconds: 24 * 3600,
      backdateSeconds: 300,
    },
    new Date(),
  );
  return {
    certPem: [issued.pem, ...issued.intermediatePems].join(''),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    rootPem: pki.files.rootCertPem,
  };
}

/** Writes a kubeconfig for `server` into `dir`; returns its path. */
export function writeKubeconfig(
  dir: string,
  server: string,
  rootPem: string,
  token: string,
): string {
  const path = join(dir, 'kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'fake',
        cluster: {
          server,
          'certificate-authority-data': Buffer.from(rootPem).toString('base64'),
        },
      },
    ],
    users: [{ name: 'fake', user: { token } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
    'current-context': 'fake',
  };
  // JSON is YAML: the client's loader reads it as is.
  writeFileSync(path, JSON.stringify(config, null, 2), { mode: 0o600 });
  return path;
}
