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
  return new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as pkijs.CryptoEngineParameters['crypto'] });
}
