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
    help: 'Listen address of /healthz, /readyz and /metrics.',
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
  shutdownGrace: {
    group: 'Serving',
    kind: 'duration',
    default: '10s',
    help: 'Time in-flight calls get to finish on shutdown.',
  },
} as const satisfies OptionTable;
