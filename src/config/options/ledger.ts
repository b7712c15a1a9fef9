/**
 * Settings of `meshca serve`, group "Ledger": the identity ledger (where it is kept, how records
 * wait for it, retention), revocation (the CRL) and who may read the inventory API.
 *
 * The PostgreSQL password is never a setting: it comes from `ledgerPasswordFile` or from the
 * environment variable `MESHCA_LEDGER_PASSWORD` (read by `load.ts`, never a flag, never logged).
 *
 * @module
 */
import type { OptionTable } from './option.js';

/** Keys, kinds, defaults and help; the order is the help order. */
export const LEDGER_OPTIONS = {
  ledger: {
    group: 'Ledger',
    kind: 'string',
    default: 'sqlite',
    help: 'Where the identity ledger is kept: sqlite (<stateDir>/ledger.db), the path of a SQLite file, postgres://USER@HOST:PORT/DATABASE (no password in it), or off.',
  },
  ledgerPasswordFile: {
    group: 'Ledger',
    kind: 'string',
    default: '',
    help: 'File holding the PostgreSQL password, re-read at each new connection; else the environment variable MESHCA_LEDGER_PASSWORD (never a flag).',
  },
  ledgerTlsMode: {
    group: 'Ledger',
    kind: 'string',
    default: 'require',
    help: 'TLS to PostgreSQL, as libpq: disable, require (encrypted, server not verified), verify-ca or verify-full (and its name matches the host).',
  },
  ledgerTlsCaFile: {
    group: 'Ledger',
    kind: 'string',
    default: '',
    help: 'PEM CA bundle to verify the PostgreSQL server with (verify-ca, verify-full); default: the system roots.',
  },
  ledgerRetention: {
    group: 'Ledger',
    kind: 'duration',
    default: '30d',
    help: 'Records of certificates expired longer ago than this, and refusals and findings older than this, are pruned.',
  },
  ledgerSpoolMax: {
    group: 'Ledger',
    kind: 'integer',
    default: 100000,
    help: 'Records waiting for the database (in memory and in the spool file <stateDir>/ledger-spool.jsonl) at most.',
  },
  ledgerSpoolFull: {
    group: 'Ledger',
    kind: 'string',
    default: 'drop-oldest',
    help: 'When the spool is full: drop-oldest (counted, logged, marked in the chain) or fail-closed (issuance answers UNAVAILABLE until there is room).',
  },
  ledgerBatchSize: {
    group: 'Ledger',
    kind: 'integer',
    default: 200,
    help: 'Records written per database transaction.',
  },
  ledgerFlushInterval: {
    group: 'Ledger',
    kind: 'duration',
    default: '200ms',
    help: 'Longest a record waits in memory before it is written.',
  },
  ledgerHeadInterval: {
    group: 'Ledger',
    kind: 'duration',
    default: '60s',
    help: "How often this replica's chain head is logged ('ledger chain head') and exported (meshca_ledger_chain_head_sequence), for anchoring outside the database.",
  },
  revocation: {
    group: 'Ledger',
    kind: 'boolean',
    default: false,
    help: 'Sign a CRL of the retired and revoked certificates with the intermediate; serve it at /crl and write it to the ConfigMap istio-ca-crl (key ca-crl.pem).',
  },
  crlValidity: {
    group: 'Ledger',
    kind: 'duration',
    default: '24h',
    help: 'How long a CRL is valid: nextUpdate is this long after it is signed; re-signed on every change and once half of it has passed.',
  },
  crlCheckInterval: {
    group: 'Ledger',
    kind: 'duration',
    default: '10s',
    help: 'How often the ledger is read for new retirements and revocations (those of other replicas and of meshca revoke) and expired entries.',
  },
  inventoryServiceAccounts: {
    group: 'Ledger',
    kind: 'list',
    default: [],
    help: 'namespace/serviceaccount allowed to read /v1/inventory on the ops port (bearer token, checked by TokenReview).',
  },
  inventoryGroups: {
    group: 'Ledger',
    kind: 'list',
    default: [],
    help: 'Groups (as TokenReview reports them, e.g. system:serviceaccounts:security) allowed to read /v1/inventory.',
  },
  inventoryAudience: {
    group: 'Ledger',
    kind: 'string',
    default: 'meshca-inventory',
    help: 'Audience the inventory bearer tokens must be minted for (kubectl create token SA --audience ...).',
  },
} as const satisfies OptionTable;
