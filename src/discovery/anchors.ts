/**
 * The approved trust anchors a scan judges against: meshca's own roots (the current trust
 * bundle, or a `cacerts` directory's `root-cert.pem` for `meshca scan`) plus `--approved-roots`
 * bundles, e.g. the organisation's web PKI roots for public Ingresses.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inventoryPem, parseCertificateBlock, type ParsedCertificate } from '../ca/index.js';
import { InvalidRequestError, errorMessage } from '../errors.js';

/** Supplies the anchors at the start of each scan (the trust bundle changes on rotation). */
export type AnchorProvider = () => readonly ParsedCertificate[];

/**
 * Parses a PEM bundle of approved roots. Every block must be a certificate.
 *
 * @throws {@link InvalidRequestError} `ERR_DISCOVERY_APPROVED_ROOTS_INVALID` when the text holds
 * no certificate, a block that is not a certificate, or a certificate that does not parse.
 */
export function parseApprovedRoots(text: string, what: string): ParsedCertificate[] {
  const inventory = inventoryPem(text);
  const fail = (problem: string, cause?: unknown): never => {
    throw new InvalidRequestError(
      'ERR_DISCOVERY_APPROVED_ROOTS_INVALID',
      `${what}: ${problem}`,
      cause === undefined ? {} : { cause },
    );
  };
  if (inventory.privateKeyBlocks > 0) fail('holds a private key; give certificates only');
  if (inventory.ignoredBlocks > 0) fail('holds a PEM block that is not a certificate');
  if (inventory.certificates.length === 0) fail('holds no certificate');
  return inventory.certificates.map((block, index) => {
    try {
      return parseCertificateBlock(block);
    } catch (error) {
      return fail(`certificate ${index + 1} cannot be parsed: ${errorMessage(error)}`, error);
    }
  });
}

/**
 * Reads `--approved-roots` files.
 *
 * @throws {@link InvalidRequestError} `ERR_DISCOVERY_APPROVED_ROOTS_INVALID`.
 */
export async function loadApprovedRoots(paths: readonly string[]): Promise<ParsedCertificate[]> {
  const roots: ParsedCertificate[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new InvalidRequestError(
        'ERR_DISCOVERY_APPROVED_ROOTS_INVALID',
        `approved roots ${path}: cannot read: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    roots.push(...parseApprovedRoots(text, `approved roots ${path}`));
  }
  return roots;
}

/**
 * meshca's roots from a `cacerts` directory: `root-cert.pem` only (the key files are never
 * opened).
 *
 * @throws {@link InvalidRequestError} `ERR_DISCOVERY_APPROVED_ROOTS_INVALID`.
 */
export async function loadCaDirectoryRoots(dir: string): Promise<ParsedCertificate[]> {
  return loadApprovedRoots([join(dir, 'root-cert.pem')]);
}

/** Removes duplicates (same fingerprint), keeping the first. */
export function uniqueAnchors(anchors: readonly ParsedCertificate[]): ParsedCertificate[] {
  const seen = new Map<string, ParsedCertificate>();
  for (const anchor of anchors) if (!seen.has(anchor.sha256)) seen.set(anchor.sha256, anchor);
  return [...seen.values()];
}
