/**
 * Validation of the "Policy" settings: one source per layer (a file or a watched ConfigMap, not
 * both), ConfigMaps only with a cluster, signing keys only with a central policy to verify.
 *
 * @module
 */
import { isDnsLabel, isDnsSubdomain } from '../../identity/index.js';
import type { KubeConnection } from '../../kube/index.js';
import type { SettingKey } from '../options.js';
import type { Config, PolicySourceConfig } from '../types.js';
import type { SectionContext } from './context.js';

/** The settings of one layer. */
interface LayerKeys {
  readonly file: Extract<SettingKey, 'policyCentral' | 'policyLocal'>;
  readonly configMap: Extract<SettingKey, 'policyCentralConfigMap' | 'policyLocalConfigMap'>;
}

const CENTRAL: LayerKeys = { file: 'policyCentral', configMap: 'policyCentralConfigMap' };
const LOCAL: LayerKeys = { file: 'policyLocal', configMap: 'policyLocalConfigMap' };

/**
 * The policy sources of both layers. A ConfigMap named without a namespace is in meshca's own
 * namespace (like `caSecret`).
 */
export function policySection(
  context: SectionContext,
  facts: { readonly kube: KubeConnection | undefined; readonly namespace: string },
): Config['policy'] {
  const { settings: s, problem } = context;
  const central = layerSource(context, CENTRAL, facts);
  const local = layerSource(context, LOCAL, facts);
  const signingKeys = s.policySigningKeys.map(context.path);
  if (signingKeys.length > 0 && central === undefined) {
    problem(
      'policySigningKeys',
      'there is no central policy to verify: set policyCentral or policyCentralConfigMap',
    );
  }
  if (!(s.policyReloadInterval > 0)) problem('policyReloadInterval', 'must be positive');
  return { central, local, signingKeys, reloadIntervalMs: s.policyReloadInterval };
}

function layerSource(
  context: SectionContext,
  keys: LayerKeys,
  facts: { readonly kube: KubeConnection | undefined; readonly namespace: string },
): PolicySourceConfig | undefined {
  const { settings: s, problem } = context;
  const file = s[keys.file];
  const configMap = s[keys.configMap];
  if (file !== '' && configMap !== '') {
    problem(keys.configMap, `set ${keys.file} or ${keys.configMap}, not both`);
    return undefined;
  }
  if (file !== '') return { kind: 'file', path: context.path(file) };
  if (configMap === '') return undefined;
  const parts = configMap.split('/');
  const [first = '', second] = parts;
  const source: PolicySourceConfig =
    second === undefined
      ? { kind: 'configmap', namespace: facts.namespace, name: first }
      : { kind: 'configmap', namespace: first, name: second };
  if (facts.kube === undefined) problem(keys.configMap, 'needs a cluster (kubeconfig)');
  if (parts.length > 2 || !isDnsLabel(source.namespace) || !isDnsSubdomain(source.name)) {
    problem(keys.configMap, `"${configMap}" is not [namespace/]name`);
  }
  return source;
}
