import { chmod, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  KeyFilePermissionError,
  keyFileModeProblem,
  readPrivateKeyFile,
  writeFileAtomically,
} from '../../src/util/index.js';
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

describe('readPrivateKeyFile', () => {
  /** A key file with exactly `mode` (chmod, so the umask does not apply). */
  async function keyFile(mode: number): Promise<string> {
    const path = join(tempDir(), 'ca-key.pem');
    await writeFile(path, 'KEY');
    await chmod(path, mode);
    return path;
  }

  it.each([0o600, 0o400, 0o640, 0o440, 0o700])('reads a key file of mode %o', async (mode) => {
    expect(await readPrivateKeyFile(await keyFile(mode))).toBe('KEY');
  });

  it.each<[number, string]>([
    [0o644, 'other users'],
    [0o604, 'other users'],
    [0o666, 'other users'],
    [0o601, 'other users'],
    [0o660, 'its group'],
    [0o620, 'its group'],
    [0o650, 'its group'],
  ])('refuses a key file of mode %o (%s), naming the file and the fix', async (mode, who) => {
    const path = await keyFile(mode);
    const refusal = readPrivateKeyFile(path);
    await expect(refusal).rejects.toThrow(KeyFilePermissionError);
    await expect(refusal).rejects.toThrow(
      `private key file ${path} has mode 0${mode.toString(8)}: ${who} may read or change it; ` +
        `run "chmod 600 ${path}"`,
    );
  });

  it.each<[string, number, boolean]>([
    ["Kubernetes' default Secret mode (0644)", 0o644, false],
    ['defaultMode 0400 with an fsGroup (0440)', 0o440, true],
  ])('follows the symlinks of a mounted Secret: %s', async (_name, mode, accepted) => {
    // The kubelet's layout: ca-key.pem -> ..data/ca-key.pem, ..data -> ..2024_01_01...
    const volume = tempDir();
    const version = join(volume, '..2024_01_01_00_00_00.000000000');
    await mkdir(version);
    await writeFile(join(version, 'ca-key.pem'), 'KEY');
    await chmod(join(version, 'ca-key.pem'), mode);
    await symlink('..2024_01_01_00_00_00.000000000', join(volume, '..data'));
    await symlink('..data/ca-key.pem', join(volume, 'ca-key.pem'));
    const read = readPrivateKeyFile(join(volume, 'ca-key.pem'));
    if (accepted) await expect(read).resolves.toBe('KEY');
    else await expect(read).rejects.toThrow(KeyFilePermissionError);
  });

  it('passes the file system error through for a missing file', async () => {
    await expect(readPrivateKeyFile(join(tempDir(), 'absent.pem'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('ignores the file type bits of the mode', () => {
    expect(keyFileModeProblem('k', 0o100600)).toBeUndefined();
    expect(keyFileModeProblem('k', 0o100644)).toMatch(/mode 0644/);
  });
});
