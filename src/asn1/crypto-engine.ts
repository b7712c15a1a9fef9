/**
 * pkijs needs a WebCrypto engine for signing and verifying. We pass ours explicitly to every call
 * instead of relying on the global engine pkijs installs on import (STYLE.md, "Dependencies").
 *
 * @module
 */
import { webcrypto } from 'node:crypto';
import * as pkijs from 'pkijs';

/** Node's WebCrypto wrapped as a pkijs engine. */
export function createCryptoEngine(): pkijs.CryptoEngine {
  // pkijs types its engine with the DOM's `Crypto`, which a Node-only build does not declare;
  // Node's webcrypto implements that interface.
  return new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as never });
}
