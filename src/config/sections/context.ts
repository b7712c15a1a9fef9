/**
 * What each section's validation gets: the typed settings, facts about the environment, a place
 * to report problems (every one is collected, so a start-up failure lists them all) and path
 * resolution.
 *
 * @module
 */
import type { SettingKey } from '../options.js';
import type { Settings } from '../settings.js';
import type { Environment } from '../types.js';

/** The input of one section. */
export interface SectionContext {
  readonly settings: Settings;
  readonly environment: Environment;
  /** Records a problem with `key`; the message names where its value came from. */
  readonly problem: (key: SettingKey, message: string) => void;
  /** Resolves a path relative to the working directory. */
  readonly path: (value: string) => string;
}

/** A duration setting as whole seconds; a fraction is a problem. */
export function wholeSeconds(context: SectionContext, key: SettingKey): number {
  const value = context.settings[key];
  if (typeof value !== 'number') throw new TypeError(`${key} is not a duration`);
  if (value % 1000 !== 0) context.problem(key, 'must be a whole number of seconds');
  return Math.floor(value / 1000);
}

/** DNS names as certificates carry them (RFC 1123 labels, an optional leading wildcard). */
export const DNS_NAME =
  /^(?=.{1,253}$)(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
