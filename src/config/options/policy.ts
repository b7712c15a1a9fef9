/**
 * Settings of `meshca serve`, group "Policy": the layered issuance policy (#9) — where the central
 * (security team's) and local (platform team's) policies come from, the keys the central one
 * must be signed with, and how often files are re-read.
 *
 * @module
 */
import type { OptionTable } from './option.js';

/** Keys, kinds, defaults and help; the order is the help order. */
export const POLICY_OPTIONS = {
  policyCentral: {
    group: 'Policy',
    kind: 'string',
    default: '',
    help: "File of the central (security team's) issuance policy, re-read every policyReloadInterval; its signature is <file>.jws.",
  },
  policyCentralConfigMap: {
    group: 'Policy',
    kind: 'string',
    default: '',
    help: 'ConfigMap ([namespace/]name) of the central policy, watched: key policy.yaml, signature policy.yaml.jws; instead of policyCentral.',
  },
  policyLocal: {
    group: 'Policy',
    kind: 'string',
    default: '',
    help: "File of the local (platform team's) policy, which can only narrow the central one; re-read every policyReloadInterval.",
  },
  policyLocalConfigMap: {
    group: 'Policy',
    kind: 'string',
    default: '',
    help: 'ConfigMap ([namespace/]name) of the local policy, watched: key policy.yaml; instead of policyLocal.',
  },
  policySigningKeys: {
    group: 'Policy',
    kind: 'list',
    default: [],
    help: 'Public keys (PEM or JWKS files) of the central policy: every version must carry a detached JWS by one of them, or it is refused (and meshca does not start without one).',
  },
  policyReloadInterval: {
    group: 'Policy',
    kind: 'duration',
    default: '10s',
    help: 'How often policy files are re-read (watched ConfigMaps reload at once).',
  },
} as const satisfies OptionTable;
