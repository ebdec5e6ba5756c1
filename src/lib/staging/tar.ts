// A streaming ustar writer for exactly the files in a plan. We write our own (instead of node-tar's
// directory walker) because staging needs the archive's exact byte length before it starts — the remote
// side is length-framed (`head -c N | tar -x`) so servers without the v5 exec close signal work too —
// and because files are read once, at their declared size, with nothing buffered beyond one chunk.
import {closeSync, readSync} from 'node:fs'
import type {FileHandle} from 'node:fs/promises'
import {performance} from 'node:perf_hooks'

import {checkReadWhole, fileChanged, LocalIdentity, openLocal, openLocalSync} from './local-file.js'

export interface TarEntry extends LocalIdentity {
  localPath: string
  /** Posix path inside the archive, relative. */
  name: string
  size: number
  /** Generated content (e.g. the batch checksum file), produced when the entry is reached; must be `size` bytes. */
  data?: () => Buffer
  /** Generated content in pieces (lists of a million lines, never one string); must add up to `size` bytes. */
  chunks?: () => Iterable<Buffer>
}

const BLOCK = 512

function paxRecord(key: string, value: string): Buffer {
  // "<len> <key>=<value>\n" where <len> counts the whole record, its own digits included.
  const body = ` ${key}=${value}\n`
  const bodyLen = Buffer.byteLength(body)
  let len = bodyLen + String(bodyLen).length
  while (bodyLen + String(len).length !== len) len = bodyLen + String(len).length
  return Buffer.from(`${len}${body}`, 'utf8')
}

function needsPax(e: TarEntry): boolean {
  return Buffer.byteLength(e.name) > 100 || e.size > 0o77777777777
}

function paxData(e: TarEntry): Buffer {
  const recs = [paxRecord('path', e.name)]
  if (e.size > 0o77777777777) recs.push(paxRecord('size', String(e.size)))
  return Buffer.concat(recs)
}

const padTo = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK
/** Padding and the end-of-archive blocks: never written to, so one shared buffer serves every entry. */
const ZEROS = Buffer.alloc(2 * BLOCK)
const READ_SIZE = 1 << 20

/** Exact archive length for these entries (headers, PAX records, padding, two end blocks). */
export function tarSize(entries: TarEntry[]): number {
  let total = 2 * BLOCK
  for (const e of entries) {
    if (needsPax(e)) {
      const d = paxData(e).length
      total += BLOCK + d + padTo(d)
    }
    total += BLOCK + e.size + padTo(e.size)
  }
  return total
}

/** The fields every header shares (mode, uid, gid, mtime 0 for deterministic archives, ustar magic), written once. */
const TEMPLATE = (() => {
  const h = Buffer.alloc(BLOCK)
  h.write('0000644\0', 100, 'ascii') // mode
  h.write('0000000\0', 108, 'ascii') // uid
  h.write('0000000\0', 116, 'ascii') // gid
  h.write('00000000000\0', 136, 'ascii') // mtime 0: deterministic archives
  h.write('        ', 148, 'ascii') // checksum placeholder
  h.write('ustar\0', 257, 'ascii')
  h.write('00', 263, 'ascii')
  return h
})()
let templateSum = 0
for (const b of TEMPLATE) templateSum += b

/** One header block: a copy of the template with name, size, type and checksum filled in (per file: no re-encoding of the fixed fields). */
function header(name: string, size: number, type: '0' | 'x'): Buffer {
  const h = Buffer.allocUnsafe(BLOCK)
  TEMPLATE.copy(h)
  const nameLen = h.write(name, 0, 100, 'utf8')
  h.write((size > 0o77777777777 ? 0 : size).toString(8).padStart(11, '0') + '\0', 124, 'ascii')
  h[156] = type.charCodeAt(0)
  // the checksum: the template's sum plus what differs from it (name, size and type fields were zero there)
  let sum = templateSum
  for (let i = 0; i < nameLen; i++) sum += h[i]
  for (let i = 124; i < 136; i++) sum += h[i]
  sum += h[156]
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii')
  return h
}

/**
 * Small files, and the 1 MiB reads of large ones, are read with blocking calls: from the page cache, open +
 * read + close on this thread cost a quarter of three thread-pool round trips (5 000 × 100 KiB: 0.35 s
 * against 1.4 s of CPU), and a large file's reads ~0.3 s of CPU per GiB less. Once reads turn slow (more
 * than 2 ms per file or MiB: cold disk, network file system) the rest go through the thread pool, so a slow
 * disk never stalls the event loop that keeps the other streams moving.
 */
const SYNC_READ_MAX = 1 << 20
const syncReads = {
  // judged over windows of 64 reads, so one preempted read on a busy machine does not count as a slow disk
  windowMs: 0,
  files: 0,
  slow: false,
  took(ms: number): void {
    this.windowMs += ms
    if (++this.files < 64) return
    if (this.windowMs / this.files > 2) this.slow = true
    this.windowMs = 0
    this.files = 0
  },
}

/**
 * Fresh memory for a small file's read where chunks are queued (gzip), carved from a shared 1 MiB slab: one
 * allocation per slab instead of one per file. A carved piece is never handed out again; the slab is freed
 * once no piece of it is referenced. (Per-file allocations of a few KiB, a hundred thousand of them, left
 * tens of MiB of freed blocks in the process's heap.)
 */
const SLAB_BYTES = 1 << 20
let slab = Buffer.allocUnsafe(0)
let slabUsed = 0
function fromSlab(n: number): Buffer {
  if (n > SLAB_BYTES / 8) return Buffer.allocUnsafe(n)
  if (slabUsed + n > slab.length) {
    slab = Buffer.allocUnsafe(SLAB_BYTES)
    slabUsed = 0
  }
  const b = slab.subarray(slabUsed, slabUsed + n)
  // the next piece starts 8-byte aligned
  slabUsed += (n + 7) & ~7
  return b
}

