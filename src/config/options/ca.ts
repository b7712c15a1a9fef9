/**
 * Settings of `meshca serve`, group "Certificate authority": Where the CA material comes from and how it is reloaded.
 *
 * @module
 */
import type { OptionTable } from './option.js';

/** Keys, kinds, defaults and help; the order is the help order. */
export const CA_OPTIONS = {
  caDir: {
    group: 'Certificate authority',
    kind: 'string',
    default: '',
    help: "Directory in Istio's cacerts layout: ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem.",
  },
  caSecret: {
    group: 'Certificate authority',
    kind: 'string',
    default: '',
    help: 'A Secret ([namespace/]name) in the cacerts or kubernetes.io/tls layout, watched and reloaded; instead of caDir.',
  },
  caReloadInterval: {
    group: 'Certificate authority',
    kind: 'duration',
    default: '10s',
    help: 'How often caDir is checked for new material.',
  },
  caRotationChecks: {
    group: 'Certificate authority',
    kind: 'boolean',
    default: true,
    help: 'Refuse CA changes that skip a stage of the root rotation (switch off only in an emergency).',
  },
  stateDir: {
    group: 'Certificate authority',
    kind: 'string',
    default: './.meshca',
    help: 'Where meshca keeps its development PKI and token issuer.',
  },
  devPki: {
    group: 'Certificate authority',
    kind: 'boolean',
    default: false,
    help: 'Use (and create) the development PKI in --state-dir even when a cluster is configured.',
  },
  verifyIssued: {
    group: 'Certificate authority',
    kind: 'boolean',
    default: true,
    help: 'Verify every issued certificate against the intermediate before returning it.',
  },
} as const satisfies OptionTable;
