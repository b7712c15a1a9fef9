/**
 * The web console (`/ui/` on the operations port): its static files and their headers. The
 * browser code in `web/` reads the inventory API only; it is bundled by `npm run build`.
 *
 * @module
 */
export {
  CONSOLE_CSP,
  CONSOLE_PATH,
  DEFAULT_CONSOLE_DIR,
  consoleRoutes,
  loadConsoleFiles,
} from './static-route.js';
