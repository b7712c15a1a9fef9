/**
 * Validation of the "Certificate authority" settings: where the CA material comes from.
 *
 * @module
 */
import { isDnsLabel, isDnsSubdomain } from '../../identity/index.js';
import type { KubeConnection } from '../../kube/index.js';
import type { CaSourceConfig, Config } from '../types.js';
import type { SectionContext } from './context.js';

/**
 * The CA source: `caDir`, `caSecret` (`[namespace/]name`, in meshca's namespace by default), or
 * the development PKI (development mode, or `devPki`). A cluster or JWKS without a CA is refused:
 * production must not fall back to a development CA by accident.
 */
export function caSection(
  context: SectionContext,
  facts: {
    readonly kube: KubeConnection | undefined;
    readonly development: boolean;
    readonly namespace: string;
  },
): Config['ca'] {
  const { settings: s, problem } = context;
  let source: CaSourceConfig;
  if (s.caDir !== '' && s.caSecret !== '') {
    source = { kind: 'development' };
    problem('caSecret', 'set caDir or caSecret, not both');
  } else if (s.caDir !== '') {
    source = { kind: 'directory', dir: context.path(s.caDir) };
  } else if (s.caSecret !== '') {
    const [first = '', second] = s.caSecret.split('/');
    source =
      second === undefined
        ? { kind: 'secret', namespace: facts.namespace, name: first }
        : { kind: 'secret', namespace: first, name: second };
    if (facts.kube === undefined) problem('caSecret', 'needs a cluster (kubeconfig)');
    if (
      !isDnsLabel(source.namespace) ||
      !isDnsSubdomain(source.name) ||
      s.caSecret.split('/').length > 2
    ) {
      problem('caSecret', `"${s.caSecret}" is not [namespace/]name`);
    }
  } else {
    source = { kind: 'development' };
    if (!facts.development && !s.devPki) {
      problem(
        'caDir',
        'a CA is required when a cluster or JWKS is configured: set caDir or caSecret (or devPki for a development CA)',
      );
    }
  }
  return {
    source,
    verifyIssued: s.verifyIssued,
    reloadIntervalMs: s.caReloadInterval,
    rotationChecks: s.caRotationChecks,
  };
}
