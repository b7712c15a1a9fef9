/**
 * Help texts, generated from the settings table so that they always match the code.
 *
 * @module
 */
import { OPTIONS, envName, flagName } from '../config/index.js';

export const MAIN_USAGE = `meshca: a mesh certificate authority for Istio

Usage: meshca <command> [options]

Commands:
  serve      run the CA (IstioCertificateService over gRPC/TLS)
  token      print a development service-account token
  request    request a certificate as an Istio proxy would, and verify it
  scan       report certificates and CAs in a cluster that do not chain to approved roots
  policy     lint, explain and sign issuance policies
  inventory  the identity ledger's views: identities, expiring, denials, issuers, workloads, findings,
             certificates, denial-rules, overview
  ledger     verify the identity ledger's chains
  revoke     revoke certificates (recorded in the ledger, listed on the CRL)
  version    print the version

Run "meshca <command> --help" for a command's options.
`;

/** `meshca serve --help`. */
export function serveUsage(): string {
  const lines = [
    'Usage: meshca serve [options]',
    '',
    'Runs the certificate authority. Every option is also a config-file key (--config FILE, YAML)',
    'and an environment variable; precedence: flags > environment > file > defaults.',
    'With nothing configured it runs in development mode (a development CA and token issuer in',
    '--state-dir).',
    '',
    `  --config FILE                     configuration file (env MESHCA_CONFIG)`,
  ];
  let group = '';
  for (const option of OPTIONS) {
    if (option.group !== group) {
      group = option.group;
      lines.push('', `${group}:`);
    }
    const value =
      option.kind === 'boolean'
        ? ''
        : option.kind === 'list'
          ? ' A,B'
          : option.kind === 'duration'
            ? ' DUR'
            : ' VALUE';
    const flag = `--${flagName(option.key)}${value}`;
    const defaultText =
      option.default === undefined ||
      option.default === '' ||
      (Array.isArray(option.default) && option.default.length === 0)
        ? ''
        : ` (default: ${Array.isArray(option.default) ? option.default.join(',') : String(option.default)})`;
    lines.push(`  ${flag.padEnd(34)}${option.help}${defaultText}`);
    lines.push(`  ${''.padEnd(34)}key ${option.key}, env ${envName(option.key)}`);
  }
  return `${lines.join('\n')}\n`;
}
