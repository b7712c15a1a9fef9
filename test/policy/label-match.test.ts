import { compileLabelSelector, type LabelSelectorSpec } from '../../src/policy/index.js';

describe('compileLabelSelector', () => {
  it.each<[string, LabelSelectorSpec, Record<string, string>, boolean]>([
    ['matchLabels: equal', { matchLabels: { team: 'a' } }, { team: 'a', x: 'y' }, true],
    ['matchLabels: other value', { matchLabels: { team: 'a' } }, { team: 'b' }, false],
    ['matchLabels: absent', { matchLabels: { team: 'a' } }, {}, false],
    [
      'matchLabels: all must hold',
      { matchLabels: { team: 'a', env: 'prod' } },
      { team: 'a' },
      false,
    ],
    [
      'In: listed',
      { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'stage'] }] },
      { env: 'stage' },
      true,
    ],
    [
      'In: absent',
      { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] },
      {},
      false,
    ],
    [
      'NotIn: other',
      { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] },
      { env: 'prod' },
      true,
    ],
    [
      'NotIn: absent holds',
      { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] },
      {},
      true,
    ],
    [
      'NotIn: listed',
      { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] },
      { env: 'dev' },
      false,
    ],
    ['Exists', { matchExpressions: [{ key: 'env', operator: 'Exists' }] }, { env: '' }, true],
    ['Exists: absent', { matchExpressions: [{ key: 'env', operator: 'Exists' }] }, {}, false],
    ['DoesNotExist', { matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, {}, true],
    [
      'DoesNotExist: present',
      { matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] },
      { env: 'x' },
      false,
    ],
    [
      'matchLabels and expressions together',
      {
        matchLabels: { team: 'a' },
        matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }],
      },
      { team: 'a', env: 'prod' },
      true,
    ],
    [
      'no prototype keys',
      { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] },
      {},
      false,
    ],
  ])('%s', (_name, selector, labels, expected) => {
    expect(compileLabelSelector(selector)(labels)).toBe(expected);
  });
});
