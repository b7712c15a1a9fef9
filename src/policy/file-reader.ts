/**
 * A policy document in a file, typically a mounted ConfigMap, with its detached signature next
 * to it (`<file>.jws` unless told otherwise).
 *
 * The kubelet updates a mounted ConfigMap by writing a new directory and swapping the `..data`
 * symlink, so the document and its signature change together. A read that straddles the swap
 * could pair the old document with the new signature (a false "bad signature"): the resolved
 * path is taken before and after reading both files, and the read is retried when it moved.
 *
 * @module
 */
import { readFile, realpath } from 'node:fs/promises';
import type { PolicyBytes, PolicyDocumentReader } from './source.js';

/** Options of {@link FilePolicyReader}. */
export interface FilePolicyReaderOptions {
  /** The detached signature; default `<path>.jws`. */
  readonly signaturePath?: string;
}

const MAX_ATTEMPTS = 3;

/** Reads a policy (and its signature) from files. */
export class FilePolicyReader implements PolicyDocumentReader {
  readonly description: string;
  readonly #path: string;
  readonly #signaturePath: string;

  constructor(path: string, options: FilePolicyReaderOptions = {}) {
    this.#path = path;
    this.#signaturePath = options.signaturePath ?? `${path}.jws`;
    this.description = path;
  }

  /** @throws the file system's error for anything but a missing file. */
  async read(): Promise<PolicyBytes | undefined> {
    for (let attempt = 1; ; attempt++) {
      const before = await resolved(this.#path);
      const document = await readOptional(this.#path);
      const signature = await readOptional(this.#signaturePath);
      const after = await resolved(this.#path);
      if (before !== after && attempt < MAX_ATTEMPTS) continue;
      if (document === undefined) return undefined;
      return {
        document,
        signature: signature?.toString('utf8'),
        origin: this.#path,
        signatureOrigin: this.#signaturePath,
      };
    }
  }
}

async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function resolved(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch {
    return undefined;
  }
}
