/**
 * The shape of one setting of `meshca serve`. Each is a config-file key (camelCase), a flag
 * (`--kebab-case`) and an environment variable (`MESHCA_UPPER_SNAKE`); the help text and the
 * README's configuration reference are generated from the tables, so they cannot drift.
 *
 * @module
 */

/** How a raw value is read. */
export type OptionKind = 'string' | 'list' | 'duration' | 'integer' | 'boolean';

/** Help-section headings, in help order. */
export const OPTION_GROUPS = [
  'Serving',
  'Identity',
  'Authentication',
  'Certificate authority',
  'Issuance',
  'Kubernetes',
  'Discovery',
  'Operations',
] as const;

/** One setting, without its key (the key is its name in its table). */
export interface OptionDeclaration {
  readonly kind: OptionKind;
  /** Raw default, in the notation users write. */
  readonly default?: string | number | boolean | readonly string[];
  readonly help: string;
  readonly group: (typeof OPTION_GROUPS)[number];
}

/** A table of settings by key. */
export type OptionTable = Readonly<Record<string, OptionDeclaration>>;

/** One setting with its key, as help, loading and the README list them. */
export interface OptionSpec extends OptionDeclaration {
  readonly key: string;
}
