// Image dimensions from the file header only (JPEG SOF marker, PNG IHDR): one open and one small
// read per file, never a full decode, so checking 100 000 images costs about as much as listing them.
import {closeSync, constants as fsc, fstatSync, open as fsOpen, openSync, read as fsRead, readSync} from 'node:fs'

export type ImageProbe =
  | {ok: true; width: number; height: number; format: 'jpeg' | 'png'}
  | {ok: false; reason: 'empty' | 'invalid' | 'unreadable'; detail: string}

const HEAD = 4096
const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

/** A file opened once: its size and mtime (from fstat on the open descriptor) and its header probe. */
export interface OpenedImage {
  size: number
  mtimeMs: number
  dev?: number
  ino?: number
  probe: ImageProbe
}

// O_NOFOLLOW: a symlink swapped in after the directory listing fails with ELOOP instead of being
// followed out of the dataset; O_NONBLOCK: a FIFO can't hang the open.
const OPEN_FLAGS = fsc.O_RDONLY | (fsc.O_NOFOLLOW ?? 0) | (fsc.O_NONBLOCK ?? 0)

const openFd = (file: string): Promise<number> => new Promise((resolve, reject) => fsOpen(file, OPEN_FLAGS, (err, fd) => (err ? reject(err) : resolve(fd))))
const readFd = (fd: number, buf: Buffer, n: number, pos: number): Promise<number> =>
  new Promise((resolve, reject) => fsRead(fd, buf, 0, n, pos, (err, bytes) => (err ? reject(err) : resolve(bytes))))

/** Head buffers are recycled: one per probe in flight, not one per file. */
const spare: Buffer[] = []

/**
 * Open `file` once and take everything preflight needs from the descriptor: size and mtime (fstat,
 * which never waits on the disk once the file is open) and the header (one read of up to 4 KiB).
 * Two thread-pool round trips per file (open, read) instead of lstat + open + read + close.
 * Throws only for ELOOP (a symlink): other failures are reported in the probe.
 */
export async function openImage(file: string): Promise<OpenedImage> {
  let fd: number
  try {
    fd = await openFd(file)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable'
    if (code === 'ELOOP') throw err
    return {size: 0, mtimeMs: 0, probe: {ok: false, reason: 'unreadable', detail: code}}
  }
  const head = spare.pop() ?? Buffer.allocUnsafe(HEAD)
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) return {size: st.size, mtimeMs: st.mtimeMs, probe: bad('not a regular file')}
    if (st.size === 0) return {size: 0, mtimeMs: st.mtimeMs, probe: {ok: false, reason: 'empty', detail: 'empty file, 0 bytes'}}
    const n = await readFd(fd, head, Math.min(HEAD, st.size), 0)
    const probe = parseHeader(head.subarray(0, n), st.size, fd)
    return {size: st.size, mtimeMs: st.mtimeMs, dev: st.dev, ino: st.ino, probe}
  } catch (err) {
    return {size: 0, mtimeMs: 0, probe: {ok: false, reason: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? String(err)}}
  } finally {
    spare.push(head)
    closeSync(fd)
  }
}

/**
 * `openImage` with blocking calls: on files the OS has cached, four syscalls on the main thread beat
 * four thread-pool round trips several times over (100 000 images: ~1 s against ~4 s). Callers run
 * it in small batches and fall back to `openImage` when the disk turns out to be slow.
 */
export function openImageSync(file: string): OpenedImage {
  let fd: number
  try {
    fd = openSync(file, OPEN_FLAGS)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable'
    if (code === 'ELOOP') throw err
    return {size: 0, mtimeMs: 0, probe: {ok: false, reason: 'unreadable', detail: code}}
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) return {size: st.size, mtimeMs: st.mtimeMs, probe: bad('not a regular file')}
    if (st.size === 0) return {size: 0, mtimeMs: st.mtimeMs, probe: {ok: false, reason: 'empty', detail: 'empty file, 0 bytes'}}
    const n = readSync(fd, syncHead, 0, Math.min(HEAD, st.size), 0)
    return {size: st.size, mtimeMs: st.mtimeMs, dev: st.dev, ino: st.ino, probe: parseHeader(syncHead.subarray(0, n), st.size, fd)}
  } catch (err) {
    return {size: 0, mtimeMs: 0, probe: {ok: false, reason: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? String(err)}}
  } finally {
    closeSync(fd)
  }
}

const syncHead = Buffer.allocUnsafe(HEAD)

/** Dimensions of one image from its header (the file is opened once; symlinks are not followed). */
export async function probeImage(file: string): Promise<ImageProbe> {
  try {
    return (await openImage(file)).probe
  } catch (err) {
    return {ok: false, reason: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? 'unreadable'}
  }
}

/** Parse a PNG IHDR or walk JPEG segments to the start-of-frame (bytes past the head: a small read on fd). */
function parseHeader(b: Buffer, total: number, fd: number): ImageProbe {
  if (b.length >= 24 && PNG_SIG.every((v, i) => b[i] === v)) {
    if (b.toString('latin1', 12, 16) !== 'IHDR') return bad('PNG without an IHDR chunk')
    const width = b.readUInt32BE(16)
    const height = b.readUInt32BE(20)
    if (width === 0 || height === 0) return bad('PNG with a zero dimension')
    return {ok: true, width, height, format: 'png'}
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    // Walk the marker segments until a start-of-frame; EXIF/ICC segments can be large, so
    // segments beyond the first read are fetched by position.
    const small = Buffer.allocUnsafe(9)
    const at = (p: number, n: number): Buffer | null => {
      if (p + n <= b.length) return b.subarray(p, p + n)
      if (p + n > total) return null
      return readSync(fd, small, 0, n, p) === n ? small.subarray(0, n) : null
    }
    let p = 2
    for (let guard = 0; guard < 10_000; guard++) {
      const m = at(p, 2)
      if (!m) return bad('JPEG ends before its frame header')
      if (m[0] !== 0xff) return bad('JPEG marker structure is broken')
      const marker = m[1]!
      if (marker === 0xff) { p += 1; continue } // fill byte
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { p += 2; continue }
      if (marker === 0xd9 || marker === 0xda) return bad('JPEG has no frame header before the image data')
      const seg = at(p + 2, 2)
      if (!seg) return bad('JPEG ends inside a segment header')
      const len = seg.readUInt16BE(0)
      if (len < 2) return bad('JPEG segment length is invalid')
      const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
      if (isSof) {
        const sof = at(p + 4, 5)
        if (!sof) return bad('JPEG frame header is truncated')
        const height = sof.readUInt16BE(1)
        const width = sof.readUInt16BE(3)
        if (width === 0 || height === 0) return bad('JPEG with a zero dimension')
        return {ok: true, width, height, format: 'jpeg'}
      }
      p += 2 + len
    }
    return bad('JPEG has too many segments')
  }
  return bad('not a valid image (corrupt or unsupported format)')
}

function bad(detail: string): ImageProbe {
  return {ok: false, reason: 'invalid', detail}
}
