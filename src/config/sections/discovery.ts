/**
 * Validation of the "Discovery" settings.
 *
 * @module
 */
import { isDnsLabel } from '../../identity/index.js';
import type { KubeConnection } from '../../kube/index.js';
import type { Config } from '../types.js';
import type { SectionContext } from './context.js';

/** Continuous discovery: needs a cluster; paths resolved; namespaces are names. */
export function discoverySection(
  context: SectionContext,
  kube: KubeConnection | undefined,
): Config['discovery'] {
  const { settings: s, problem } = context;
  if (s.discovery && kube === undefined) problem('discovery', 'needs a cluster (kubeconfig)');
  if (s.discoveryInterval < 60_000) problem('discoveryInterval', 'must be at least 1m');
  if (s.discoveryPageSize < 1 || s.discoveryPageSize > 5000) {
    problem('discoveryPageSize', 'must be between 1 and 5000');
  }
  for (const namespace of [...s.discoveryNamespaces, s.discoveryCertManagerNamespace]) {
    if (!isDnsLabel(namespace)) {
      problem('discoveryNamespaces', `"${namespace}" is not a namespace name`);
    }
  }
  return {
    enabled: s.discovery,
    intervalMs: s.discoveryInterval,
    initialDelayMs: s.discoveryInitialDelay,
    approvedRoots: s.discoveryApprovedRoots.map((path) => context.path(path)),
    allowlist: s.discoveryAllowlist === '' ? undefined : context.path(s.discoveryAllowlist),
    namespaces: s.discoveryNamespaces,
    events: s.discoveryEvents,
    expiringWithinMs: s.discoveryExpiringWithin,
    certManagerNamespace: s.discoveryCertManagerNamespace,
    pageSize: s.discoveryPageSize,
  };
}
