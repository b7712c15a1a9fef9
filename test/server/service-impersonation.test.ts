/**
 * CertificateService for a node proxy (ztunnel) asking for another identity: the identity it
 * settles on, what the decider is told, and the subject pod the event names.
 */
import { FakePodDirectory } from '../fakes/index.js';
import { CREDENTIALS, IMPERSONATED, ZTUNNEL, request, setup } from './service-setup.js';

describe('CertificateService', () => {
  describe('impersonation', () => {
    const nodePods = (candidates: number): FakePodDirectory =>
      new FakePodDirectory([
        {
          clusterId: 'Kubernetes',
          namespace: 'istio-system',
          name: 'ztunnel-abc',
          uid: 'uid-ztunnel',
          serviceAccount: 'ztunnel',
          nodeName: 'node-a',
        },
        ...Array.from({ length: candidates }, (_, i) => ({
          clusterId: 'Kubernetes',
          namespace: 'shop',
          name: `cart-${i}`,
          uid: `uid-cart-${i}`,
          serviceAccount: 'cart',
          nodeName: 'node-a',
        })),
      ]);

    it.each([
      [
        'names the subject pod when exactly one is on the node',
        1,
        { name: 'cart-0', uid: 'uid-cart-0', nodeName: 'node-a' },
      ],
      ['leaves the subject pod out when several are on the node', 2, undefined],
      ['leaves the subject pod out when none is known', 0, undefined],
    ])('issues for the impersonated identity and %s', async (_name, candidates, subjectPod) => {
      const { service, authenticator, impersonation, csrValidator, decider, recorder } = setup({
        pods: nodePods(candidates),
      });
      authenticator.caller = ZTUNNEL;
      await service.createCertificate(
        request({ impersonatedIdentity: IMPERSONATED }),
        CREDENTIALS,
        new AbortController().signal,
      );
      expect(impersonation?.calls).toEqual([
        { caller: ZTUNNEL, requested: expect.objectContaining({ uri: IMPERSONATED }) as unknown },
      ]);
      expect(csrValidator.calls[0]?.identity.uri).toBe(IMPERSONATED);
      expect(decider.calls[0]).toMatchObject({
        impersonated: true,
        subject: { uri: IMPERSONATED },
      });
      const event = recorder.only();
      expect(event.caller).toMatchObject({
        identity: { uri: ZTUNNEL.identity.uri },
        podName: 'ztunnel-abc',
        nodeName: 'node-a',
      });
      expect(event.subject).toEqual({
        uri: IMPERSONATED,
        trustDomain: 'cluster.local',
        namespace: 'shop',
        serviceAccount: 'cart',
      });
      expect(event.subjectPod).toEqual(subjectPod);
    });
  });
});
