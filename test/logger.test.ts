import { Writable } from 'node:stream';
import { createLogger, redactNestedSecrets } from '../src/logger.js';

/** A logger writing into an array of parsed lines. */
function capture(): {
  readonly lines: Record<string, unknown>[];
  readonly logger: ReturnType<typeof createLogger>;
} {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

describe('createLogger redaction (a second line of defence)', () => {
  it('censors secret fields at the top level and one level down, and nothing else', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        token: 'eyJtoken',
        privateKey: 'PEM',
        headers: { authorization: 'Bearer eyJsecret', accept: 'json' },
        request: { key: 'k', password: 'p', identity: 'spiffe://a/ns/b/sa/c' },
        identity: 'spiffe://a/ns/b/sa/c',
        list: [{ token: 'kept: arrays are not walked' }],
      },
      'line',
    );
    const [line] = lines;
    expect(line).toMatchObject({
      token: '[redacted]',
      privateKey: '[redacted]',
      headers: { authorization: '[redacted]', accept: 'json' },
      request: { key: '[redacted]', password: '[redacted]', identity: 'spiffe://a/ns/b/sa/c' },
      identity: 'spiffe://a/ns/b/sa/c',
    });
    expect(JSON.stringify(line)).not.toMatch(/eyJ|Bearer|PEM/);
  });

  it('censors child bindings at the top level', () => {
    const { lines, logger } = capture();
    logger.child({ token: 'eyJbinding', requestId: 'r1' }).info('line');
    expect(lines[0]).toMatchObject({ token: '[redacted]', requestId: 'r1' });
  });

  it('leaves the logged object itself untouched', () => {
    const { logger } = capture();
    const fields = { headers: { authorization: 'Bearer x' } };
    logger.info(fields, 'line');
    expect(fields.headers.authorization).toBe('Bearer x');
  });

  it('keeps an Error an Error when it censors a field of it', () => {
    const error = Object.assign(new Error('boom'), { token: 'eyJerr' });
    const cleaned = redactNestedSecrets({ err: error })['err'] as Error & { token: string };
    expect(cleaned).toBeInstanceOf(Error);
    expect(cleaned.message).toBe('boom');
    expect(cleaned.token).toBe('[redacted]');
    expect(error.token).toBe('eyJerr');
  });

  it('returns the same object when there is nothing to censor (no copy on the hot path)', () => {
    const fields = { identity: 'spiffe://a/ns/b/sa/c', nested: { serial: '01' } };
    expect(redactNestedSecrets(fields)).toBe(fields);
  });
});
