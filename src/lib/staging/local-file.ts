// Local files as staging reads them: opened with O_NOFOLLOW and checked against what preflight saw (device,
// inode, size, mtime), so the bytes that reach the cluster come from the very file that was validated. A file
// replaced by a symlink, swapped for another file, grown, shrunk or touched since preflight stops the push,
// naming the file; nothing is read from whatever took its place.
import {closeSync, constants as fsc, fstatSync, openSync} from 'node:fs'
import {open, type FileHandle} from 'node:fs/promises'

import {CliError, ExitCode} from '../output/errors.js'

/** What preflight recorded about a file (dev/ino where it recorded them). */
export interface LocalIdentity {
  localPath: string
  size: number
  mtimeMs?: number
  dev?: number
  ino?: number
}

// O_NONBLOCK: a FIFO swapped in cannot hang the open (fstat then says it is not a regular file)
const OPEN_FLAGS = fsc.O_RDONLY | (fsc.O_NOFOLLOW ?? 0) | (fsc.O_NONBLOCK ?? 0)

export function fileChanged(e: {localPath: string}, why: string): CliError {
  return new CliError(`${e.localPath} changed after it was checked: ${why}`, {
    exitCode: ExitCode.STAGING,
    hint: 'leave the dataset unchanged while it is pushed and run the push again (nothing was submitted; files already verified in the cluster are not sent again)',
    reason: 'file_changed',
  })
}

type StatLike = {isFile(): boolean; size: number; mtimeMs: number; dev: number; ino: number}

/** Why the open file is not the one preflight saw, or undefined when it is. */
function difference(e: LocalIdentity, st: StatLike): string | undefined {
  if (!st.isFile()) return 'it is no longer a regular file'
  if (e.dev !== undefined && e.ino !== undefined && (st.dev !== e.dev || st.ino !== e.ino)) return 'it was replaced by another file'
  if (st.size !== e.size) return `its size went from ${e.size} to ${st.size} bytes`
  if (e.mtimeMs !== undefined && st.mtimeMs !== e.mtimeMs) return 'it was modified'
  return undefined
}

function openFailure(e: LocalIdentity, error: unknown): CliError {
  const code = (error as NodeJS.ErrnoException).code
  // ELOOP: O_NOFOLLOW met a symlink where the file was
  if (code === 'ELOOP') return fileChanged(e, 'it was replaced by a symbolic link')
  if (code === 'ENOENT') return fileChanged(e, 'it was removed')
  return new CliError(`cannot read ${e.localPath}: ${code ?? (error as Error).message}`, {exitCode: ExitCode.STAGING, reason: 'file_unreadable', hint: 'check the file is readable and run the push again'})
}

/** Open the file preflight saw (blocking: small files from the page cache); throws when it is not that file. */
export function openLocalSync(e: LocalIdentity): number {
  let fd: number
  try {
    fd = openSync(e.localPath, OPEN_FLAGS)
  } catch (error) {
    throw openFailure(e, error)
  }
  const why = difference(e, fstatSync(fd))
  if (why) {
    closeSync(fd)
    throw fileChanged(e, why)
  }
  return fd
}

export async function openLocal(e: LocalIdentity): Promise<FileHandle> {
  let fh: FileHandle
  try {
    fh = await open(e.localPath, OPEN_FLAGS)
  } catch (error) {
    throw openFailure(e, error)
  }
  const why = difference(e, await fh.stat())
  if (why) {
    await fh.close()
    throw fileChanged(e, why)
  }
  return fh
}

/**
 * After all `size` bytes were read: nothing lies beyond them and the file still has its size and mtime (a
 * file that grew or was written to while it was read is an error, never silently cut or mixed).
 */
export async function checkReadWhole(fh: FileHandle, e: LocalIdentity): Promise<void> {
  const {bytesRead} = await fh.read(Buffer.alloc(1), 0, 1, e.size)
  if (bytesRead > 0) throw fileChanged(e, `it grew beyond the ${e.size} bytes it had`)
  const why = difference(e, await fh.stat())
  if (why) throw fileChanged(e, why)
}
