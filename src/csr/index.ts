/**
 * Certificate signing requests: parsing, the validation rules, and building requests in Istio's
 * shapes.
 *
 * @module
 */
export type { CsrExtension, ParsedCsr, SubjectAttribute } from './parse.js';
export { MAX_CSR_PEM_BYTES, parseCsrDer, parseCsrPem } from './parse.js';
export type { CsrKey, CurveName, KeyPolicyOptions } from './key.js';
export { DEFAULT_KEY_POLICY } from './key.js';
export type { ValidatedCsr } from './validate.js';
export { CsrValidator } from './validate.js';
export type { ProofJob, ProofOutcome, ProofVerifier } from './proof.js';
export { ThreadPoolProofVerifier } from './proof.js';
export type { ProofWorkerPoolOptions } from './proof-workers.js';
export { ProofWorkerPool } from './proof-workers.js';
export type { CsrShape, CsrSpec, RawExtension, WorkloadKey, WorkloadKeyType } from './build.js';
export { buildCsrPem, generateWorkloadKey } from './build.js';
