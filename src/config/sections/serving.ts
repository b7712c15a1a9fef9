/**
 * Validation of the "Serving" settings: listeners, the serving certificate, request limits.
 *
 * @module
 */
import { isIP } from 'node:net';
import type { Config } from '../types.js';
import { DNS_NAME, wholeSeconds, type SectionContext } from './context.js';

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]*):(\d{1,5})$/;

/** The listeners and the serving certificate. */
export function servingSection(
  context: SectionContext,
  backdateSeconds: number,
): Pick<Config, 'grpc' | 'http' | 'serving' | 'rateLimits' | 'csrVerification'> {
  const { settings: s, problem } = context;
  for (const key of ['listen', 'httpListen'] as const) {
    const match = HOST_PORT.exec(s[key]);
    if (!match || Number(match[2]) > 65535) problem(key, `"${s[key]}" is not host:port`);
  }
  for (const name of s.servingDns) {
    if (!DNS_NAME.test(name)) problem('servingDns', `"${name}" is not a DNS name`);
  }
  for (const ip of s.servingIps) {
    if (isIP(ip) === 0 || (ip.includes('.') && ip.includes(':')))
      problem('servingIps', `"${ip}" is not an IP address`);
  }
  if (s.servingDns.length + s.servingIps.length === 0) {
    problem('servingDns', 'the serving certificate needs at least one DNS name or IP address');
  }
  const servingTtlSeconds = wholeSeconds(context, 'servingTtl');
  if (servingTtlSeconds < 300) problem('servingTtl', 'must be at least 5m');
  if (s.requestTimeout < 100) problem('requestTimeout', 'must be at least 100ms');
  if (s.maxInFlight < 1) problem('maxInFlight', 'must be at least 1');
  if (s.csrVerifyThreads > 64) problem('csrVerifyThreads', 'must be at most 64');
  if (s.rateLimitPerIdentity > 0 && s.rateLimitPerIdentityBurst < 1) {
    problem('rateLimitPerIdentityBurst', 'must be at least 1 while rateLimitPerIdentity is on');
  }
  if (s.rateLimitPerIdentity > 0 && s.rateLimitIdentities < 1) {
    problem('rateLimitIdentities', 'must be at least 1 while rateLimitPerIdentity is on');
  }
  if (s.rateLimitGlobal > 0 && s.rateLimitGlobalBurst < 1) {
    problem('rateLimitGlobalBurst', 'must be at least 1 while rateLimitGlobal is on');
  }
  return {
    grpc: {
      listen: s.listen,
      requestTimeoutMs: s.requestTimeout,
      maxInFlight: s.maxInFlight,
      shutdownGraceMs: s.shutdownGrace,
    },
    http: { listen: s.httpListen },
    csrVerification: { threads: s.csrVerifyThreads },
    rateLimits: {
      perIdentityPerSecond: s.rateLimitPerIdentity,
      perIdentityBurst: s.rateLimitPerIdentityBurst,
      globalPerSecond: s.rateLimitGlobal,
      globalBurst: s.rateLimitGlobalBurst,
      maxIdentities: s.rateLimitIdentities,
    },
    serving: {
      dnsNames: s.servingDns,
      ipAddresses: s.servingIps,
      ttlSeconds: servingTtlSeconds,
      backdateSeconds,
    },
  };
}
