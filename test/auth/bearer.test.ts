import { MAX_TOKEN_BYTES, extractBearerToken } from '../../src/auth/index.js';
import { UnauthenticatedError, type MeshCaErrorCode } from '../../src/errors.js';

/** Runs `fn` and returns what it threw, failing the test when it returns normally. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('extractBearerToken', () => {
  it.each<[string, readonly string[], string]>([
    ['a single Bearer value', ['Bearer abc.def.ghi'], 'abc.def.ghi'],
    ['the first of several Bearer values', ['Bearer first', 'Bearer second'], 'first'],
    ['a Bearer value after values of other schemes', ['Basic dXNlcg==', 'Bearer tok'], 'tok'],
    ['a Bearer value after a lower-case one', ['bearer ignored', 'Bearer used'], 'used'],
    [
      'a Bearer value after an Istio-scheme one (HTTP only in istiod)',
      ['Istio x', 'Bearer y'],
      'y',
    ],
    ['a token with a trailing newline (ztunnel reads the file untrimmed)', ['Bearer tok\n'], 'tok'],
    ['a token with surrounding whitespace', ['Bearer  \t tok \r\n'], 'tok'],
    [
      'a token of exactly the maximum size',
      [`Bearer ${'a'.repeat(MAX_TOKEN_BYTES)}`],
      'a'.repeat(MAX_TOKEN_BYTES),
    ],
  ])('returns %s', (_name, authorization, expected) => {
    expect(extractBearerToken(authorization)).toBe(expected);
  });

  it.each<[string, readonly string[], MeshCaErrorCode]>([
    ['no authorization values', [], 'ERR_AUTH_NO_TOKEN'],
    [
      'only a lower-case bearer prefix (the prefix is case-sensitive)',
      ['bearer tok'],
      'ERR_AUTH_NO_TOKEN',
    ],
    ['only an upper-case BEARER prefix', ['BEARER tok'], 'ERR_AUTH_NO_TOKEN'],
    ['the scheme without its space', ['Bearertok'], 'ERR_AUTH_NO_TOKEN'],
    ['only other schemes', ['Basic dXNlcg==', 'Istio tok'], 'ERR_AUTH_NO_TOKEN'],
    ['an empty token', ['Bearer '], 'ERR_AUTH_NO_TOKEN'],
    ['a token of whitespace only', ['Bearer  \n'], 'ERR_AUTH_NO_TOKEN'],
    // istiod takes the first Bearer value, empty or not: a later one does not rescue it.
    [
      'an empty first Bearer value followed by another',
      ['Bearer ', 'Bearer later'],
      'ERR_AUTH_NO_TOKEN',
    ],
    ['an oversized token', [`Bearer ${'a'.repeat(MAX_TOKEN_BYTES + 1)}`], 'ERR_AUTH_TOKEN_INVALID'],
    [
      'an oversized first token followed by a good one',
      [`Bearer ${'a'.repeat(MAX_TOKEN_BYTES + 1)}`, 'Bearer ok'],
      'ERR_AUTH_TOKEN_INVALID',
    ],
  ])('refuses %s', (_name, authorization, code) => {
    const error = thrown(() => extractBearerToken(authorization));
    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect(error).toMatchObject({ code, kind: 'unauthenticated' });
    // Clients are told nothing about why.
    expect((error as UnauthenticatedError).clientMessage).toBe('authentication failed');
  });

  it('never puts the token into the error message', () => {
    const secret = `S3cr3t${'x'.repeat(MAX_TOKEN_BYTES)}`;
    const error = thrown(() => extractBearerToken([`Bearer ${secret}`])) as Error;
    expect(error.message).not.toContain('S3cr3t');
  });
});
