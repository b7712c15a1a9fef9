/**
 * Settings of `meshca serve`, group "Serving": gRPC and HTTP listeners, the serving certificate, request limits.
 *
 * @module
 */
import type { OptionTable } from './option.js';

/** Keys, kinds, defaults and help; the order is the help order. */
export const SERVING_OPTIONS = {
  listen: {
    group: 'Serving',
    kind: 'string',
    default: '0.0.0.0:6443',
    help: 'gRPC listen address (host:port) of the certificate service.',
  },
  httpListen: {
    group: 'Serving',
    kind: 'string',
    default: '0.0.0.0:9402',
    help: 'Listen address of the operations port: /healthz, /readyz, /metrics, the inventory API, the console (/ui/) and the CRL.',
  },
  servingDns: {
    group: 'Serving',
    kind: 'list',
    default: ['meshca.meshca.svc', 'localhost'],
    help: "DNS names in meshca's serving certificate; must include the host of the proxies' CA address.",
  },
  servingIps: {
    group: 'Serving',
    kind: 'list',
    default: ['127.0.0.1'],
    help: 'IP addresses in the serving certificate.',
  },
  servingTtl: {
    group: 'Serving',
    kind: 'duration',
    default: '24h',
    help: 'Lifetime of the serving certificate; renewed at two thirds.',
  },
  requestTimeout: {
    group: 'Serving',
    kind: 'duration',
    default: '10s',
    help: 'Server-side deadline of one CreateCertificate call (Istio clients send none).',
  },
  maxInFlight: {
    group: 'Serving',
    kind: 'integer',
    default: 2000,
    help: 'Calls processed at once; beyond it callers get UNAVAILABLE and retry (bounds memory).',
  },
  csrVerifyThreads: {
    group: 'Serving',
    kind: 'integer',
    default: 1,
    help: "Worker threads that check CSR signatures (the key import and the proof of possession), off the event loop; one checks ~10,000 a second, more than one event loop serves; 0 checks them from the event loop on libuv's thread pool.",
  },
  rateLimitPerIdentity: {
    group: 'Serving',
    kind: 'integer',
    default: 20,
    help: 'CreateCertificate calls per second one SPIFFE identity may make, sustained (token bucket); beyond it UNAVAILABLE ERR_RATE_LIMITED, retried by the proxies; 0 disables.',
  },
  rateLimitPerIdentityBurst: {
    group: 'Serving',
    kind: 'integer',
    default: 400,
    help: 'Calls one identity may make at once after a pause (a rollout of that many replicas of one service account passes at once).',
  },
  rateLimitGlobal: {
    group: 'Serving',
    kind: 'integer',
    default: 0,
    help: 'CreateCertificate calls per second this replica takes from all identities together; 0 (the default) disables it: maxInFlight already bounds the work, at what the machine can do.',
  },
  rateLimitGlobalBurst: {
    group: 'Serving',
    kind: 'integer',
    default: 2000,
    help: 'Calls this replica takes at once after a pause, from all identities together.',
  },
  rateLimitIdentities: {
    group: 'Serving',
    kind: 'integer',
    default: 100000,
    help: 'Identities whose rate-limit buckets are remembered at most (least recently used forgotten first); bounds memory.',
  },
  shutdownGrace: {
    group: 'Serving',
    kind: 'duration',
    default: '10s',
    help: 'Time in-flight calls get to finish on shutdown.',
  },
} as const satisfies OptionTable;
