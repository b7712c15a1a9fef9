/**
 * `meshca revoke SERIAL... | --pod NS/NAME | --service-account NS/SA [--reason R]`: revokes
 * certificates by hand. The revocation is one record in a chain of its own (writer
 * `revoke:<by>`), appended to the same database `meshca serve` writes; with `revocation: true`
 * every replica's CRL lists the serials within `crlCheckInterval`.
 *
 * A pod or a service account selects its active certificates (unexpired, neither retired nor
 * revoked: retired ones are on the CRL already). A serial is taken as given, even one the ledger
 * does not know yet (its issuance record may still wait in a replica's spool): it is revoked when
 * that record arrives.
 *
 * @module
 */
import { hostname, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { isCrlReason } from '../ca/index.js';
import { systemClock } from '../clock.js';
import {
  ChainWriter,
  type CertificateView,
  type InventoryQuery,
  type RevokeRecordBody,
} from '../ledger/index.js';
import { UsageError, type CommandIo } from './io.js';
import {
  LEDGER_LOCATION_HELP,
  LEDGER_LOCATION_OPTIONS,
  openCommandLedger,
} from './ledger-command.js';

export const REVOKE_USAGE = `Usage: meshca revoke SERIAL... | --pod NS/NAME | --service-account NS/SA [options]

Revokes certificates: records the revocation in the identity ledger, so that the CRL (with
"revocation: true") lists them. Revoking does not stop new certificates from being issued: to
refuse an identity, deny it in the issuance policy.

  SERIAL...                    serials, hex (colons and case ignored), as the ledger or
                               "openssl x509 -serial" shows them
      --pod NS/NAME            every active certificate of this pod
      --service-account NS/SA  every active certificate of this service account
      --reason R               an RFC 5280 CRLReason: unspecified (default), keyCompromise,
                               cACompromise, affiliationChanged, superseded,
                               cessationOfOperation, privilegeWithdrawn, aACompromise
      --by NAME                who revokes, recorded (default: user@host)

${LEDGER_LOCATION_HELP}
`;

/** Reasons that revoke for good (certificateHold and removeFromCRL are not supported). */
const REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
  'aACompromise',
] as const;

/** Runs `meshca revoke`; returns the exit code (1 when nothing matched). */
export async function revokeCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      pod: { type: 'string' },
      'service-account': { type: 'string' },
      reason: { type: 'string' },
      by: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...LEDGER_LOCATION_OPTIONS,
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(REVOKE_USAGE);
    return 0;
  }
  const selectors = [positionals.length > 0, values.pod, values['service-account']].filter(
    (given) => given !== undefined && given !== false,
  );
  if (selectors.length !== 1) {
    throw new UsageError(
      `meshca revoke: give serials, --pod or --service-account (exactly one of them)\n\n${REVOKE_USAGE}`,
    );
  }
  const reason = values.reason ?? 'unspecified';
  if (!isCrlReason(reason) || !(REASONS as readonly string[]).includes(reason)) {
    throw new UsageError(`meshca revoke: --reason must be one of ${REASONS.join(', ')}`);
  }
  const serials = positionals.map(parseSerial);
  const pod = values.pod === undefined ? undefined : namespaced('--pod', values.pod);
  const account =
    values['service-account'] === undefined
      ? undefined
      : namespaced('--service-account', values['service-account']);
  const by = values.by ?? `${userInfo().username}@${hostname()}`;

  const store = await openCommandLedger('revoke', values, io);
  try {
    const now = systemClock.now();
    let selected: CertificateView[] = [];
    if (pod !== undefined || account !== undefined) {
      const namespace = pod?.namespace ?? account?.namespace ?? '';
      selected = await activeCertificates(store, now, namespace, (certificate) =>
        pod !== undefined
          ? certificate.podName === pod.name
          : certificate.serviceAccount === account?.name,
      );
      if (selected.length === 0) {
        const what =
          pod !== undefined
            ? `pod ${values.pod ?? ''}`
            : `service account ${values['service-account'] ?? ''}`;
        io.stderr.write(
          `meshca revoke: no active certificate of ${what} in the ledger (retired ones are on the CRL already)\n`,
        );
        return 1;
      }
      serials.push(...selected.map((certificate) => certificate.serial));
    }
    const body: RevokeRecordBody = {
      type: 'revoke',
      time: now.toISOString(),
      serials: [...new Set(serials)],
      reason,
      by,
    };
    const chain = new ChainWriter(`revoke:${by}`);
    const record = chain.next(body, now.getTime(), now.getTime());
    await store.append([record]);
    io.stdout.write(
      `revoked ${body.serials.length} certificate(s), reason ${reason}, by ${by} (ledger chain ${record.chainId}, record 1)\n`,
    );
    const known = new Map(selected.map((certificate) => [certificate.serial, certificate]));
    for (const serial of body.serials) {
      const certificate = known.get(serial);
      io.stdout.write(
        certificate === undefined
          ? `  ${serial}\n`
          : `  ${serial}  ${certificate.identity}  pod ${certificate.podName ?? '<none>'}  not after ${certificate.notAfter}\n`,
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** Every active certificate of `namespace` that `matches`, through the inventory's pages. */
async function activeCertificates(
  query: InventoryQuery,
  now: Date,
  namespace: string,
  matches: (certificate: CertificateView) => boolean,
): Promise<CertificateView[]> {
  const found: CertificateView[] = [];
  let cursor: string | undefined;
  do {
    const page = await query.identities(
      now,
      { namespace },
      { limit: 1000, ...(cursor === undefined ? {} : { cursor }) },
    );
    found.push(...page.items.filter(matches));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return found;
}

/**
 * A serial as the ledger records it (lower-case hex, whole bytes, no leading zero byte: the
 * INTEGER's magnitude, as meshca's signer writes it), from what a user pastes:
 * `serial=13C07C...` (`openssl x509 -noout -serial`), `13:C0:7C...` (`openssl x509 -text`),
 * `0x13c07c...`, or the integer's hex without its leading zero (`format(n, 'x')` in Python).
 *
 * @throws {@link UsageError} when `text` is not a serial of 1 to 20 bytes.
 */
export function parseSerial(text: string): string {
  const hex = text
    .trim()
    .replace(/^serial=/i, '')
    .replace(/^0x/i, '')
    .replaceAll(':', '')
    .toLowerCase();
  const magnitude = hex.replace(/^0+/, '');
  const serial = magnitude.length % 2 === 0 ? magnitude : `0${magnitude}`;
  if (!/^[0-9a-f]+$/.test(hex) || serial.length === 0 || serial.length > 40) {
    throw new UsageError(`meshca revoke: "${text}" is not a serial (hex, 1 to 20 bytes)`);
  }
  return serial;
}

function namespaced(flag: string, value: string): { namespace: string; name: string } {
  const [namespace, name, extra] = value.split('/');
  if (
    namespace === undefined ||
    namespace === '' ||
    name === undefined ||
    name === '' ||
    extra !== undefined
  ) {
    throw new UsageError(`meshca revoke: ${flag} must be NAMESPACE/NAME, not "${value}"`);
  }
  return { namespace, name };
}
