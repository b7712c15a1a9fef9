import {
  OPTIONS,
  envName,
  flagName,
  parseDurationMs,
  serveFlagSpec,
} from '../../src/config/index.js';

describe('flagName and envName', () => {
  it.each<[string, string, string]>([
    ['listen', 'listen', 'MESHCA_LISTEN'],
    ['maxTtl', 'max-ttl', 'MESHCA_MAX_TTL'],
    ['devPki', 'dev-pki', 'MESHCA_DEV_PKI'],
    ['servingIps', 'serving-ips', 'MESHCA_SERVING_IPS'],
    ['tokenCacheNegativeTtl', 'token-cache-negative-ttl', 'MESHCA_TOKEN_CACHE_NEGATIVE_TTL'],
  ])('%s is --%s and %s', (key, flag, env) => {
    expect(flagName(key)).toBe(flag);
    expect(envName(key)).toBe(env);
  });
});

describe('OPTIONS', () => {
  const keys = OPTIONS.map((option) => option.key);

  it('declares every key, flag and variable once', () => {
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(keys.map(flagName)).size).toBe(keys.length);
    expect(new Set(keys.map(envName)).size).toBe(keys.length);
    // Keys are camelCase so that the three spellings are derived mechanically.
    for (const key of keys) expect(key).toMatch(/^[a-z][a-zA-Z]*$/);
  });

  it('has defaults in the notation of their kind', () => {
    for (const option of OPTIONS) {
      const value = option.default;
      switch (option.kind) {
        case 'duration':
          expect(typeof value).toBe('string');
          expect(parseDurationMs(value as string)).toBeGreaterThan(0);
          break;
        case 'integer':
          expect(Number.isInteger(value)).toBe(true);
          break;
        case 'boolean':
          expect(typeof value).toBe('boolean');
          break;
        case 'list':
          expect(Array.isArray(value)).toBe(true);
          break;
        case 'string':
          expect(typeof value).toBe('string');
          break;
      }
    }
  });

  it('documents every setting', () => {
    for (const option of OPTIONS) expect(option.help.length).toBeGreaterThan(10);
  });
});

describe('serveFlagSpec', () => {
  const spec = serveFlagSpec();

  it('has a flag per setting, repeatable for lists, with --no- for booleans', () => {
    for (const option of OPTIONS) {
      const name = flagName(option.key);
      if (option.kind === 'boolean') {
        expect(spec[name]).toEqual({ type: 'boolean' });
        expect(spec[`no-${name}`]).toEqual({ type: 'boolean' });
      } else {
        expect(spec[name]).toEqual({ type: 'string', multiple: option.kind === 'list' });
      }
    }
  });

  it('adds --config and --help', () => {
    expect(spec['config']).toEqual({ type: 'string' });
    expect(spec['help']).toEqual({ type: 'boolean', short: 'h' });
  });
});
