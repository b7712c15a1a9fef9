/**
 * Every setting of `meshca serve`, declared once, in one table per group (`options/*.ts`). Each
 * is a config-file key (camelCase), a flag (`--kebab-case`) and an environment variable
 * (`MESHCA_UPPER_SNAKE`); the help text and the README's configuration reference are generated
 * from the tables, and the settings type is derived from them (`schema.ts`), so none can drift.
 *
 * @module
 */
import { AUTHENTICATION_OPTIONS } from './options/authentication.js';
import { CA_OPTIONS } from './options/ca.js';
import { DISCOVERY_OPTIONS } from './options/discovery.js';
import { IDENTITY_OPTIONS } from './options/identity.js';
import { ISSUANCE_OPTIONS } from './options/issuance.js';
import { KUBERNETES_OPTIONS } from './options/kubernetes.js';
import type { OptionSpec } from './options/option.js';
import { OPERATIONS_OPTIONS } from './options/operations.js';
import { SERVING_OPTIONS } from './options/serving.js';

export type { OptionDeclaration, OptionKind, OptionSpec, OptionTable } from './options/option.js';

/** Every setting by key, in help order. */
export const OPTION_TABLE = {
  ...SERVING_OPTIONS,
  ...IDENTITY_OPTIONS,
  ...AUTHENTICATION_OPTIONS,
  ...CA_OPTIONS,
  ...ISSUANCE_OPTIONS,
  ...KUBERNETES_OPTIONS,
  ...DISCOVERY_OPTIONS,
  ...OPERATIONS_OPTIONS,
} as const;

/** The name of a setting. */
export type SettingKey = keyof typeof OPTION_TABLE;

/** All settings, in help order. */
export const OPTIONS: readonly OptionSpec[] = Object.entries(OPTION_TABLE).map(
  ([key, option]): OptionSpec => ({ key, ...option }),
);

/** `fooBar` → `foo-bar`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** `fooBar` → `MESHCA_FOO_BAR`. */
export function envName(key: string): string {
  return `MESHCA_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}
