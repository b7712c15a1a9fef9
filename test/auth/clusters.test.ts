import { ClusterResolver, type ClusterEntry } from '../../src/auth/index.js';
import { UnauthenticatedError } from '../../src/errors.js';

const local: ClusterEntry<string> = { id: 'Kubernetes', aliases: ['kube-alias'], value: 'local' };
const east: ClusterEntry<string> = { id: 'east', aliases: ['east-alias', 'e'], value: 'east' };
const west: ClusterEntry<string> = { id: 'west', aliases: [], value: 'west' };

describe('ClusterResolver', () => {
  const resolver = new ClusterResolver(local, [east, west]);

  it('exposes the local cluster', () => {
    expect(resolver.local).toBe(local);
  });

  it.each<[string, readonly string[], string]>([
    ['no clusterid value', [], 'local'],
    ['an empty clusterid (istio-agent always sends the header)', [''], 'local'],
    ['the local cluster ID', ['Kubernetes'], 'local'],
    ['a local alias', ['kube-alias'], 'local'],
    ['a remote cluster ID', ['east'], 'east'],
    ['a remote alias', ['east-alias'], 'east'],
    ['another remote alias', ['e'], 'east'],
    ['a remote cluster without aliases', ['west'], 'west'],
    // istiod honours exactly one value; several count as none, i.e. the local cluster.
    ['several values, all remote', ['east', 'west'], 'local'],
    ['several values, even unknown ones', ['nowhere', 'elsewhere'], 'local'],
  ])('resolves %s', (_name, values, expected) => {
    expect(resolver.resolve(values).value).toBe(expected);
  });

  it.each<[string, string]>([
    ['an unknown name', 'nowhere'],
    ['a name differing only in case (matching is exact)', 'kubernetes'],
    ['a name with surrounding space', ' east'],
  ])('refuses %s with ERR_AUTH_UNKNOWN_CLUSTER', (_name, value) => {
    let error: unknown;
    try {
      resolver.resolve([value]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect(error).toMatchObject({ code: 'ERR_AUTH_UNKNOWN_CLUSTER' });
    // Like istiod's message, the log text names the claim and the local cluster.
    expect((error as Error).message).toContain(JSON.stringify(value));
    expect((error as Error).message).toContain('"Kubernetes"');
  });

  it('truncates an absurdly long claimed name in the message', () => {
    const claimed = 'x'.repeat(5000);
    expect(() => resolver.resolve([claimed])).toThrow(/"x{100}"/);
  });

  it('works without remote clusters', () => {
    const alone = new ClusterResolver(local);
    expect(alone.resolve(['kube-alias']).value).toBe('local');
    expect(() => alone.resolve(['east'])).toThrow(UnauthenticatedError);
  });

  it.each<[string, ClusterEntry<string>, readonly ClusterEntry<string>[]]>([
    ['a remote reusing the local ID', local, [{ id: 'Kubernetes', aliases: [], value: 'x' }]],
    [
      'a remote alias naming the local cluster',
      local,
      [{ id: 'r', aliases: ['kube-alias'], value: 'x' }],
    ],
    ['two remotes with one ID', local, [west, { id: 'west', aliases: [], value: 'x' }]],
    ['an alias naming another remote', local, [east, { id: 'r', aliases: ['east'], value: 'x' }]],
    ['an alias equal to its own ID', { id: 'self', aliases: ['self'], value: 'x' }, []],
  ])('refuses %s with a TypeError', (_name, localEntry, remotes) => {
    expect(() => new ClusterResolver(localEntry, remotes)).toThrow(TypeError);
  });
});
