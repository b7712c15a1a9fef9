/**
 * Validation of the "Kubernetes" settings.
 *
 * @module
 */
import { isDnsLabel, isDnsSubdomain } from '../../identity/index.js';
import { LabelSelector } from '../../kube/index.js';
import type { KubernetesConfig, RemoteClusterConfig } from '../types.js';
import { DNS_NAME, type SectionContext } from './context.js';

/**
 * The cluster side, present when a cluster is configured: leader election, the trust bundle,
 * istiod's certificate, ambient impersonation, remote clusters and controller limits.
 */
export function kubernetesSection(context: SectionContext, namespace: string): KubernetesConfig {
  const { settings: s, environment, problem } = context;
  const path = (value: string): string => context.path(value);
  if (!isDnsLabel(namespace)) problem('namespace', `"${namespace}" is not a namespace name`);
  if (!(s.leaseDuration > s.leaseRenewDeadline && s.leaseRenewDeadline > s.leaseRetryPeriod)) {
    problem(
      'leaseDuration',
      'must be longer than leaseRenewDeadline, itself longer than leaseRetryPeriod',
    );
  }
  if (s.istiodKey !== 'ec' && s.istiodKey !== 'rsa') problem('istiodKey', 'must be ec or rsa');
  if (!isDnsLabel(s.istiodNamespace))
    problem('istiodNamespace', `"${s.istiodNamespace}" is not a namespace name`);
  for (const revision of s.istiodRevisions) {
    if (!isDnsLabel(revision)) problem('istiodRevisions', `"${revision}" is not a revision name`);
  }
  for (const name of s.istiodDns) {
    if (!DNS_NAME.test(name)) problem('istiodDns', `"${name}" is not a DNS name`);
  }
  if (s.istiodTtl < 10_000 || s.istiodTtl % 1000 !== 0)
    problem('istiodTtl', 'must be whole seconds, at least 10s');
  if (s.controllerWriteRate < 1) problem('controllerWriteRate', 'must be at least 1');
  for (const account of s.trustedNodeAccounts) {
    const [ns = '', sa, extra] = account.split('/');
    if (extra !== undefined || sa === undefined || !isDnsLabel(ns) || !isDnsSubdomain(sa)) {
      problem('trustedNodeAccounts', `"${account}" is not namespace/serviceaccount`);
    }
  }
  const remoteClusters: RemoteClusterConfig[] = [];
  for (const entry of s.remoteClusters) {
    const match = /^([^=+]+)((?:\+[^=+]+)*)=(.+)$/.exec(entry);
    if (!match) {
      problem('remoteClusters', `"${entry}" is not ID[+ALIAS...]=KUBECONFIG`);
      continue;
    }
    const [, id = '', aliases = '', kubeconfig = ''] = match;
    remoteClusters.push({
      id,
      aliases: aliases.split('+').filter(Boolean),
      kubeconfig: path(kubeconfig),
    });
  }
  const names = [
    s.clusterId,
    ...s.clusterAliases,
    ...remoteClusters.flatMap((c) => [c.id, ...c.aliases]),
  ];
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined)
    problem('remoteClusters', `cluster name "${duplicate}" is used twice`);
  try {
    new LabelSelector(s.trustBundleNamespaceSelector);
  } catch (error) {
    problem('trustBundleNamespaceSelector', (error as Error).message);
  }
  return {
    namespace,
    podName: s.podName !== '' ? s.podName : environment.podName,
    leaderElection: {
      enabled: s.leaderElection,
      name: s.leaseName,
      leaseDurationMs: s.leaseDuration,
      renewDeadlineMs: s.leaseRenewDeadline,
      retryPeriodMs: s.leaseRetryPeriod,
    },
    trustBundle: {
      enabled: s.trustBundle,
      configMapName: s.trustBundleConfigMap,
      namespaceSelector: s.trustBundleNamespaceSelector,
      excludedNamespaces: s.trustBundleExcludedNamespaces,
    },
    istiod: {
      enabled: s.istiodCertificate,
      namespace: s.istiodNamespace,
      secretName: s.istiodSecret,
      revisions: s.istiodRevisions,
      extraDnsNames: s.istiodDns,
      ttlSeconds: Math.floor(s.istiodTtl / 1000),
      keyType: s.istiodKey === 'rsa' ? 'rsa' : 'ec',
    },
    controllers: {
      resyncMs: s.controllerResync,
      writesPerSecond: s.controllerWriteRate,
      requestTimeoutMs: s.kubeRequestTimeout,
    },
    trustedNodeAccounts: s.trustedNodeAccounts,
    remoteClusters,
  };
}
