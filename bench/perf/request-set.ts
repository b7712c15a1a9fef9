/**
 * Pre-built CreateCertificate requests for the load generator: for each proxy, the serialized
 * `IstioCertificateRequest` (protobuf bytes, built once, so the load generator spends no CPU on
 * encoding) and its bearer token. Written to one file the worker processes read.
 *
 * Two CSR shapes, as Istio's clients send them (ISTIO-CONTRACT.md §2.5, §3): istio-agent's
 * RSA-2048 with the subject `O=`, and ztunnel's ECDSA P-256 with an empty subject.
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { buildCsrPem, generateWorkloadKey } from '../../src/csr/index.js';
import { loadIstioCaProto } from '../../src/server/index.js';

/** The CSR shape of one request set. */
export type CsrShape = 'istio-agent-rsa' | 'ztunnel-ec';

/** One proxy's request. */
export interface ProxyRequest {
  readonly identity: { readonly namespace: string; readonly serviceAccount: string };
  readonly token: string;
  readonly body: Buffer;
}

/** Serializes an IstioCertificateRequest exactly as a client would send it. */
export function encodeRequest(csrPem: string, validitySeconds = 86_400): Buffer {
  const proto = loadIstioCaProto();
  const method = proto.istio.v1.auth.IstioCertificateService.service.CreateCertificate;
  return method.requestSerialize({
    csr: csrPem,
    validityDuration: validitySeconds,
    metadata: { fields: {} },
  });
}

/**
 * Builds requests for `identities` with one key per shape (the server cannot tell: each CSR
 * carries its own identity and signature), and a token for each from `tokenFor`.
 */
export async function buildRequests(
  identities: readonly { readonly namespace: string; readonly serviceAccount: string }[],
  shape: CsrShape,
  trustDomain: string,
  tokenFor: (index: number) => Promise<string>,
): Promise<ProxyRequest[]> {
  const key = await generateWorkloadKey(shape === 'istio-agent-rsa' ? 'rsa' : 'ec');
  const requests: ProxyRequest[] = [];
  for (const [index, identity] of identities.entries()) {
    const uri = `spiffe://${trustDomain}/ns/${identity.namespace}/sa/${identity.serviceAccount}`;
    const csrPem = await buildCsrPem(key.keys, {
      uris: [uri],
      shape: shape === 'istio-agent-rsa' ? 'istio-agent' : 'ztunnel',
    });
    requests.push({ identity, token: await tokenFor(index), body: encodeRequest(csrPem) });
  }
  return requests;
}

/** Writes requests as length-prefixed records: token, then body. */
export function writeRequests(path: string, requests: readonly ProxyRequest[]): void {
  const parts: Buffer[] = [];
  for (const request of requests) {
    const token = Buffer.from(request.token, 'utf8');
    const header = Buffer.alloc(8);
    header.writeUInt32BE(token.length, 0);
    header.writeUInt32BE(request.body.length, 4);
    parts.push(header, token, request.body);
  }
  writeFileSync(path, Buffer.concat(parts));
}

/** What the load generator reads back: tokens and bodies. */
export interface WireRequest {
  readonly token: string;
  readonly body: Buffer;
}

/** Reads a file written by {@link writeRequests}. */
export function readRequests(path: string): WireRequest[] {
  const data = readFileSync(path);
  const requests: WireRequest[] = [];
  let offset = 0;
  while (offset < data.length) {
    const tokenLength = data.readUInt32BE(offset);
    const bodyLength = data.readUInt32BE(offset + 4);
    offset += 8;
    const token = data.toString('utf8', offset, offset + tokenLength);
    offset += tokenLength;
    requests.push({ token, body: data.subarray(offset, offset + bodyLength) });
    offset += bodyLength;
  }
  return requests;
}
