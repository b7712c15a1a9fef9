/**
 * `GET /v1/discovery/report` on the operations port: the report of continuous discovery's last
 * complete scan, the same JSON document `meshca scan -o json` prints (schema
 * `meshca.io/discovery-report/v1`). It names where CA keys and rogue CAs are, so it is read like
 * the inventory: a bearer token checked by TokenReview against the same allowed service accounts
 * and groups, or no token on a loopback-bound port.
 *
 * Errors are JSON: `{"schemaVersion": "meshca.io/discovery-report/v1", "error": {"status",
 * "message"}}` — 401 no or bad token, 403 a token not allowed, 503 no complete scan on this
 * replica yet (discovery runs on the leader only).
 *
 * @module
 */
import type { AccessVerdict } from '../inventory/index.js';
import { jsonResponse, type OpsRequest, type OpsResponse, type OpsRoute } from '../server/index.js';
import { REPORT_SCHEMA, type DiscoveryReport } from './report.js';

/** Where the report lives on the operations port. */
export const DISCOVERY_REPORT_PATH = '/v1/discovery/report';

/** Collaborators of the report route. */
export interface DiscoveryReportRouteDeps {
  /** The last complete scan's report, or undefined before the first (or off the leader). */
  readonly report: () => DiscoveryReport | undefined;
  /** Who may read it (the inventory's rule). */
  readonly access: {
    check(authorization: string | undefined, signal: AbortSignal): Promise<AccessVerdict>;
  };
}

function failure(status: number, message: string): OpsResponse {
  const headers: Record<string, string> =
    status === 401
      ? { 'www-authenticate': 'Bearer' }
      : status === 503
        ? { 'retry-after': '30' }
        : {};
  return jsonResponse(
    status,
    { schemaVersion: REPORT_SCHEMA, error: { status, message } },
    headers,
  );
}

/** The `/v1/discovery/report` route. */
export function discoveryReportRoute(deps: DiscoveryReportRouteDeps): OpsRoute {
  return {
    path: DISCOVERY_REPORT_PATH,
    handle: async (request: OpsRequest): Promise<OpsResponse> => {
      const verdict = await deps.access.check(request.header('authorization'), request.signal);
      if (!verdict.allowed) return failure(verdict.status, verdict.reason);
      const report = deps.report();
      if (report === undefined) {
        return failure(
          503,
          "no discovery scan has completed on this replica: discovery runs on the leader (the holder of meshca's Lease), after discoveryInitialDelay",
        );
      }
      return jsonResponse(200, report, { 'cache-control': 'no-store' });
    },
  };
}
