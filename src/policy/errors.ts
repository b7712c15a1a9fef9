/**
 * Errors about policy documents: the operator's input, never a caller's, so they extend `Error`
 * directly (like `ConfigError`) and never reach a gRPC client.
 *
 * @module
 */

/** One problem in a policy document, located as precisely as the parser allows. */
export interface PolicyIssue {
  /** The file (or `ConfigMap ns/name key`) the document came from. */
  readonly file: string;
  /** JSON path into the document, e.g. `spec.rules[2].keyTypes[0]`; empty for the whole. */
  readonly path: string;
  /** 1-based line and column, when the position is known. */
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly message: string;
}

/** `file:line:column: path: message`, the shape editors and CI annotations understand. */
export function formatPolicyIssue(issue: PolicyIssue): string {
  const at =
    issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  return `${at}: ${issue.path === '' ? '' : `${issue.path}: `}${issue.message}`;
}

/** A document that is not a valid policy. */
export class PolicyParseError extends Error {
  readonly issues: readonly PolicyIssue[];

  constructor(issues: readonly PolicyIssue[]) {
    super(issues.map(formatPolicyIssue).join('\n'));
    this.name = 'PolicyParseError';
    this.issues = issues;
  }
}

/**
 * Why a signature check failed, as the `result` label of `meshca_policy_reloads_total` says it:
 * `unsigned` (no signature where one is required) or `bad-signature` (present, but not valid
 * for this document under any configured key).
 */
export type SignatureFailure = 'unsigned' | 'bad-signature';

/** A central policy whose signature is missing or does not verify. */
export class PolicySignatureError extends Error {
  readonly failure: SignatureFailure;

  constructor(failure: SignatureFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PolicySignatureError';
    this.failure = failure;
  }
}

/** A policy source could not produce a usable first version: meshca must not start. */
export class PolicyLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PolicyLoadError';
  }
}
