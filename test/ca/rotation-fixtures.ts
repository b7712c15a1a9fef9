/**
 * Two independent PKIs (root → signing intermediate each) and the cacerts contents of every
 * stage of a staged root rotation from A to B (ISTIO-CONTRACT.md §5.2).
 */
import type { CaMaterialSource } from '../../src/ca/index.js';
import { createTestPki, type TestPki } from '../support/pki.js';

/** cacerts contents with a `cert-chain.pem` (as every stage has). */
export type StageFiles = CaMaterialSource & { readonly certChainPem: string };

/** The contents of each stage. */
export interface RotationStages {
  readonly a: TestPki;
  readonly b: TestPki;
  /** Stage 0: sign with A, publish A. */
  readonly aOnly: StageFiles;
  /** Stage 1: sign with A, publish A and B. */
  readonly aBoth: StageFiles;
  /** Stage 3: sign with B, publish A and B. */
  readonly bBoth: StageFiles;
  /** Stage 4: sign with B, publish B. */
  readonly bOnly: StageFiles;
}

/** Builds A and B, valid from an hour before `now`. */
export async function rotationStages(now: Date): Promise<RotationStages> {
  const a = await createTestPki({ now, name: 'A' });
  const b = await createTestPki({ now, name: 'B' });
  const both = a.files.rootCertPem + b.files.rootCertPem;
  return {
    a,
    b,
    aOnly: a.files,
    aBoth: { ...a.files, rootCertPem: both },
    bBoth: { ...b.files, rootCertPem: both },
    bOnly: b.files,
  };
}
