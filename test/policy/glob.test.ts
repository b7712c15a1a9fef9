import { GlobList } from '../../src/policy/glob.js';

describe('GlobList', () => {
  it.each<[string[], string, boolean]>([
    [['shop'], 'shop', true],
    [['shop'], 'shops', false],
    [['team-*'], 'team-a', true],
    [['team-*'], 'team-', true],
    [['team-*'], 'xteam-a', false],
    [['web-?'], 'web-1', true],
    [['web-?'], 'web-12', false],
    [['*'], 'anything', true],
    [['shop/*'], 'shop/web', true],
    [['shop/*'], 'bank/web', false],
    [['*/default'], 'shop/default', true],
    [['*'], 'shop/web', false],
    [['s*b'], 'shop/web', false],
    [['a.b'], 'axb', false],
    [['shop', 'bank'], 'bank', true],
  ])('%j matches %s: %s', (patterns, value, matches) => {
    expect(new GlobList(patterns).matches(value)).toBe(matches);
  });

  it.each<[string[], boolean]>([
    [['*'], true],
    [['*/*'], true],
    [['**'], true],
    [['shop/*'], false],
    [['a', '*'], true],
  ])('%j matches everything: %s', (patterns, expected) => {
    expect(new GlobList(patterns).matchesEverything).toBe(expected);
  });

  it.each<[string[], string[], boolean]>([
    [['*'], ['shop', 'team-*'], true],
    [['team-*'], ['team-a', 'team-b'], true],
    [['team-*'], ['team-a', 'bank'], false],
    [['shop/*'], ['shop/web-*'], true],
    [['shop/*'], ['*/web'], false],
    [['team-*'], ['team-a-*'], false],
    [['shop/web'], ['shop/web'], true],
  ])('%j covers %j: %s', (outer, inner, expected) => {
    expect(new GlobList(outer).covers(new GlobList(inner))).toBe(expected);
  });

  it.each<[string[], string[], boolean]>([
    [['shop'], ['bank'], false],
    [['shop'], ['sh*'], true],
    [['team-*'], ['prod-*'], true],
    [['kube-system/*'], ['shop/*'], false],
    [['kube-system/*'], ['kube-*/web'], true],
    [['a/b'], ['a/b/c'], false],
  ])('%j overlaps %j: %s', (a, b, expected) => {
    expect(new GlobList(a).overlaps(new GlobList(b))).toBe(expected);
  });
});
