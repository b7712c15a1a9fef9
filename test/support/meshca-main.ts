/**
 * Runs the meshca command from source, for tests that need real separate processes
 * (`node --import tsx test/support/meshca-main.ts serve ...`).
 */
import { main } from '../../src/cli/main.js';

await main();
