/**
 * Issuance policy: the rules that decide whether, and for how long, a certificate is issued —
 * meshca's own TTL limits, and the layered central/local policy of GOVERNANCE.md §1 and §3.
 *
 * @module
 */
export type {
  Decision,
  DecisionKey,
  DecisionRequest,
  IssuanceDecider,
  TtlAdjustment,
} from './decision.js';
export type { TtlChoice, TtlLimits, TtlOptions } from './ttl.js';
export { SERVER_LAYER, TTL_RULE, TtlPolicy } from './ttl.js';
// Documents
export type {
  DefaultAction,
  KeyType,
  LabelSelectorSpec,
  PolicyDocument,
  RequiredObjectSpec,
  RuleMode,
  RuleSpec,
  SelectorSpec,
} from './document.js';
export {
  DEFAULT_RULE_NAME,
  KEY_TYPES,
  MAX_POLICY_BYTES,
  POLICY_API_VERSION,
  POLICY_KIND,
  policyDocumentSchema,
} from './document.js';
export type { PolicyIssue, SignatureFailure } from './errors.js';
export {
  PolicyLoadError,
  PolicyParseError,
  PolicySignatureError,
  formatPolicyIssue,
} from './errors.js';
export type { ParsedPolicy, SourcePosition } from './parse.js';
export { formatPath, parsePolicyDocument } from './parse.js';
export type { CompiledPolicy, CompiledRule } from './compile.js';
export { compilePolicy } from './compile.js';
// Facts (ports implemented in kube/)
export type {
  ClusterFacts,
  FactSource,
  NamespaceFacts,
  NamespaceLookup,
  ObjectFacts,
  ObjectKind,
  ObjectListing,
  ObjectLookup,
  PodFacts,
  PodLookup,
  RequiredKindsWatch,
} from './facts.js';
export { ClusterFactsMap, objectKindKey } from './facts.js';
export type { Labels } from './label-match.js';
export { compileLabelSelector } from './label-match.js';
// Evaluation and decisions
export type {
  LayerEvaluation,
  PolicyEvaluation,
  PolicyLayer,
  PolicySnapshot,
  RuleVerdict,
  TtlBounds,
} from './evaluate.js';
export { evaluatePolicies } from './evaluate.js';
export type { ExplainedDecision, LayeredPolicyDeciderOptions } from './layered-decider.js';
export { LayeredPolicyDecider } from './layered-decider.js';
export { keyTypeOf } from './rules/key-types.js';
// Signatures, sources, store
export type { PolicyVerificationKey, VerifiedSignature } from './signature.js';
export { PolicySignatureVerifier, signPolicy } from './signature.js';
export type { PolicyChangeListener } from './store.js';
export { PolicyStore } from './store.js';
export type {
  PolicyBytes,
  PolicyDocumentReader,
  PolicySourceOptions,
  ReloadOutcome,
} from './source.js';
export { PolicySource } from './source.js';
export type { FilePolicyReaderOptions } from './file-reader.js';
export { FilePolicyReader } from './file-reader.js';
export type { PolicyMetricsSink, PolicyReloadResult } from './policy-metrics-sink.js';
// Lint
export type { LintFinding } from './lint.js';
export { formatLintFinding, lintPolicies } from './lint.js';
