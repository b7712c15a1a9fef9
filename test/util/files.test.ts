import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomically } from '../../src/util/index.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

/**
 * The permission bits a file created directly with `mode` gets here (the process umask applies to
 * both), read from a reference file instead of the umask, which cannot be read safely.
 */
async function expectedMode(mode: number): Promise<number> {
  const reference = join(tempDir(), 'reference');
  await writeFile(reference, '', { mode });
  return (await stat(reference)).mode & 0o777;
}

describe('writeFileAtomically', () => {
  it('writes a new file, leaving no temporary file behind', async () => {
    const dir = tempDir();
    const path = join(dir, 'state.json');
    await writeFileAtomically(path, '{"v":1}\n');
    expect(await readFile(path, 'utf8')).toBe('{"v":1}\n');
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('replaces an existing file with a new one (a new inode: readers never see a mix)', async () => {
    const dir = tempDir();
    const path = join(dir, 'state.json');
    await writeFile(path, 'old content that is longer than the new one');
    const before = await stat(path);
    await writeFileAtomically(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
    expect((await stat(path)).ino).not.toBe(before.ino);
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it.each<[string, number | undefined, number]>([
    ['0644 by default', undefined, 0o644],
    ['0600 for secrets', 0o600, 0o600],
    ['0640 when asked', 0o640, 0o640],
  ])('creates the file with mode %s', async (_name, mode, expected) => {
    const path = join(tempDir(), 'file');
    await (mode === undefined
      ? writeFileAtomically(path, 'x')
      : writeFileAtomically(path, 'x', mode));
    expect((await stat(path)).mode & 0o777).toBe(await expectedMode(expected));
  });

  it('gives a replaced file the new mode, not the old one', async () => {
    const path = join(tempDir(), 'key.pem');
    await writeFile(path, 'old', { mode: 0o644 });
    await writeFileAtomically(path, 'secret', 0o600);
    expect((await stat(path)).mode & 0o777).toBe(await expectedMode(0o600));
  });

  it('fails when the directory does not exist', async () => {
    await expect(
      writeFileAtomically(join(tempDir(), 'missing', 'file'), 'x'),
    ).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
