/**
 * Helpers for tests of the issuance policy through `meshca serve`: policy files and signing keys,
 * one CreateCertificate call with what the client saw and what meshca logged, and metric values
 * read from the real `/metrics` text.
 */
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaClient } from '../../src/client/index.js';
import { signPolicy } from '../../src/policy/index.js';
import { csrFor } from '../server/harness.js';
import { document } from '../policy/fixtures.js';

/** A policy document from a spec written as YAML, written to `dir/file`; returns the path. */
export function writePolicy(dir: string, file: string, name: string, spec: string): string {
  const path = join(dir, file);
  writeFileSync(path, document(spec, name));
  return path;
}

/** A signing key pair: the private PEM (for signing) and the public key written to a file. */
export interface SigningKey {
  readonly privatePem: string;
  readonly publicFile: string;
}

/** Generates an EC P-256 signing key; its public half goes to `dir/name.pub`. */
export function signingKey(dir: string, name: string): SigningKey {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicFile = join(dir, `${name}.pub`);
  writeFileSync(publicFile, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  return {
    privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicFile,
  };
}

/** Writes `<path>.jws`, the detached signature of the file at `path` as it is now. */
export async function signFile(path: string, key: SigningKey, text: string): Promise<void> {
  writeFileSync(`${path}.jws`, `${await signPolicy(key.privatePem, Buffer.from(text))}\n`);
}

/** What one CreateCertificate call came to. */
export interface CallOutcome {
  readonly code: Status;
  readonly details: string;
  readonly chain: readonly string[];
}

/** Calls CreateCertificate for `uri` with `token`, as istio-agent does (ECDSA P-256). */
export async function callCa(
  client: CaClient,
  token: string,
  uri: string,
  validitySeconds = 0,
  clusterId = 'Kubernetes',
): Promise<CallOutcome> {
  const { csrPem } = await csrFor(uri, 'ec');
  try {
    const chain = await client.createCertificate({ csrPem, token, clusterId, validitySeconds });
    return { code: Status.OK, details: '', chain };
  } catch (error) {
    const { code, details } = error as ServiceError;
    return { code, details, chain: [] };
  }
}

/** The SPIFFE ID of `namespace/serviceAccount` in cluster.local. */
export function spiffe(namespace: string, serviceAccount: string): string {
  return `spiffe://cluster.local/ns/${namespace}/sa/${serviceAccount}`;
}

/**
 * The value of one series in Prometheus exposition text, or undefined when absent. `labels`
 * must match exactly the labels the series carries (in any order).
 */
export function metricValue(
  text: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      found[pair[1] ?? ''] = pair[2] ?? '';
    }
    const wanted = Object.entries(labels);
    if (
      wanted.length === Object.keys(found).length &&
      wanted.every(([key, value]) => found[key] === value)
    ) {
      return Number(match[3]);
    }
  }
  return undefined;
}

/** GET `http://127.0.0.1:<port><path>` as text. */
export async function httpGet(
  port: number,
  path: string,
): Promise<{ readonly status: number; readonly body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

/**
 * A policy file that changes the way a mounted ConfigMap does: each version is written into a
 * directory of its own, then one symlink swap publishes the document and its signature together
 * (what the kubelet does with `..data`), so a reader never pairs a document with another
 * version's signature.
 */
export class MountedPolicy {
  /** The path meshca reads (`<dir>/policy.yaml`, a symlink into the current version). */
  readonly path: string;
  readonly #dir: string;
  #version = 0;

  constructor(dir: string) {
    this.#dir = dir;
    this.path = join(dir, 'policy.yaml');
    symlinkSync(join('..data', 'policy.yaml'), this.path);
    symlinkSync(join('..data', 'policy.yaml.jws'), `${this.path}.jws`);
  }

  /** Publishes `text`, with `signature` (a JWS) or none. */
  publish(text: string, signature: string | undefined): void {
    const version = `..v${++this.#version}`;
    mkdirSync(join(this.#dir, version));
    writeFileSync(join(this.#dir, version, 'policy.yaml'), text);
    if (signature !== undefined) {
      writeFileSync(join(this.#dir, version, 'policy.yaml.jws'), `${signature}\n`);
    }
    const next = join(this.#dir, '..data_tmp');
    symlinkSync(version, next);
    renameSync(next, join(this.#dir, '..data'));
  }
}

/** The detached signature of `text` by `key`. */
export function signText(text: string, key: SigningKey): Promise<string> {
  return signPolicy(key.privatePem, Buffer.from(text));
}
