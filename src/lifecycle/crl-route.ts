/**
 * `GET /crl` on the operations port: the current CRL, DER (`application/pkix-crl`, RFC 5280
 * §4.2.1.13 and RFC 2585 §4.2) by default, PEM (`application/x-pem-file`) with `?format=pem` or
 * `Accept: application/x-pem-file`. 503 until the first CRL is signed.
 *
 * @module
 */
import type { OpsRequest, OpsResponse, OpsRoute } from '../server/index.js';
import type { PublishedCrl } from './crl-publisher.js';

/** The path of the CRL on the operations port. */
export const CRL_PATH = '/crl';

/** The `/crl` route over whatever holds the current CRL. */
export function crlRoute(source: { current(): PublishedCrl | undefined }): OpsRoute {
  return {
    path: CRL_PATH,
    handle: (request: OpsRequest): Promise<OpsResponse> => {
      const crl = source.current();
      if (crl === undefined) {
        return Promise.resolve({
          status: 503,
          headers: { 'content-type': 'text/plain', 'retry-after': '5' },
          body: 'no CRL has been signed yet\n',
        });
      }
      const format = request.query.get('format');
      if (format !== null && format !== 'pem' && format !== 'der') {
        return Promise.resolve({
          status: 400,
          headers: { 'content-type': 'text/plain' },
          body: 'format must be pem or der\n',
        });
      }
      const pem =
        format === 'pem' ||
        (format === null && (request.header('accept') ?? '').includes('application/x-pem-file'));
      const headers = {
        'cache-control': 'no-cache',
        'last-modified': crl.thisUpdate.toUTCString(),
      };
      return Promise.resolve(
        pem
          ? {
              status: 200,
              headers: { ...headers, 'content-type': 'application/x-pem-file' },
              body: crl.pem,
            }
          : {
              status: 200,
              headers: { ...headers, 'content-type': 'application/pkix-crl' },
              body: crl.der,
            },
      );
    },
  };
}
