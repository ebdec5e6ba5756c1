// Archives over https:// (.tar, .tar.gz/.tgz, .zip) read like the folder inside them, with as little
// traffic to this machine as each format allows:
// - zip: the central directory at the end is the index. We read the tail (end-of-central-directory
//   record), the directory itself, then only the members we need (each by one Range request for its local
//   header and one for its data; a header sample reads just the first compressed bytes).
// - tar / tar.gz: there is no index; each member's header sits in front of its data, and gzip cannot be
//   entered in the middle. We stream the archive once and keep only the members we need (and the first
//   bytes of each image); everything else is discarded as it passes. The stream also yields the archive's
//   sha256, which the stage pod checks its own download against, so the pod unpacks the very bytes we
//   checked here.
// Every entry is checked before anything reaches the cluster: a path outside the archive's root
// (absolute, `..`), a symlink, hardlink, device or FIFO is refused with one line.
import {createHash} from 'node:crypto'
import https from 'node:https'
import {readFileSync} from 'node:fs'
import {pipeline, Transform} from 'node:stream'
import zlib from 'node:zlib'

import {CliError, ExitCode} from '../output/errors.js'
import {redact} from '../output/redact.js'
import {httpsGetRange, type HttpsOptions} from './https.js'

export type ArchiveKind = 'tar' | 'tgz' | 'zip'

export interface ArchiveEntry {
  /** Path inside the archive, `/`-separated, without a leading `./`. */
  name: string
  size: number
  /** zip only: where the member's local header starts, its compressed size and method. */
  offset?: number
  csize?: number
  method?: number
}

export interface ArchiveIndex {
  kind: ArchiveKind
  entries: ArchiveEntry[]
  /** Bodies kept from the stream (tar) or read by range (zip): whole for small files, a prefix for images. */
  bodies: Map<string, Buffer>
  /** Bytes that came to this machine. */
  bytesRead: number
  /** sha256 of the whole archive (tar: computed from the stream; zip: not known here). */
  sha256?: string
}

export interface ScanHooks {
  /** How many bytes of a member to hold (Infinity: all of it, 0: none). */
  keep(name: string, size: number): number
  /** Called once a held member has passed; it may drop the body from `bodies` once it has used it. */
  onMember?(name: string, body: Buffer): Promise<void>
}

export function archiveKind(fileName: string): ArchiveKind | undefined {
  if (/\.(tar\.gz|tgz)$/i.test(fileName)) return 'tgz'
  if (/\.tar$/i.test(fileName)) return 'tar'
  if (/\.zip$/i.test(fileName)) return 'zip'
  return undefined
}

const unsafe = (display: string, what: string) =>
  new CliError(`${display}: ${what}`, {exitCode: ExitCode.BAD_INPUT, reason: 'unsafe_archive', hint: 'the archive may only hold regular files and folders under its root; repack it without links, devices or paths outside it'})

/** A member path made relative, or an error when it would land outside the archive's root. */
export function safeMemberPath(raw: string, display: string): string {
  if (raw.startsWith('/') || /^[A-Za-z]:[\\/]/.test(raw) || raw.includes('\\')) throw unsafe(display, `"${raw}" is an absolute path`)
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.')
  if (parts.includes('..')) throw unsafe(display, `"${raw}" points outside the archive's root`)
  if (/[\0\n\r\t]/.test(raw)) throw unsafe(display, `a member name holds a control character`)
  return parts.join('/')
}

// ---------------------------------------------------------------- zip

const EOCD = 0x06054b50
const CDH = 0x02014b50
const LFH = 0x04034b50

