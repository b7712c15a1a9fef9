/**
 * Settings of `meshca serve`, group "Operations": Logging.
 *
 * @module
 */
import type { OptionTable } from './option.js';

/** Keys, kinds, defaults and help; the order is the help order. */
export const OPERATIONS_OPTIONS = {
  logLevel: {
    group: 'Operations',
    kind: 'string',
    default: 'info',
    help: 'fatal, error, warn, info, debug, trace or silent.',
  },
} as const satisfies OptionTable;
