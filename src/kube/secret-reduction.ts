/**
 * Reducing Secrets to public certificate material as they arrive, for rogue-CA discovery.
 *
 * How private keys are kept out (GOVERNANCE.md §4: "private keys are never read, stored or
 * logged"): a list page is parsed with {@link secretListReviver}, which `JSON.parse` calls for
 * each Secret's `data` as soon as that object is parsed and before the page is returned. It
 * keeps the values of certificate entries only ({@link CERTIFICATE_KEYS}) and replaces every
 * other value with an empty string, so entry *names* survive (a `tls.key` entry is seen) while
 * their values do not. It also drops `metadata.managedFields` and `metadata.annotations`:
 * `kubectl apply` copies the whole Secret, keys included, into the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation. The key bytes therefore exist
 * only inside the HTTP response buffer and `JSON.parse` for the duration of one page; no object
 * reachable from meshca's code ever holds them. Certificate entries are then base64-decoded and
 * any `PRIVATE KEY` PEM block pasted into them (HAProxy-style bundles) is cut out by its
 * boundaries, without being decoded, and counted as a private-key entry.
 *
 * @module
 */
import type { SecretRecord } from '../discovery/index.js';

/** Entries that hold certificates: kubernetes.io/tls, Istio's `cacerts` and generic formats. */
export const CERTIFICATE_KEYS: readonly string[] = [
  'tls.crt',
  'ca.crt',
  'ca-cert.pem',
  'cert-chain.pem',
  'root-cert.pem',
  'cert',
  'cacert',
];
const CERTIFICATE_KEY_SET: ReadonlySet<string> = new Set(CERTIFICATE_KEYS);

/**
 * Secret types that never hold certificates in the entries above, excluded by field selector so
 * that their data never crosses the wire (service-account tokens, Helm releases, registry and
 * basic/SSH credentials, bootstrap tokens).
 */
export const EXCLUDED_SECRET_TYPES: readonly string[] = [
  'kubernetes.io/service-account-token',
  'kubernetes.io/dockercfg',
  'kubernetes.io/dockerconfigjson',
  'kubernetes.io/basic-auth',
  'kubernetes.io/ssh-auth',
  'bootstrap.kubernetes.io/token',
  'helm.sh/release.v1',
];

/** The field selector that leaves {@link EXCLUDED_SECRET_TYPES} out of a list. */
export const SECRET_FIELD_SELECTOR = EXCLUDED_SECRET_TYPES.map((type) => `type!=${type}`).join(',');

/** True when a data key names a private key (`tls.key`, `ca-key.pem`, `key.pem`, `*.key`...). */
export function isPrivateKeyName(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    lower === 'key' ||
    lower.endsWith('.key') ||
    lower.endsWith('key.pem') ||
    lower.includes('privatekey') ||
    lower.includes('private-key') ||
    lower.includes('private_key')
  );
}

/**
 * `JSON.parse` reviver for Secrets and lists of Secrets: see the module documentation. Safe for
 * any object whose `data` is a string map (Secrets, ConfigMaps).
 */
export function secretListReviver(this: unknown, key: string, value: unknown): unknown {
  if (key === 'managedFields' || key === 'annotations') return undefined;
  if ((key === 'data' || key === 'stringData') && isStringMap(value)) {
    const kept: Record<string, string> = {};
    for (const [name, entry] of Object.entries(value)) {
      kept[name] = CERTIFICATE_KEY_SET.has(name) ? entry : '';
    }
    return kept;
  }
  return value;
}

/** A raw Secret after {@link secretListReviver}. */
export interface ReducedSecret {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly uid?: string;
  };
  readonly type?: string;
  readonly data?: Readonly<Record<string, string>>;
}

/** Turns a reduced Secret into what discovery sees. */
export function toSecretRecord(raw: ReducedSecret): SecretRecord {
  const data = raw.data ?? {};
  const certificateEntries: { key: string; pem: string }[] = [];
  const privateKeyEntries: string[] = [];
  for (const key of CERTIFICATE_KEYS) {
    const value = data[key];
    if (value === undefined || value === '') continue;
    const { text, privateKeyBlocks } = withoutPrivateKeyBlocks(
      Buffer.from(value, 'base64').toString('utf8'),
    );
    if (privateKeyBlocks > 0) privateKeyEntries.push(key);
    certificateEntries.push({ key, pem: text });
  }
  for (const name of Object.keys(data)) {
    if (!CERTIFICATE_KEY_SET.has(name) && isPrivateKeyName(name)) privateKeyEntries.push(name);
  }
  const metadata = raw.metadata ?? {};
  return {
    object: {
      apiVersion: 'v1',
      kind: 'Secret',
      name: metadata.name ?? '',
      ...(metadata.namespace === undefined ? {} : { namespace: metadata.namespace }),
      ...(metadata.uid === undefined ? {} : { uid: metadata.uid }),
    },
    type: raw.type ?? 'Opaque',
    certificateEntries,
    privateKeyEntries,
  };
}

const BEGIN = '-----BEGIN ';
const DASHES = '-----';

/**
 * Cuts every `-----BEGIN … PRIVATE KEY-----` block out of a PEM text by its boundaries (the
 * block is never decoded). A block without its END line takes the rest of the text with it.
 */
export function withoutPrivateKeyBlocks(text: string): { text: string; privateKeyBlocks: number } {
  let kept = '';
  let privateKeyBlocks = 0;
  let position = 0;
  for (;;) {
    const beginAt = text.indexOf(BEGIN, position);
    if (beginAt === -1) break;
    const labelEnd = text.indexOf(DASHES, beginAt + BEGIN.length);
    if (labelEnd === -1) break;
    const label = text.slice(beginAt + BEGIN.length, labelEnd);
    if (!label.endsWith('PRIVATE KEY')) {
      kept += text.slice(position, labelEnd + DASHES.length);
      position = labelEnd + DASHES.length;
      continue;
    }
    privateKeyBlocks++;
    kept += text.slice(position, beginAt);
    const endMarker = `-----END ${label}${DASHES}`;
    const endAt = text.indexOf(endMarker, labelEnd + DASHES.length);
    if (endAt === -1) return { text: kept, privateKeyBlocks };
    position = endAt + endMarker.length;
    // ...and the line break that ended the block.
    if (text.startsWith('\r\n', position)) position += 2;
    else if (text.startsWith('\n', position)) position += 1;
  }
  return { text: kept + text.slice(position), privateKeyBlocks };
}

function isStringMap(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((entry) => typeof entry === 'string')
  );
}