/**
 * One file's bytes, read at its planned size (`onChunk` sees each chunk before it is yielded). With `buf`
 * every chunk is a view of that one buffer, valid until the next is requested. The file is opened once and
 * checked to be the one preflight saw (local-file.ts); a file that changed since planning is an error, never
 * a silently short or cut stream. Small files take one blocking read (syncReads) of one byte more than
 * planned (growth); a large one is checked again once read (size, mtime and nothing beyond its end).
 */
async function* fileChunks(e: TarEntry, hooks: {onChunk?: (e: TarEntry, chunk: Buffer) => void; signal?: AbortSignal} = {}, buf?: Buffer): AsyncGenerator<Buffer> {
  if (e.size > SYNC_READ_MAX || syncReads.slow) {
    const fh = await openLocal(e)
    try {
      for await (const chunk of fileRange(fh, e, 0, e.size, {buf, signal: hooks.signal})) {
        hooks.onChunk?.(e, chunk)
        yield chunk
      }
      await checkReadWhole(fh, e)
    } finally {
      await fh.close()
    }
    return
  }
  let read = 0
  const t0 = performance.now()
  // one byte more than planned is asked for: getting it means the file grew (no separate probe read)
  const want = e.size + 1
  const into = buf && buf.length >= want ? buf : fromSlab(want)
  const fd = openLocalSync(e)
  try {
    for (let n = 1; n > 0 && read < want; read += n) n = readSync(fd, into, read, want - read, read)
  } finally {
    closeSync(fd)
  }
  syncReads.took(performance.now() - t0)
  if (read > e.size) throw fileChanged(e, `it grew beyond the ${e.size} bytes it had`)
  if (read !== e.size) throw fileChanged(e, `it is shorter than the ${e.size} bytes it had`)
  if (read > 0) {
    const chunk = into.subarray(0, read)
    hooks.onChunk?.(e, chunk)
    yield chunk
  }
}

/**
 * Bytes [offset, offset + length) of a file opened with openLocal (`e` names it in errors). With `buf` every
 * chunk is a view of that one buffer, valid until the next is requested; without it each chunk is fresh
 * (for consumers that queue them, like gzip).
 */
export async function* fileRange(fh: FileHandle, e: LocalIdentity, offset: number, length: number, o: {buf?: Buffer; signal?: AbortSignal} = {}): AsyncGenerator<Buffer> {
  for (let read = 0; read < length; ) {
    if (o.signal?.aborted) throw o.signal.reason
    const want = Math.min(o.buf?.length ?? READ_SIZE, length - read)
    const into = o.buf ?? Buffer.allocUnsafe(want)
    // a blocking read while reads come from the page cache (a thread-pool round trip costs ~0.3 s of CPU
    // per GiB more here); through the thread pool once they turn slow (syncReads)
    let bytesRead: number
    if (syncReads.slow) ({bytesRead} = await fh.read(into, 0, want, offset + read))
    else {
      const t0 = performance.now()
      bytesRead = readSync(fh.fd, into, 0, want, offset + read)
      syncReads.took(((performance.now() - t0) * (1 << 20)) / Math.max(want, 1 << 16))
    }
    if (bytesRead === 0) throw fileChanged(e, `it is shorter than the ${e.size} bytes it had`)
    read += bytesRead
    yield into.subarray(0, bytesRead)
  }
}

export interface TarProgress {
  /** File bytes (not tar bytes) read so far. */
  fileBytes: number
  files: number
}

/**
 * Yields the archive. `onFile` sees each file's bytes as they are read (for hashing);
 * a file that changed size since planning is an error, never a silently short archive.
 */
export async function* tarStream(
  entries: TarEntry[],
  hooks: {
    onProgress?: (p: TarProgress) => void
    onChunk?: (e: TarEntry, chunk: Buffer) => void
    onFileDone?: (e: TarEntry) => void
    signal?: AbortSignal
    /**
     * Read every file through one buffer: a yielded chunk is only valid until the consumer asks for the
     * next one. For consumers that copy it right away (the exec pump) — not for ones that queue chunks (gzip).
     */
    reuseBuffer?: boolean
  } = {},
): AsyncGenerator<Buffer> {
  const progress: TarProgress = {fileBytes: 0, files: 0}
  let shared: Buffer | undefined
  for (const e of entries) {
    if (hooks.signal?.aborted) throw hooks.signal.reason
    if (needsPax(e)) {
      const d = paxData(e)
      yield header('PaxHeader', d.length, 'x')
      yield d
      if (padTo(d.length)) yield ZEROS.subarray(0, padTo(d.length))
    }
    yield header(needsPax(e) ? e.name.slice(-100) : e.name, e.size, '0')
    if (e.data || e.chunks) {
      let n = 0
      for (const d of e.chunks ? e.chunks() : [e.data!()]) {
        n += d.length
        if (n > e.size) break
        yield d
      }
      if (n !== e.size) throw new Error(`generated tar entry ${e.name} is ${n} bytes or more, declared ${e.size}`)
      const pad = padTo(e.size)
      if (pad) yield ZEROS.subarray(0, pad)
      continue
    }
    for await (const chunk of fileChunks(e, hooks, hooks.reuseBuffer ? (shared ??= Buffer.allocUnsafe(READ_SIZE)) : undefined)) {
      progress.fileBytes += chunk.length
      hooks.onProgress?.(progress)
      yield chunk
    }
    hooks.onFileDone?.(e)
    progress.files++
    hooks.onProgress?.(progress)
    const pad = padTo(e.size)
    if (pad) yield ZEROS.subarray(0, pad)
  }
  yield ZEROS
}
