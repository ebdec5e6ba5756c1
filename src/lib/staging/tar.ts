// A streaming ustar writer for exactly the files in a plan. We write our own (instead of node-tar's
// directory walker) because staging needs the archive's exact byte length before it starts — the remote
// side is length-framed (`head -c N | tar -x`) so servers without the v5 exec close signal work too —
// and because files are read once, at their declared size, with nothing buffered beyond one chunk.
import {createReadStream} from 'node:fs'

import {CliError, ExitCode} from '../output/errors.js'

export interface TarEntry {
  localPath: string
  /** Posix path inside the archive, relative. */
  name: string
  size: number
  /** Generated content (e.g. the batch checksum file), produced when the entry is reached; must be `size` bytes. */
  data?: () => Buffer
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

function header(name: string, size: number, type: '0' | 'x'): Buffer {
  const h = Buffer.alloc(BLOCK)
  const nameBuf = Buffer.from(name, 'utf8')
  nameBuf.copy(h, 0, 0, Math.min(100, nameBuf.length))
  h.write('0000644\0', 100, 'ascii') // mode
  h.write('0000000\0', 108, 'ascii') // uid
  h.write('0000000\0', 116, 'ascii') // gid
  h.write((size > 0o77777777777 ? 0 : size).toString(8).padStart(11, '0') + '\0', 124, 'ascii')
  h.write('00000000000\0', 136, 'ascii') // mtime 0: deterministic archives
  h.write('        ', 148, 'ascii') // checksum placeholder
  h.write(type, 156, 'ascii')
  h.write('ustar\0', 257, 'ascii')
  h.write('00', 263, 'ascii')
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii')
  return h
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
  hooks: {onProgress?: (p: TarProgress) => void; onChunk?: (e: TarEntry, chunk: Buffer) => void; onFileDone?: (e: TarEntry) => void; signal?: AbortSignal} = {},
): AsyncGenerator<Buffer> {
  const progress: TarProgress = {fileBytes: 0, files: 0}
  for (const e of entries) {
    if (hooks.signal?.aborted) throw hooks.signal.reason
    if (needsPax(e)) {
      const d = paxData(e)
      yield header('PaxHeader', d.length, 'x')
      yield Buffer.concat([d, Buffer.alloc(padTo(d.length))])
    }
    yield header(needsPax(e) ? e.name.slice(-100) : e.name, e.size, '0')
    if (e.data) {
      const d = e.data()
      if (d.length !== e.size) throw new Error(`generated tar entry ${e.name} is ${d.length} bytes, declared ${e.size}`)
      yield d
      const pad = padTo(e.size)
      if (pad) yield Buffer.alloc(pad)
      continue
    }
    let read = 0
    const stream = createReadStream(e.localPath, {highWaterMark: 1 << 20, end: e.size > 0 ? e.size - 1 : undefined, start: 0})
    if (e.size > 0) {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        read += chunk.length
        hooks.onChunk?.(e, chunk)
        progress.fileBytes += chunk.length
        hooks.onProgress?.(progress)
        yield chunk
      }
    } else {
      stream.destroy()
    }
    if (read !== e.size) {
      throw new CliError(`${e.localPath} changed while staging (expected ${e.size} bytes, read ${read})`, {
        exitCode: ExitCode.STAGING,
        hint: 'do not modify the dataset while it is being pushed; run the push again',
        reason: 'file_changed',
      })
    }
    hooks.onFileDone?.(e)
    progress.files++
    hooks.onProgress?.(progress)
    const pad = padTo(e.size)
    if (pad) yield Buffer.alloc(pad)
  }
  yield Buffer.alloc(2 * BLOCK)
}