export async function readZipIndex(url: string, size: number, display: string, o: HttpsOptions): Promise<ArchiveIndex> {
  const idx: ArchiveIndex = {kind: 'zip', entries: [], bodies: new Map(), bytesRead: 0}
  if (size < 22) throw new CliError(`${display} is not a zip archive (too short)`, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_archive'})
  // the record is the last 22 bytes unless the archive has a comment (up to 64 KiB): try 4 KiB first
  let tailLen = 0
  let tail: Buffer = Buffer.alloc(0)
  let at = -1
  for (const want of [4096, 22 + 65535]) {
    if (at >= 0 || tailLen >= size) break
    tailLen = Math.min(size, want)
    tail = await httpsGetRange(url, size - tailLen, size - 1, o)
    idx.bytesRead += tail.length
    for (let i = tail.length - 22; i >= 0 && at < 0; i--) if (tail.readUInt32LE(i) === EOCD) at = i
  }
  if (at < 0) throw new CliError(`${display} is not a zip archive (no end-of-central-directory record)`, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_archive'})
  const count = tail.readUInt16LE(at + 10)
  const cdSize = tail.readUInt32LE(at + 12)
  const cdOffset = tail.readUInt32LE(at + 16)
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new CliError(`${display} is a ZIP64 archive, which is not supported yet`, {exitCode: ExitCode.BAD_INPUT, reason: 'unsupported_archive', hint: 'use a .tar.gz for archives over 4 GiB or 65535 files'})
  }
  const tailStart = size - tailLen
  let cd: Buffer
  if (cdOffset >= tailStart) cd = tail.subarray(cdOffset - tailStart, cdOffset - tailStart + cdSize)
  else {
    cd = cdSize === 0 ? Buffer.alloc(0) : await httpsGetRange(url, cdOffset, cdOffset + cdSize - 1, o)
    idx.bytesRead += cd.length
  }
  let p = 0
  for (let n = 0; n < count; n++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CDH) throw new CliError(`${display}: damaged zip central directory`, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_archive'})
    const madeBy = cd.readUInt16LE(p + 4) >> 8
    const flags = cd.readUInt16LE(p + 8)
    const method = cd.readUInt16LE(p + 10)
    const csize = cd.readUInt32LE(p + 20)
    const usize = cd.readUInt32LE(p + 24)
    const nameLen = cd.readUInt16LE(p + 28)
    const extraLen = cd.readUInt16LE(p + 30)
    const commentLen = cd.readUInt16LE(p + 32)
    const ext = cd.readUInt32LE(p + 38)
    const offset = cd.readUInt32LE(p + 42)
    const raw = cd.subarray(p + 46, p + 46 + nameLen).toString('utf8')
    p += 46 + nameLen + extraLen + commentLen
    const mode = madeBy === 3 ? ext >>> 16 : 0 // unix mode when made on unix
    const type = mode & 0o170000
    if (type === 0o120000) throw unsafe(display, `"${raw}" is a symbolic link`)
    if (type !== 0 && type !== 0o100000 && type !== 0o040000) throw unsafe(display, `"${raw}" is a device, FIFO or socket`)
    const name = safeMemberPath(raw, display)
    if (raw.endsWith('/') || type === 0o040000 || name === '') continue
    if (flags & 1) throw new CliError(`${display}: "${raw}" is encrypted`, {exitCode: ExitCode.BAD_INPUT, reason: 'unsupported_archive', hint: 'use an unencrypted archive; the connection is already encrypted'})
    if (method !== 0 && method !== 8) throw new CliError(`${display}: "${raw}" uses zip compression method ${method}`, {exitCode: ExitCode.BAD_INPUT, reason: 'unsupported_archive', hint: 'repack it with deflate (zip -r) or as .tar.gz'})
    idx.entries.push({name, size: usize, offset, csize, method})
  }
  return idx
}

/** A zip member's bytes: all of them, or about the first `prefix` (decompressed) for a header sample. */
export async function readZipMember(url: string, e: ArchiveEntry, o: HttpsOptions, prefix?: number): Promise<{body: Buffer; read: number}> {
  const lfh = await httpsGetRange(url, e.offset!, e.offset! + 29, o)
  if (lfh.readUInt32LE(0) !== LFH) throw new CliError(`damaged zip member ${e.name}`, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_archive'})
  const start = e.offset! + 30 + lfh.readUInt16LE(26) + lfh.readUInt16LE(28)
  const want = prefix === undefined ? e.csize! : Math.min(e.csize!, prefix + 1024)
  if (want === 0) return {body: Buffer.alloc(0), read: lfh.length}
  const data = await httpsGetRange(url, start, start + want - 1, o)
  const read = lfh.length + data.length
  if (e.method === 0) return {body: data, read}
  // a truncated deflate stream still yields what it holds with a sync flush
  const body = zlib.inflateRawSync(data, want < e.csize! ? {finishFlush: zlib.constants.Z_SYNC_FLUSH} : {})
  return {body: prefix === undefined ? body : body.subarray(0, prefix), read}
}

// ---------------------------------------------------------------- tar

function octal(b: Buffer): number {
  if (b[0]! & 0x80) {
    // base-256 (GNU) for sizes over 8 GiB
    let n = 0
    for (let i = 1; i < b.length; i++) n = n * 256 + b[i]!
    return n
  }
  const s = b.toString('latin1').replace(/\0.*$/s, '').trim()
  return s ? Number.parseInt(s, 8) : 0
}

function cstr(b: Buffer): string {
  const z = b.indexOf(0)
  return b.subarray(0, z < 0 ? b.length : z).toString('utf8')
}

function paxPath(b: Buffer): string | undefined {
  let p = 0
  let found: string | undefined
  while (p < b.length) {
    const sp = b.indexOf(0x20, p)
    if (sp < 0) break
    const len = Number(b.subarray(p, sp).toString('latin1'))
    if (!len) break
    const rec = b.subarray(sp + 1, p + len - 1).toString('utf8')
    const eq = rec.indexOf('=')
    if (rec.slice(0, eq) === 'path') found = rec.slice(eq + 1)
    p += len
  }
  return found
}

/**
 * Streams a tar (gzip when `gzip`) from `url` once: every entry is listed and checked; the hooks say
 * what of each member to hold and see it once it has passed.
 */
export async function scanTar(url: string, gzip: boolean, display: string, hooks: ScanHooks, o: HttpsOptions): Promise<ArchiveIndex> {
  const keep = hooks.keep
  const passed: string[] = []
  const idx: ArchiveIndex = {kind: gzip ? 'tgz' : 'tar', entries: [], bodies: new Map(), bytesRead: 0}
  const sha = createHash('sha256')
  const ca = o.caBundle ? readFileSync(o.caBundle, 'utf8') : undefined
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    const req = https.get(url, {ca, signal: o.signal}, resolve)
    req.on('error', (e: NodeJS.ErrnoException) => reject(e.name === 'AbortError' ? e : new CliError(`cannot read ${redact(display)} (${e.code ?? e.message})`, {exitCode: ExitCode.LOCAL_ENV, reason: 'source_unreachable', hint: 'check the address, your network and any proxy settings'})))
  })
  if (res.statusCode !== 200) {
    res.resume()
    throw new CliError(`${display}: the server answered HTTP ${res.statusCode}`, {exitCode: res.statusCode === 403 || res.statusCode === 401 ? ExitCode.AUTH : ExitCode.BAD_INPUT, reason: 'source_error'})
  }
  const tap = new Transform({
    transform(c: Buffer, _enc, cb) {
      idx.bytesRead += c.length
      sha.update(c)
      cb(null, c)
    },
  })
  const noop = () => {}
  const body = gzip ? pipeline(res, tap, zlib.createGunzip(), noop) : pipeline(res, tap, noop)
  let buf: Buffer = Buffer.alloc(0)
  // parser state: reading a header, or `left` bytes of a member (plus padding)
  let left = 0
  let pad = 0
  let cur: {name: string; keep: number; chunks: Buffer[]; got: number; meta?: 'pax' | 'long'} | undefined
  let nextName: string | undefined
  let ended = false
  const onHeader = (h: Buffer) => {
    if (h.every((x) => x === 0)) {
      ended = true
      return
    }
    const size = octal(h.subarray(124, 136))
    const type = String.fromCharCode(h[156]!)
    const prefix = h.subarray(257, 262).toString('latin1') === 'ustar' ? cstr(h.subarray(345, 500)) : ''
    const raw = nextName ?? (prefix ? `${prefix}/${cstr(h.subarray(0, 100))}` : cstr(h.subarray(0, 100)))
    left = size
    pad = (512 - (size % 512)) % 512
    if (type === 'x' || type === 'L') {
      cur = {name: '', keep: Infinity, chunks: [], got: 0, meta: type === 'x' ? 'pax' : 'long'}
      return
    }
    nextName = undefined
    cur = undefined
    if (type === 'g' || type === 'K') return // global pax header, GNU long link name: not a member
    if (type === '1') throw unsafe(display, `"${raw}" is a hard link`)
    if (type === '2') throw unsafe(display, `"${raw}" is a symbolic link`)
    if (type === '3' || type === '4' || type === '6') throw unsafe(display, `"${raw}" is a device or FIFO`)
    const name = safeMemberPath(raw, display)
    if (type === '5' || name === '' || raw.endsWith('/')) return
    if (type !== '0' && type !== '\0' && type !== '7') throw unsafe(display, `"${raw}" has tar entry type "${type}", not a regular file`)
    idx.entries.push({name, size})
    const k = Math.min(size, keep(name, size))
    if (k > 0) cur = {name, keep: k, chunks: [], got: 0}
  }
  const onData = (c: Buffer) => {
    if (!cur || cur.got >= cur.keep) return
    const part = c.subarray(0, cur.keep - cur.got)
    cur.chunks.push(part)
    cur.got += part.length
  }
  const onEnd = () => {
    if (!cur) return
    const b = Buffer.concat(cur.chunks)
    if (cur.meta === 'pax') nextName = paxPath(b) ?? nextName
    else if (cur.meta === 'long') nextName = cstr(b)
    else {
      idx.bodies.set(cur.name, b)
      passed.push(cur.name)
    }
    cur = undefined
  }
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      // past the end-of-archive marker: read on (the sha256 covers every byte) but keep nothing
      if (ended) continue
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk
      let p = 0
      while (!ended) {
        if (left > 0) {
          const n = Math.min(left, buf.length - p)
          if (n <= 0) break
          onData(buf.subarray(p, p + n))
          p += n
          left -= n
          if (left === 0) onEnd()
          continue
        }
        if (pad > 0) {
          const n = Math.min(pad, buf.length - p)
          if (n <= 0) break
          p += n
          pad -= n
          continue
        }
        if (buf.length - p < 512) break
        onHeader(buf.subarray(p, p + 512))
        p += 512
        if (left === 0 && cur) onEnd()
      }
      buf = buf.subarray(p)
      for (const name of passed.splice(0)) await hooks.onMember?.(name, idx.bodies.get(name)!)
    }
  } catch (error) {
    res.destroy()
    if (error instanceof CliError || (error as Error).name === 'AbortError') throw error
    throw new CliError(`${display} is not a valid ${gzip ? 'gzip-compressed ' : ''}tar archive (${(error as Error).message})`, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_archive'})
  }
  if (!ended && left > 0) throw new CliError(`${display} ends in the middle of a member (truncated archive)`, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_archive'})
  idx.sha256 = sha.digest('hex')
  return idx
}

/** The folder inside: a single top-level directory holding everything is the root (as `tar czf x.tgz x/` makes). */
export function archiveRoot(entries: ArchiveEntry[]): string {
  const tops = new Set(entries.map((e) => (e.name.includes('/') ? e.name.slice(0, e.name.indexOf('/')) : '')))
  if (tops.size !== 1) return ''
  const t = [...tops][0]!
  // a lone top folder named like a dataset sub-folder (images/, texts/...) is part of the dataset, not its root
  return /^(images|masks|texts|sequences|annotations)$/.test(t) ? '' : t
}
