/**
 * `meshca policy`: the security team's and the platform team's tools for issuance policies.
 * - `lint CENTRAL [LOCAL]`: schema errors with file, JSON path and line (exit 1), and warnings
 *   about rules that allow everything or can never have an effect;
 * - `explain`: each rule's verdict in each layer and the final decision for one identity;
 * - `sign`: the detached JWS the central policy ships with.
 *
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  PolicyParseError,
  PolicySignatureError,
  PolicySignatureVerifier,
  formatLintFinding,
  formatPolicyIssue,
  lintPolicies,
  parsePolicyDocument,
  signPolicy,
  type CompiledPolicy,
} from '../policy/index.js';
import { UsageError, type CommandIo } from './io.js';
import { explainCommand } from './policy-explain.js';
import { loadPolicyFile } from './policy-load.js';

export const POLICY_USAGE = `Usage: meshca policy <command> [options]

Commands:
  lint CENTRAL [LOCAL]   check policy documents: errors (exit 1) and warnings
  explain                show how both layers decide for one identity
  sign POLICY            sign a central policy (a detached JWS in POLICY.jws)

Run "meshca policy <command> --help" for a command's options.
`;

export const LINT_USAGE = `Usage: meshca policy lint CENTRAL [LOCAL] [options]

Checks issuance policy documents. Errors (file:line:column: path: message) exit with 1.
Warnings name rules that allow everything, and local rules that can never have an effect
(looser than the central policy, or applying only to identities central refuses).

Options:
      --signing-key FILE   also verify CENTRAL's signature (CENTRAL.jws) with this public key
                           (PEM or JWKS); repeatable
      --signature FILE     where CENTRAL's signature is (default: CENTRAL.jws)
      --strict             exit with 1 on warnings too
`;

export const SIGN_USAGE = `Usage: meshca policy sign --key PRIVATE.pem POLICY [--out FILE]

Signs POLICY's exact bytes: a detached JWS (RFC 7515 appendix F) written to POLICY.jws, where
meshca looks for it (next to the file, or under the key <key>.jws of the ConfigMap).
The algorithm follows the key: ES256 (EC P-256), ES384 (P-384), ES512 (P-521), RS256 (RSA),
EdDSA (Ed25519).

Options:
      --key FILE    the private key, PEM (PKCS#8 or traditional)
      --out FILE    where to write the signature; "-" prints it (default: POLICY.jws)
`;

/** Runs `meshca policy ...`; returns the exit code. */
export async function policyCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'lint':
      return lintCommand(rest, io);
    case 'explain':
      return explainCommand(rest, io);
    case 'sign':
      return signCommand(rest, io);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(POLICY_USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`meshca policy: unknown command "${command}"\n\n${POLICY_USAGE}`);
  }
}

async function lintCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      'signing-key': { type: 'string', multiple: true },
      signature: { type: 'string' },
      strict: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(LINT_USAGE);
    return 0;
  }
  const [centralFile, localFile, ...extra] = positionals;
  if (centralFile === undefined || extra.length > 0) {
    throw new UsageError(`meshca policy lint: give CENTRAL and optionally LOCAL\n\n${LINT_USAGE}`);
  }
  const files = localFile === undefined ? [centralFile] : [centralFile, localFile];
  const compiled: CompiledPolicy[] = [];
  let errors = 0;
  for (const file of files) {
    try {
      compiled.push(await loadPolicyFile(resolve(io.cwd, file), file));
    } catch (error) {
      if (!(error instanceof PolicyParseError)) {
        io.stderr.write(`error: ${file}: ${(error as Error).message}\n`);
        errors++;
        continue;
      }
      for (const issue of error.issues) {
        io.stderr.write(`error: ${formatPolicyIssue(issue)}\n`);
        errors++;
      }
    }
  }
  const signingKeys = values['signing-key'] ?? [];
  if (signingKeys.length > 0) {
    errors += await checkSignature(
      resolve(io.cwd, centralFile),
      values.signature === undefined ? undefined : resolve(io.cwd, values.signature),
      signingKeys.map((key) => resolve(io.cwd, key)),
      centralFile,
      io,
    );
  }
  if (errors > 0) {
    io.stderr.write(`${errors} error(s)\n`);
    return 1;
  }
  const [central, local] = compiled;
  const findings = lintPolicies(central, local);
  for (const finding of findings) io.stderr.write(`warning: ${formatLintFinding(finding)}\n`);
  const summary = compiled
    .map(
      (policy) =>
        `${policy.origin}: ${policy.name}, ${policy.rules.length} rule(s), sha256 ${policy.sha256}`,
    )
    .join('\n');
  io.stdout.write(
    `${summary}\n${findings.length === 0 ? 'ok' : `${findings.length} warning(s)`}\n`,
  );
  return findings.length > 0 && values.strict === true ? 1 : 0;
}

/** Verifies the central policy's signature; returns the number of errors (0 or 1). */
async function checkSignature(
  policyPath: string,
  signaturePath: string | undefined,
  keyFiles: readonly string[],
  shownAs: string,
  io: CommandIo,
): Promise<number> {
  const path = signaturePath ?? `${policyPath}.jws`;
  try {
    const verifier = await PolicySignatureVerifier.fromFiles(keyFiles);
    let signature: string;
    try {
      signature = await readFile(path, 'utf8');
    } catch {
      io.stderr.write(`error: ${shownAs}: not signed (no ${path})\n`);
      return 1;
    }
    const verified = await verifier.verify(await readFile(policyPath), signature);
    io.stdout.write(`${shownAs}: signature ok (${verified.algorithm}, key ${verified.kid})\n`);
    return 0;
  } catch (error) {
    const prefix = error instanceof PolicySignatureError ? `${error.failure}: ` : '';
    io.stderr.write(`error: ${shownAs}: ${prefix}${(error as Error).message}\n`);
    return 1;
  }
}

async function signCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      key: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(SIGN_USAGE);
    return 0;
  }
  const [policyFile, ...extra] = positionals;
  if (values.key === undefined || policyFile === undefined || extra.length > 0) {
    throw new UsageError(`meshca policy sign: give --key and one POLICY\n\n${SIGN_USAGE}`);
  }
  const policyPath = resolve(io.cwd, policyFile);
  const bytes = await readFile(policyPath);
  // Refuse to sign what meshca would refuse to load: a signature must never bless a broken file.
  try {
    parsePolicyDocument(bytes, policyFile);
  } catch (error) {
    if (error instanceof PolicyParseError) {
      for (const issue of error.issues) io.stderr.write(`error: ${formatPolicyIssue(issue)}\n`);
      io.stderr.write('not signed: the policy is not valid\n');
      return 1;
    }
    throw error;
  }
  const signature = await signPolicy(await readFile(resolve(io.cwd, values.key), 'utf8'), bytes);
  if (values.out === '-') {
    io.stdout.write(`${signature}\n`);
    return 0;
  }
  const out = values.out === undefined ? `${policyPath}.jws` : resolve(io.cwd, values.out);
  await writeFile(out, `${signature}\n`);
  const header = JSON.parse(Buffer.from(signature.split('.')[0] ?? '', 'base64url').toString()) as {
    alg: string;
    kid: string;
  };
  io.stdout.write(
    `wrote ${values.out ?? `${policyFile}.jws`} (${header.alg}, key ${header.kid})\n`,
  );
  return 0;
}
