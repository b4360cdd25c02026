/** removeFile (src/remove-file.ts): one unlink, content when the file is gone already. */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeFile } from '../../src/remove-file.js';
import { tempDirPerTest } from '../helpers/temp-dir.js';

const dir = tempDirPerTest('remove-file-');

describe('removeFile', () => {
  it('removes a file, and a second removal of it is no error', async () => {
    const path = join(dir(), 'a');
    await writeFile(path, 'x');
    await removeFile(path);
    expect(await readdir(dir())).toEqual([]);
    await expect(removeFile(path)).resolves.toBeUndefined();
  });

  it('refuses a directory, as rm without `recursive` does, and leaves it', async () => {
    const sub = join(dir(), 'sub');
    await mkdir(sub);
    await expect(removeFile(sub)).rejects.toMatchObject({ code: expect.stringMatching(/^(EISDIR|EPERM)$/) });
    expect(await readdir(dir())).toEqual(['sub']);
  });
});
