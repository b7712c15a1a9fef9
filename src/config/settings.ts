/**
 * The settings after type coercion, before cross-field checks: a zod schema built from the
 * option tables, and its type derived from it — renaming a key in a table changes the type, so
 * every use of the old name fails to compile.
 *
 * @module
 */
import { z } from 'zod';
import { parseDurationMs } from './duration.js';
import { OPTION_TABLE, type OptionTable } from './options.js';

const durationField = z.union([z.string(), z.number()]).transform((value, context) => {
  try {
    return parseDurationMs(value);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});
const listField = z
  .union([z.string(), z.array(z.string())])
  .transform((value) =>
    (typeof value === 'string' ? value.split(',') : value)
      .map((item) => item.trim())
      .filter(Boolean),
  );
const integerField = z
  .union([z.number(), z.string().regex(/^\d+$/, 'must be a whole number').transform(Number)])
  .pipe(z.number().int().min(0));
const booleanField = z.union([
  z.boolean(),
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .transform((v) => ['true', '1', 'yes'].includes(v)),
]);

/** How each kind of setting is read: durations in milliseconds, lists as arrays. */
const FIELDS = {
  string: z.string(),
  list: listField,
  duration: durationField,
  integer: integerField,
  boolean: booleanField,
} as const;

/** The zod shape of a table: each key's field, by its kind. */
type Shape<T extends OptionTable> = { -readonly [K in keyof T]: (typeof FIELDS)[T[K]['kind']] };

function shapeOf<T extends OptionTable>(table: T): Shape<T> {
  const shape: Partial<Record<keyof T, z.ZodType>> = {};
  for (const key of Object.keys(table) as (keyof T)[]) {
    const declaration = table[key];
    if (declaration !== undefined) shape[key] = FIELDS[declaration.kind];
  }
  // Every key was filled from its own declaration's kind just above.
  return shape as Shape<T>;
}

/** The schema of the merged raw settings; unknown keys are refused. */
export const SETTINGS_SCHEMA = z.strictObject(shapeOf(OPTION_TABLE));

/** The settings, typed: strings, string arrays, milliseconds, integers and booleans. */
export type Settings = Readonly<z.output<typeof SETTINGS_SCHEMA>>;
