import {
  InvalidRequestError,
  MAX_CLIENT_MESSAGE_BYTES,
  MAX_QUOTED_INPUT_CHARS,
  boundClientMessage,
  quoteInput,
} from '../src/errors.js';

describe('quoteInput', () => {
  it.each([
    ['a short value as is', '1.2.840.10045.4.3.2', undefined, '1.2.840.10045.4.3.2'],
    ['a value of exactly the limit as is', 'x'.repeat(48), undefined, 'x'.repeat(48)],
    ['a longer value cut, marked with …', 'x'.repeat(49), undefined, `${'x'.repeat(48)}…`],
    ['with a caller-chosen limit', 'abcdef', 3, 'abc…'],
    ['control characters replaced', 'a\nb\u0000c\u009b', undefined, 'a\uFFFDb\uFFFDc\uFFFD'],
    ['code points, never half a surrogate pair', '😀'.repeat(5), 3, '😀😀😀…'],
    ['the empty string', '', undefined, ''],
  ] as const)('quotes %s', (_name, input, max, expected) => {
    expect(quoteInput(input, max)).toBe(expected);
  });

  it('quotes a value of 20,000 arcs as 48 characters and the mark', () => {
    const quoted = quoteInput('1.'.repeat(20_000));
    expect(quoted).toBe(`${'1.'.repeat(MAX_QUOTED_INPUT_CHARS / 2)}…`);
  });
});

describe('boundClientMessage', () => {
  it.each([
    ['ASCII', 'x'],
    ['multi-byte UTF-8', 'é'],
    ['4-byte UTF-8', '😀'],
  ])('keeps %s messages within the bound', (_name, unit) => {
    const bounded = boundClientMessage(unit.repeat(2000));
    expect(Buffer.byteLength(bounded, 'utf8')).toBeLessThanOrEqual(MAX_CLIENT_MESSAGE_BYTES);
    expect(bounded.endsWith('...')).toBe(true);
    expect(bounded).not.toContain('\uFFFD');
  });

  it('is applied to every client message', () => {
    const error = new InvalidRequestError('ERR_CSR_PEM', 'y'.repeat(10_000));
    expect(Buffer.byteLength(error.clientMessage)).toBeLessThanOrEqual(MAX_CLIENT_MESSAGE_BYTES);
  });
});
