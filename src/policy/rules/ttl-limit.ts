/**
 * `ttl`: a rule's maximum and default certificate lifetime. Never a refusal: every proxy of a mesh
 * sends the same TTL, so refusing would take the whole mesh down over a setting that clamping
 * enforces just as well (src/policy/ttl.ts). The certificate gets the smallest maximum of every
 * selected enforce rule of both layers and of the server's own limits; a request that asks for
 * no TTL (`<= 0`) gets the smallest default those rules set, else the server's default.
 *
 * @module
 */

/** A rule's TTL limits, in seconds. */
export interface TtlLimit {
  readonly maxSeconds: number | undefined;
  readonly defaultSeconds: number | undefined;
}

/** The TTL limits of a rule, or undefined when it sets none. */
export function ttlLimit(
  spec: { readonly max?: number | undefined; readonly default?: number | undefined } | undefined,
): TtlLimit | undefined {
  if (spec === undefined) return undefined;
  return { maxSeconds: spec.max, defaultSeconds: spec.default };
}
