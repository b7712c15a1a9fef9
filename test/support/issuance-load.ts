/**
 * A steady load of CreateCertificate calls against a development-mode meshca (tokens from its
 * development issuer), for the ledger's tests through `serve`: every answer is kept, with the
 * serial of each certificate issued, so that a test can compare what clients got with what the
 * ledger holds.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { CaClient } from '../../src/client/index.js';
import { systemClock } from '../../src/clock.js';
import { issueDevToken } from '../../src/devmode/index.js';
import { workloadSpiffeId } from '../../src/identity/index.js';
import { csrFor } from '../server/harness.js';

/** One answer. */
export interface LoadResult {
  /** `OK` or the gRPC status name. */
  readonly outcome: string;
  /** Lower-case hex, for certificates issued. */
  readonly serial?: string;
  readonly details?: string;
}

/** Clients, tokens and CSRs for `identities` service accounts of namespace `load`. */
export interface IssuanceLoad {
  /** Sends one call as identity `index` (modulo the number of identities). */
  call(index: number): Promise<LoadResult>;
  /** Sends `count` calls, `concurrency` at a time; `onAnswer` after each. */
  run(count: number, concurrency: number, onAnswer?: (done: number) => void): Promise<LoadResult[]>;
  close(): void;
}

/** Prepares a load against the development-mode meshca of `stateDir` on `grpcPort`. */
export async function issuanceLoad(
  stateDir: string,
  grpcPort: number,
  identities = 10,
): Promise<IssuanceLoad> {
  const rootCertPem = readFileSync(join(stateDir, 'ca', 'root-cert.pem'), 'utf8');
  const accounts = Array.from({ length: identities }, (_, index) => `load-${index}`);
  const tokens = await Promise.all(
    accounts.map((sa) =>
      issueDevToken(
        stateDir,
        { namespace: 'load', serviceAccount: sa, audiences: ['istio-ca'], ttlSeconds: 3600 },
        systemClock,
      ),
    ),
  );
  const csrs = await Promise.all(
    accounts.map((sa) => csrFor(workloadSpiffeId('cluster.local', 'load', sa).uri, 'ec')),
  );
  const clients = Array.from(
    { length: 4 },
    () => new CaClient({ address: `localhost:${grpcPort}`, rootCertPem }),
  );
  const call = async (index: number): Promise<LoadResult> => {
    const slot = index % accounts.length;
    try {
      const chain = await clients[index % clients.length]!.createCertificate({
        csrPem: csrs[slot]!.csrPem,
        token: tokens[slot]!,
        deadlineMs: 30_000,
      });
      return { outcome: 'OK', serial: new X509Certificate(chain[0]!).serialNumber.toLowerCase() };
    } catch (error) {
      const serviceError = error as ServiceError;
      return { outcome: Status[serviceError.code], details: serviceError.details };
    }
  };
  return {
    call,
    async run(count, concurrency, onAnswer) {
      const results: LoadResult[] = [];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < count) {
          const index = next++;
          results.push(await call(index));
          onAnswer?.(results.length);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, () => worker()));
      return results;
    },
    close() {
      for (const client of clients) client.close();
    },
  };
}

/** The value of one metric series in a Prometheus exposition, or undefined. */
export function metricValue(exposition: string, series: string): number | undefined {
  for (const line of exposition.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
