/**
 * The issuance policy document (`apiVersion: meshca.io/v1alpha1`, `kind: IssuancePolicy`): its
 * schema, in zod, and the types read from it. The same document shape serves both layers; which
 * layer a document is (central or local) depends only on where meshca is told to load it from.
 *
 * Every object is strict: an unknown key is an error, because a misspelt constraint
 * (`liveWorkLoad: true`) that were silently ignored would be a hole in the policy.
 *
 * @module
 */
import { z } from 'zod';
import { parseDurationMs } from '../util/index.js';

/** The only apiVersion read today. */
export const POLICY_API_VERSION = 'meshca.io/v1alpha1';
/** The only kind read today. */
export const POLICY_KIND = 'IssuancePolicy';

/** The key types a policy can allow; a CSR key of any other size matches none of them. */
export const KEY_TYPES = ['RSA-2048', 'RSA-3072', 'RSA-4096', 'ECDSA-P256', 'ECDSA-P384'] as const;
/** One of {@link KEY_TYPES}. */
export type KeyType = (typeof KEY_TYPES)[number];

/** The name of the verdict that a layer's `defaultAction` gives; no rule may take it. */
export const DEFAULT_RULE_NAME = 'default';

/** Longest document read, in bytes (a ConfigMap holds at most 1 MiB). */
export const MAX_POLICY_BYTES = 1024 * 1024;

