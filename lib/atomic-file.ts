// Durable, atomic file replacement: write a temporary file in the same folder, fsync it, rename it
// over the target, fsync the folder. A crash at any moment leaves the old file or the new one.
// A link is followed to the file it names, which is replaced. What cannot be replaced is written as
// it is, without those guarantees: a pipe or a device (a FIFO), and an open file reached through a
// descriptor's link (/dev/stdout, /dev/fd/N), which a shell may be appending to.
import { randomBytes } from 'node:crypto';
import { lstat, open, readlink, realpath, rename, stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';

export async function writeFileAtomic(target: string, bytes: Uint8Array): Promise<void> {
  // "name/" names a folder; resolving the path would drop the slash and write a file "name".
  if (/[\\/]$/.test(target)) {
    throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${target}'`), { code: 'EISDIR', syscall: 'open', path: target });
  }
  const { file: full, replaceable } = await destination(path.resolve(target));
  if (!replaceable) {
    // Appending: reopening a descriptor's file for writing would truncate what was written through it.
    const stream = await open(full, 'a');
    try {
      await stream.writeFile(bytes);
    } catch (error) {
      throw withFileNamed(error, full);
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
    throw withFileNamed(error, full);
  }
  await syncFolder(dir);
}

/** An error of a write through a handle (a full disk) names no file; the caller needs to know which failed. */
function withFileNamed(error: unknown, file: string): unknown {
  const failure = error as NodeJS.ErrnoException | null;
  if (typeof failure === 'object' && failure !== null && failure.syscall !== undefined && failure.path === undefined) failure.path = file;
  return error;
}

/** The file a write to `full` lands in, and whether it can be replaced (a file, a folder, a new name). */
async function destination(full: string): Promise<{ file: string; replaceable: boolean }> {
  let stats;
  try {
    stats = await stat(full);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { file: await danglingTarget(full), replaceable: true };
    throw error;
  }
  if ((!stats.isFile() && !stats.isDirectory()) || (await throughDescriptor(full))) return { file: full, replaceable: false };
  return { file: await realpath(full), replaceable: true };
}

/** The file a path that does not exist yet names: itself, or where its links end (a link to a file not yet made). */
async function danglingTarget(full: string): Promise<string> {
  let hop = full;
  for (let hops = 0; hops < 40; hops++) {
    const stats = await lstat(hop).catch(() => undefined);
    if (!stats?.isSymbolicLink()) return hop;
    hop = await linkTarget(hop);
  }
  return hop;
}

/** Where the link `link` points, as the system resolves it: from its folder's real path, which `..` climbs out of. */
async function linkTarget(link: string): Promise<string> {
  return path.resolve(await realpath(path.dirname(link)), await readlink(link));
}

/** Whether `full`, or a link on the way from it, is a process's descriptor link (/proc/PID/fd/N). */
async function throughDescriptor(full: string): Promise<boolean> {
  let hop = full;
  for (let hops = 0; hops < 40; hops++) {
    const folder = await realpath(path.dirname(hop)).catch(() => '');
    if (/^\/proc\/[^/]+\/fd$/.test(folder)) return true;
    if (!(await lstat(hop)).isSymbolicLink()) return false;
    hop = await linkTarget(hop);
  }
  return false;
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
