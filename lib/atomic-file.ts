// Durable, atomic file replacement: write a temporary file in the same folder, fsync it, rename it
// over the target, fsync the folder. A crash at any moment leaves the old file or the new one.
// A link is followed to the file it names, which is replaced; a pipe or a device (a FIFO,
// /dev/stdout) cannot be replaced and is written as it is.
import { randomBytes } from 'node:crypto';
import { open, realpath, rename, stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';

export async function writeFileAtomic(target: string, bytes: Uint8Array): Promise<void> {
  // "name/" names a folder; resolving the path would drop the slash and write a file "name".
  if (/[\\/]$/.test(target)) {
    throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${target}'`), { code: 'EISDIR', syscall: 'open', path: target });
  }
  const { file: full, replaceable } = await destination(path.resolve(target));
  if (!replaceable) {
    const stream = await open(full, 'w');
    try {
      await stream.writeFile(bytes);
    } finally {
      await stream.close();
    }
    return;
  }
  const dir = path.dirname(full);
  const temp = path.join(dir, `.${path.basename(full)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temp, 'wx', 0o644);
  try {
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, full);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncFolder(dir);
}

/** The file a write to `full` lands in, and whether it can be replaced (a file, a folder, a new name). */
async function destination(full: string): Promise<{ file: string; replaceable: boolean }> {
  let real: string;
  try {
    real = await realpath(full);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { file: full, replaceable: true };
    throw error;
  }
  const stats = await stat(real);
  return { file: real, replaceable: stats.isFile() || stats.isDirectory() };
}

async function syncFolder(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    // Some platforms and file systems cannot fsync a folder; the rename is still atomic there.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}