/** A rule name: a DNS-1123 label, so that it is safe as a metric label value and in messages. */
const RULE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** `metadata.name`: a DNS-1123 subdomain. */
const POLICY_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** A namespace glob: DNS-1123 label characters plus `*` and `?`. */
const NAMESPACE_GLOB = /^[a-z0-9*?]([-a-z0-9*?]{0,61}[a-z0-9*?])?$/;
/** A service-account glob: DNS-1123 subdomain characters plus `*` and `?`. */
const SERVICE_ACCOUNT_GLOB = /^[a-z0-9*?]([-a-z0-9.*?]{0,251}[a-z0-9*?])?$/;
/** A cluster ID glob (cluster IDs are free-form names in Istio; no `/` or spaces here). */
const CLUSTER_GLOB = /^[A-Za-z0-9._*?-]{1,253}$/;
/** SPIFFE trust domain characters (SPIFFE ID spec §2.1). */
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
/** Label keys and values as Kubernetes accepts them (prefix/name; values up to 63). */
const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
/** `group/version`, or `v1` for the core group. */
const API_VERSION = /^(([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;
/** A kind: an upper-case identifier. */
const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

const pattern = (regex: RegExp, what: string): z.ZodString =>
  z.string().regex(regex, { error: `must be ${what}` });

/** A duration (`24h`, `90m`, or seconds), read as whole seconds, at least one. */
const durationSeconds = z.union([z.string(), z.number()]).transform((value, context) => {
  let ms: number;
  try {
    ms = parseDurationMs(value);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) {
    context.addIssue({ code: 'custom', message: 'must be at least 1s' });
    return z.NEVER;
  }
  return seconds;
});

const labelMap = z
  .record(pattern(LABEL_KEY, 'a label key'), pattern(LABEL_VALUE, 'a label value'))
  .refine((labels) => Object.keys(labels).length > 0, { error: 'must name at least one label' });

/** A Kubernetes label selector in its object form (`matchLabels`, `matchExpressions`). */
const labelSelectorSchema = z
  .strictObject({
    matchLabels: labelMap.optional(),
    matchExpressions: z
      .array(
        z
          .strictObject({
            key: pattern(LABEL_KEY, 'a label key'),
            operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
            values: z.array(pattern(LABEL_VALUE, 'a label value')).optional(),
          })
          .superRefine((expression, context) => {
            const needsValues = expression.operator === 'In' || expression.operator === 'NotIn';
            const count = expression.values?.length ?? 0;
            if (needsValues && count === 0) {
              context.addIssue({
                code: 'custom',
                path: ['values'],
                message: `${expression.operator} needs at least one value`,
              });
            }
            if (!needsValues && expression.values !== undefined) {
              context.addIssue({
                code: 'custom',
                path: ['values'],
                message: `${expression.operator} takes no values`,
              });
            }
          }),
      )
      .min(1)
      .optional(),
  })
  .refine(
    (selector) => selector.matchLabels !== undefined || selector.matchExpressions !== undefined,
    { error: 'needs matchLabels or matchExpressions' },
  );

/** Which requests a rule applies to; every field given must match (AND); none given: all. */
const selectorSchema = z.strictObject({
  /** The subject's namespace: names or globs (`team-*`). */
  namespaces: z.array(pattern(NAMESPACE_GLOB, 'a namespace name or glob')).min(1).optional(),
  /** The labels of the subject's namespace. */
  namespaceSelector: labelSelectorSchema.optional(),
  /** The subject's service account: names or globs. */
  serviceAccounts: z
    .array(pattern(SERVICE_ACCOUNT_GLOB, 'a service account name or glob'))
    .min(1)
    .optional(),
  /** The caller's cluster (the `clusterid` it authenticated in): names or globs. */
  clusterIds: z.array(pattern(CLUSTER_GLOB, 'a cluster ID or glob')).min(1).optional(),
});

const identityGlob = z.string().superRefine((value, context) => {
  const [namespace, serviceAccount, ...rest] = value.split('/');
  if (
    rest.length > 0 ||
    namespace === undefined ||
    serviceAccount === undefined ||
    !NAMESPACE_GLOB.test(namespace) ||
    !SERVICE_ACCOUNT_GLOB.test(serviceAccount)
  ) {
    context.addIssue({
      code: 'custom',
      message: 'must be <namespace>/<service-account>, each a name or a glob (e.g. "shop/*")',
    });
  }
});

const requiredObjectSchema = z.strictObject({
  /** `group/version` (`networking.k8s.io/v1`), or `v1` for the core group. */
  apiVersion: pattern(API_VERSION, 'group/version (e.g. networking.k8s.io/v1) or v1'),
  kind: pattern(KIND, 'a kind (e.g. Ingress)'),
  /** Where the object must be; default: the subject's own namespace. */
  namespace: pattern(DNS_LABEL, 'a namespace name').optional(),
  /** The object's name; default: any. */
  name: pattern(DNS_SUBDOMAIN, 'an object name').optional(),
  /** Labels the object must carry; default: any. */
  selector: labelSelectorSchema.optional(),
});

const ruleSchema = z.strictObject({
  name: pattern(RULE_NAME, 'a DNS-1123 label (lower-case letters, digits, "-")').refine(
    (name) => name !== DEFAULT_RULE_NAME,
    { error: `"${DEFAULT_RULE_NAME}" is reserved for the defaultAction` },
  ),
  description: z.string().max(1024).optional(),
  /** Default: the document's `spec.mode`. */
  mode: z.enum(['enforce', 'audit']).optional(),
  selector: selectorSchema.optional(),
  identities: z
    .strictObject({
      allow: z.array(identityGlob).min(1).optional(),
      deny: z.array(identityGlob).min(1).optional(),
    })
    .refine((value) => value.allow !== undefined || value.deny !== undefined, {
      error: 'needs allow or deny',
    })
    .optional(),
  trustDomains: z.array(pattern(TRUST_DOMAIN, 'a trust domain')).min(1).optional(),
  keyTypes: z.array(z.enum(KEY_TYPES)).min(1).optional(),
  ttl: z
    .strictObject({ max: durationSeconds.optional(), default: durationSeconds.optional() })
    .superRefine((ttl, context) => {
      if (ttl.max === undefined && ttl.default === undefined) {
        context.addIssue({ code: 'custom', message: 'needs max or default' });
      }
      if (ttl.max !== undefined && ttl.default !== undefined && ttl.default > ttl.max) {
        context.addIssue({
          code: 'custom',
          path: ['default'],
          message: 'must not be longer than max',
        });
      }
    })
    .optional(),
  liveWorkload: z.boolean().optional(),
  requiredObjects: z.array(requiredObjectSchema).min(1).optional(),
  namespaceLabels: labelMap.optional(),
});

const specSchema = z
  .strictObject({
    /** What a request gets when no rule of this layer allows it explicitly. */
    defaultAction: z.enum(['allow', 'deny']),
    /** The mode of the default action and of every rule that sets none. */
    mode: z.enum(['enforce', 'audit']).default('enforce'),
    rules: z.array(ruleSchema).default([]),
  })
  .superRefine((spec, context) => {
    const seen = new Map<string, number>();
    spec.rules.forEach((rule, index) => {
      const first = seen.get(rule.name);
      if (first !== undefined) {
        context.addIssue({
          code: 'custom',
          path: ['rules', index, 'name'],
          message: `duplicate rule name "${rule.name}" (first at rules[${first}])`,
        });
      } else {
        seen.set(rule.name, index);
      }
    });
  });

/** The whole document. */
export const policyDocumentSchema = z.strictObject({
  apiVersion: z.literal(POLICY_API_VERSION, {
    error: `must be ${POLICY_API_VERSION}`,
  }),
  kind: z.literal(POLICY_KIND, { error: `must be ${POLICY_KIND}` }),
  metadata: z.strictObject({
    name: pattern(POLICY_NAME, 'a DNS-1123 subdomain'),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: specSchema,
});

/** A parsed, valid policy document. */
export type PolicyDocument = z.output<typeof policyDocumentSchema>;
/** One rule of a document. */
export type RuleSpec = PolicyDocument['spec']['rules'][number];
/** A rule's selector. */
export type SelectorSpec = NonNullable<RuleSpec['selector']>;
/** A label selector in object form. */
export type LabelSelectorSpec = NonNullable<SelectorSpec['namespaceSelector']>;
/** One required object. */
export type RequiredObjectSpec = NonNullable<RuleSpec['requiredObjects']>[number];
/** `enforce` or `audit`. */
export type RuleMode = PolicyDocument['spec']['mode'];
/** `allow` or `deny`. */
export type DefaultAction = PolicyDocument['spec']['defaultAction'];
