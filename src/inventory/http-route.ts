/**
 * The inventory over HTTP on the operations port: `GET /v1/inventory/<view>` answers one page of
 * the view as an {@link InventoryDocument} (`?limit=`, then `?cursor=` from `nextCursor`), with the
 * filters as query parameters; `GET /v1/inventory/` lists the views. Access: {@link InventoryAccess}.
 *
 * Errors are JSON too: `{"schema": "meshca.io/inventory/v1", "error": {"status": 403, "message":
 * "..."}}` — 400 a bad parameter, 401 no or bad token, 403 a token not allowed, 404 an unknown
 * view, 503 the ledger or TokenReview cannot answer now.
 *
 * @module
 */
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { InventoryQuery } from '../ledger/index.js';
import type { Logger } from '../logger.js';
import { jsonResponse, type OpsRequest, type OpsResponse, type OpsRoute } from '../server/index.js';
import type { InventoryAccess } from './access.js';
import type { ServingFacts } from './serving-facts.js';
import {
  INVENTORY_SCHEMA,
  INVENTORY_VIEWS,
  InventoryRequestError,
  inventoryRequest,
  isInventoryView,
  readInventory,
} from './views.js';

/** Where the inventory API lives on the operations port. */
export const INVENTORY_PATH = '/v1/inventory/';

/** Collaborators of the inventory route. */
export interface InventoryRouteDeps {
  readonly query: InventoryQuery;
  readonly access: InventoryAccess;
  readonly clock: Clock;
  readonly logger: Logger;
  /** What this replica has in force, for the `overview` view. */
  readonly facts?: ServingFacts;
}

function failure(status: number, message: string): OpsResponse {
  return jsonResponse(
    status,
    { schema: INVENTORY_SCHEMA, error: { status, message } },
    status === 401 ? { 'www-authenticate': 'Bearer' } : {},
  );
}

/** The `/v1/inventory/` route. */
export function inventoryRoute(deps: InventoryRouteDeps): OpsRoute {
  return {
    path: INVENTORY_PATH,
    handle: async (request: OpsRequest): Promise<OpsResponse> => {
      const verdict = await deps.access.check(request.header('authorization'), request.signal);
      if (!verdict.allowed) return failure(verdict.status, verdict.reason);
      const name = request.path.slice(INVENTORY_PATH.length);
      if (name === '') {
        return jsonResponse(200, { schema: INVENTORY_SCHEMA, views: INVENTORY_VIEWS });
      }
      if (!isInventoryView(name)) {
        return failure(404, `no view "${name}"; views: ${INVENTORY_VIEWS.join(', ')}`);
      }
      try {
        const document = await readInventory(
          deps.query,
          inventoryRequest(name, request.query),
          deps.clock.now(),
          deps.facts,
        );
        return jsonResponse(200, document, { 'cache-control': 'no-store' });
      } catch (error) {
        if (error instanceof InventoryRequestError) return failure(400, error.message);
        deps.logger.warn({ view: name, err: errorMessage(error) }, 'inventory read failed');
        return failure(503, 'the ledger cannot be read now; retry later');
      }
    },
  };
}
