/**
 * Policy files as the `meshca policy` commands read them.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { compilePolicy, parsePolicyDocument, type CompiledPolicy } from '../policy/index.js';

/**
 * Reads and compiles a policy file; messages name it `shownAs` (the path as the user gave it).
 *
 * @throws `PolicyParseError` for an invalid document; the file system's error otherwise.
 */
export async function loadPolicyFile(path: string, shownAs = path): Promise<CompiledPolicy> {
  return compilePolicy(parsePolicyDocument(await readFile(path), shownAs));
}
