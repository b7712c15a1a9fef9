/**
 * Which Secrets each kind of serving object names, table-driven over the shapes the three APIs
 * allow (Istio's credential URLs, Gateway API references to other kinds and namespaces).
 */
import { servedSecrets, type RawServing } from '../../src/kube/serving-references.js';

describe('servedSecrets', () => {
  const cases: [string, Parameters<typeof servedSecrets>[0], RawServing, string[]][] = [
    [
      'an Ingress with two TLS entries and one without a Secret',
      'ingresses',
      { spec: { tls: [{ secretName: 'a' }, {}, { secretName: 'b' }] } },
      ['spec.tls[0] ns/a', 'spec.tls[2] ns/b'],
    ],
    ['an Ingress without TLS', 'ingresses', { spec: {} }, []],
    [
      'an Istio Gateway: plain, kubernetes:// and kubernetes-gateway:// credentials',
      'istio-gateways',
      {
        spec: {
          servers: [
            { tls: { credentialName: 'plain' } },
            { tls: { credentialName: 'kubernetes://prefixed' } },
            { tls: { credentialName: 'kubernetes-gateway://other/there' } },
            { tls: {} },
            {},
          ],
        },
      },
      [
        'spec.servers[0].tls.credentialName ns/plain',
        'spec.servers[1].tls.credentialName ns/prefixed',
        'spec.servers[2].tls.credentialName other/there',
      ],
    ],
    [
      'an Istio Gateway with credentialNames',
      'istio-gateways',
      { spec: { servers: [{ tls: { credentialNames: ['rsa', 'ec'] } }] } },
      ['spec.servers[0].tls.credentialName ns/rsa', 'spec.servers[0].tls.credentialName ns/ec'],
    ],
    [
      'a Gateway API Gateway: core Secrets only, namespaces honoured',
      'gateway-api-gateways',
      {
        spec: {
          listeners: [
            {
              name: 'https',
              tls: {
                certificateRefs: [
                  { name: 'local' },
                  { kind: 'Secret', group: '', name: 'explicit', namespace: 'certs' },
                  { kind: 'ConfigMap', name: 'not-a-secret' },
                  { group: 'example.com', kind: 'Secret', name: 'foreign' },
                ],
              },
            },
            { tls: { certificateRefs: [{ name: 'unnamed-listener' }] } },
            { name: 'plain-http' },
          ],
        },
      },
      [
        'spec.listeners[https].tls.certificateRefs[0] ns/local',
        'spec.listeners[https].tls.certificateRefs[1] certs/explicit',
        'spec.listeners[1].tls.certificateRefs[0] ns/unnamed-listener',
      ],
    ],
  ];
  it.each(cases)('%s', (_name, source, raw, expected) => {
    expect(
      servedSecrets(source, raw, 'ns').map(
        (reference) =>
          `${reference.location} ${reference.secret.namespace}/${reference.secret.name}`,
      ),
    ).toEqual(expected);
  });
});
