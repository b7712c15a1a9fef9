/**
 * `liveWorkload: true`: just-in-time identities. The caller's token must be bound to a pod (a
 * projected token carries the pod's name and UID) that exists now, with that UID, runs as the
 * token's service account, and is neither terminating nor finished. A bound token keeps passing
 * TokenReview (and meshca's token cache) for a while after its pod is gone; this check is
 * meshca's own, from its pod cache, so a deleted pod's identity stops being renewed within
 * seconds.
 *
 * For ztunnel's impersonation the workload is the subject's: ztunnel's own pod must be live, and
 * a live pod of the subject's service account must run on ztunnel's node.
 *
 * Without a connection to the caller's cluster (development mode) the rule refuses, saying so:
 * a live-workload rule that passed silently would be a rule that does nothing.
 *
 * @module
 */
import type { Constraint, LiveWorkloadFact } from '../context.js';
import type { DecisionRequest } from '../decision.js';
import type { FactSource, PodFacts } from '../facts.js';

/** The `liveWorkload` constraint of a rule. */
export function liveWorkloadConstraint(): Constraint {
  return {
    kind: 'liveWorkload',
    needs: { liveWorkload: true },
    check({ liveWorkload }) {
      if (liveWorkload === undefined) return 'the workload was not checked';
      return liveWorkload.live ? undefined : liveWorkload.reason;
    },
  };
}

/**
 * Establishes whether the workload behind `request` is alive, with at most one pod lookup (two
 * for impersonation), each a cache lookup in the common case.
 *
 * @throws `UnavailableError` from the lookups when the answer cannot be known now.
 */
export async function checkLiveWorkload(
  request: DecisionRequest,
  facts: FactSource,
  signal: AbortSignal,
): Promise<LiveWorkloadFact> {
  const { caller } = request;
  const cluster = facts.cluster(caller.clusterId);
  const whose = request.impersonated ? "the node proxy's" : "the caller's";
  if (cluster === undefined) {
    return refused(
      `live workload cannot be checked: meshca has no connection to cluster ${caller.clusterId} (development mode)`,
    );
  }
  if (caller.podName === undefined || caller.podUid === undefined) {
    return refused(
      `${whose} token is not bound to a pod (a projected, pod-bound token is required)`,
    );
  }
  const pod = await cluster.pods.pod(caller.namespace, caller.podName, caller.podUid, signal);
  const problem = podProblem(pod, caller);
  if (problem !== undefined) return refused(`${whose} pod ${problem}`);
  if (!request.impersonated) return { live: true };

  const nodeName = pod?.nodeName ?? '';
  if (nodeName === '') return refused("the node proxy's pod is not scheduled on a node");
  const { namespace, serviceAccount } = request.subject;
  const pods = await cluster.pods.podsOnNode(namespace, serviceAccount, nodeName, signal);
  if (!pods.some((candidate) => isLive(candidate))) {
    return refused(`no live pod of ${namespace}/${serviceAccount} runs on the node proxy's node`);
  }
  return { live: true };
}

/** Why `pod` does not stand for the caller's live workload, or undefined when it does. */
function podProblem(
  pod: PodFacts | undefined,
  caller: DecisionRequest['caller'],
): string | undefined {
  if (pod === undefined) return 'is gone (deleted, or finished)';
  if (pod.uid !== caller.podUid) return "was replaced (its UID differs from the token's)";
  if (pod.serviceAccount !== caller.serviceAccount) return 'runs as another service account';
  if (pod.terminating) return 'is terminating';
  if (isFinished(pod)) return 'has finished';
  return undefined;
}

function isFinished(pod: PodFacts): boolean {
  return pod.phase === 'Succeeded' || pod.phase === 'Failed';
}

function isLive(pod: PodFacts): boolean {
  return !pod.terminating && !isFinished(pod);
}

function refused(reason: string): LiveWorkloadFact {
  return { live: false, reason };
}
