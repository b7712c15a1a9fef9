/**
 * The allowlist: known exceptions (a webhook's own CA, a vendor's self-signed Ingress in a lab
 * namespace), each with a reason. An allowlisted finding is still reported, marked with the rule
 * and its reason; it is only left out of the counts, metrics, Events and the exit code.
 *
 * File format (YAML or JSON):
 *
 * ```yaml
 * allow:
 *   - namespace: cert-manager
 *     reason: cert-manager's own webhook CA, rotated by cert-manager
 *   - object: { kind: ValidatingWebhookConfiguration, name: gatekeeper-validating-webhook-configuration }
 *     reason: Gatekeeper generates and rotates its webhook CA itself
 *     kinds: [self-signed-ca]          # optional: only these finding kinds
 *   - fingerprint: 9A:3C:...:E1        # SHA-256, colons and case ignored
 *     reason: lab root, approved until 2026-12 (ticket SEC-123)
 * ```
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { InvalidRequestError } from '../errors.js';
import {
  FINDING_KINDS,
  objectLabel,
  type AllowlistMatch,
  type FindingDraft,
  type FindingKind,
} from './finding.js';

/** One exception. Exactly one of `namespace`, `object`, `fingerprint`. */
export type AllowlistRule = (
  | { readonly namespace: string }
  | {
      readonly object: {
        readonly kind: string;
        readonly namespace?: string;
        readonly name: string;
      };
    }
  | { readonly fingerprint: string }
) & {
  readonly reason: string;
  /** Only these kinds; every kind when absent. */
  readonly kinds?: readonly FindingKind[];
};

const NAME = z.string().min(1).max(253);
const REASON = z.string().trim().min(1, 'every allowlist entry needs a reason');
const KINDS = z.array(z.enum(FINDING_KINDS)).min(1).optional();
const FINGERPRINT = z
  .string()
  .transform((value) => value.replaceAll(':', '').toLowerCase())
  .pipe(z.string().regex(/^[0-9a-f]{64}$/, 'a fingerprint is 64 hex digits (SHA-256)'));

const RULE = z
  .strictObject({
    namespace: NAME.optional(),
    object: z.strictObject({ kind: NAME, namespace: NAME.optional(), name: NAME }).optional(),
    fingerprint: FINGERPRINT.optional(),
    reason: z.string('every allowlist entry needs a reason').pipe(REASON),
    kinds: KINDS,
  })
  .refine(
    (rule) =>
      [rule.namespace, rule.object, rule.fingerprint].filter((value) => value !== undefined)
        .length === 1,
    'give exactly one of namespace, object or fingerprint',
  );

const FILE = z.strictObject({ allow: z.array(RULE).default([]) });

/** Decides which findings are known exceptions. Immutable. */
export class Allowlist {
  readonly rules: readonly AllowlistRule[];

  constructor(rules: readonly AllowlistRule[] = []) {
    this.rules = rules.map((rule) => {
      if ('fingerprint' in rule) {
        return { ...rule, fingerprint: rule.fingerprint.replaceAll(':', '').toLowerCase() };
      }
      return rule;
    });
  }

  /** A new allowlist with `rules` added (the composition root adds meshca's own CA Secret). */
  with(rules: readonly AllowlistRule[]): Allowlist {
    return new Allowlist([...this.rules, ...rules]);
  }

  /** The first rule that covers `finding`, or undefined. */
  match(finding: FindingDraft): AllowlistMatch | undefined {
    for (const rule of this.rules) {
      if (rule.kinds !== undefined && !rule.kinds.includes(finding.kind)) continue;
      if ('namespace' in rule) {
        if (finding.object.namespace === rule.namespace) {
          return { rule: 'namespace', value: rule.namespace, reason: rule.reason };
        }
      } else if ('object' in rule) {
        const { kind, namespace, name } = rule.object;
        const object = finding.object;
        if (object.kind === kind && object.name === name && object.namespace === namespace) {
          return { rule: 'object', value: objectLabel(rule.object), reason: rule.reason };
        }
      } else if (finding.certificate?.sha256 === rule.fingerprint) {
        return { rule: 'fingerprint', value: rule.fingerprint, reason: rule.reason };
      }
    }
    return undefined;
  }
}

/**
 * Parses an allowlist document (YAML or JSON).
 *
 * @throws {@link InvalidRequestError} `ERR_DISCOVERY_ALLOWLIST_INVALID` naming every problem.
 */
export function parseAllowlist(text: string, what: string): Allowlist {
  let document: unknown;
  try {
    document = parse(text) as unknown;
  } catch (error) {
    throw new InvalidRequestError(
      'ERR_DISCOVERY_ALLOWLIST_INVALID',
      `${what}: not YAML or JSON: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const result = FILE.safeParse(document ?? {});
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`,
    );
    throw new InvalidRequestError(
      'ERR_DISCOVERY_ALLOWLIST_INVALID',
      `${what}: invalid allowlist:\n  - ${problems.join('\n  - ')}`,
    );
  }
  return new Allowlist(result.data.allow.map(withoutUndefined));
}

/**
 * Reads an allowlist file.
 *
 * @throws {@link InvalidRequestError} `ERR_DISCOVERY_ALLOWLIST_INVALID`.
 */
export async function loadAllowlist(path: string): Promise<Allowlist> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidRequestError(
      'ERR_DISCOVERY_ALLOWLIST_INVALID',
      `allowlist ${path}: cannot read: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return parseAllowlist(text, `allowlist ${path}`);
}

/** zod leaves absent optional keys as `undefined`; our types say "absent" (exactOptionalPropertyTypes). */
function withoutUndefined(rule: z.infer<typeof RULE>): AllowlistRule {
  const kinds = rule.kinds === undefined ? {} : { kinds: rule.kinds };
  if (rule.namespace !== undefined) {
    return { namespace: rule.namespace, reason: rule.reason, ...kinds };
  }
  if (rule.object !== undefined) {
    const { kind, namespace, name } = rule.object;
    return {
      object: { kind, name, ...(namespace === undefined ? {} : { namespace }) },
      reason: rule.reason,
      ...kinds,
    };
  }
  return { fingerprint: rule.fingerprint ?? '', reason: rule.reason, ...kinds };
}
