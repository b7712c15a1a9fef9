/**
 * The security team's inventory: the ledger's views as one stable document
 * (`meshca.io/inventory/v1`) for the CLI, the HTTP API on the operations port and the console, and
 * who may read it over HTTP.
 *
 * @module
 */
export type { AccessVerdict, InventoryAccessOptions } from './access.js';
export { InventoryAccess } from './access.js';
export type { InventoryRouteDeps } from './http-route.js';
export { INVENTORY_PATH, inventoryRoute } from './http-route.js';
export type { InventoryDocument, InventoryRequest, InventoryView, OverviewItem } from './views.js';
export type {
  AuthorityFacts,
  CertificateFacts,
  PolicyFacts,
  PolicySignatureStatus,
  ServingFacts,
} from './serving-facts.js';
export {
  CERTIFICATE_STATES,
  DEFAULT_SINCE_MS,
  DEFAULT_WITHIN_MS,
  INVENTORY_PARAMETERS,
  INVENTORY_SCHEMA,
  INVENTORY_VIEWS,
  InventoryRequestError,
  inventoryRequest,
  isInventoryView,
  readInventory,
  readWholeInventory,
} from './views.js';
