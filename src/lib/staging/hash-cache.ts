// Local cache of file hashes so an unchanged file is never read twice across pushes: keyed by absolute
// path, size and mtime (ns), like git's index. One small text file per dataset root under
// $XDG_CACHE_HOME/tracebloc (or ~/.cache/tracebloc); a lost or corrupt cache only costs re-hashing.
// The file names what is on the user's machine, so it is private (0600 in a 0700 folder) and holds
// no paths in clear: each path is stored as a salted hash (a random salt per cache file), which is
// all a lookup by exact path needs. Caches copied into a bug report or a backup name no files.
import {createHash, randomBytes} from 'node:crypto'
import {chmodSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, writeSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache')
  return path.join(base, 'tracebloc')
}

const HEX64 = /^[0-9a-f]{64}$/
const KEY = /^[0-9a-f]{32}$/
const SALT_LINE = /^#salt ([0-9a-f]{32})$/

/**
 * Held compactly, as a million-file dataset has a million entries: an open-addressing table over raw bytes
 * (16-byte salted path key, 32-byte sha256, size and mtime in typed arrays), so an entry costs ~100 bytes
 * and no JS object or string the garbage collector has to trace.
 */
export class HashCache {
  private cap = 1024
  private count = 0
  private keys = Buffer.alloc(1024 * 16)
  private digests = Buffer.alloc(1024 * 32)
  /** -1: an empty slot. */
  private sizes = new Float64Array(1024).fill(-1)
  private mtimes = new Float64Array(1024)
  private dirty = false
  private salt = randomBytes(16).toString('hex')

  private constructor(readonly file: string) {}

  /** The stored form of a path: salted, so the file holds no path in clear (16 bytes; 32 hex digits in the file). */
  private key(absPath: string): Buffer {
    return createHash('sha256').update(this.salt).update('\0').update(absPath).digest().subarray(0, 16)
  }

  /** The key's slot, or the empty slot where it would go. */
  private slot(key: Buffer): number {
    const mask = this.cap - 1
    for (let i = key.readUInt32LE(0) & mask; ; i = (i + 1) & mask) {
      if (this.sizes[i] < 0 || this.keys.compare(key, 0, 16, i * 16, i * 16 + 16) === 0) return i
    }
  }

  /** Store one entry under `key` (a new slot, or the one it had). */
  private put(key: Buffer, size: number, mtimeMs: number, sha256: string): void {
    let i = this.slot(key)
    if (this.sizes[i] < 0) {
      // at most 3/4 full, so a probe stays short
      if ((this.count + 1) * 4 > this.cap * 3) {
        this.grow()
        i = this.slot(key)
      }
      this.count++
      key.copy(this.keys, i * 16)
    }
    this.sizes[i] = size
    this.mtimes[i] = mtimeMs
    this.digests.write(sha256, i * 32, 32, 'hex')
  }

  private grow(): void {
    const old = {keys: this.keys, digests: this.digests, sizes: this.sizes, mtimes: this.mtimes, cap: this.cap}
    this.cap *= 2
    this.keys = Buffer.alloc(this.cap * 16)
    this.digests = Buffer.alloc(this.cap * 32)
    this.sizes = new Float64Array(this.cap).fill(-1)
    this.mtimes = new Float64Array(this.cap)
    for (let j = 0; j < old.cap; j++) {
      if (old.sizes[j] < 0) continue
      const i = this.slot(old.keys.subarray(j * 16, j * 16 + 16))
      old.keys.copy(this.keys, i * 16, j * 16, j * 16 + 16)
      old.digests.copy(this.digests, i * 32, j * 32, j * 32 + 32)
      this.sizes[i] = old.sizes[j]
      this.mtimes[i] = old.mtimes[j]
    }
  }

  private digest(i: number): string {
    return this.digests.toString('hex', i * 32, i * 32 + 32)
  }

  /** Load the cache for one dataset root (`key`, usually its absolute path). Never throws. */
  static load(key: string, dir = cacheDir()): HashCache {
    const file = path.join(dir, `hashes-${createHash('sha256').update(path.resolve(key)).digest('hex').slice(0, 16)}.tsv`)
    const c = new HashCache(file)
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      return c
    }
    // first line: #salt <hex>; then <sha256>\t<size>\t<mtimeMs>\t<salted path hash>. A cache without a salt
    // (older versions kept paths in clear) is dropped: it costs one re-hash and is rewritten without them.
    const first = text.indexOf('\n')
    const salt = SALT_LINE.exec(first < 0 ? text : text.slice(0, first))
    if (!salt) {
      c.dirty = true
      return c
    }
    c.salt = salt[1]
    // line by line, without a million-element array of them
    for (let at = first + 1; first >= 0 && at < text.length; ) {
      let end = text.indexOf('\n', at)
      if (end < 0) end = text.length
      const line = text.slice(at, end)
      at = end + 1
      const [sha, size, mtime, key] = line.split('\t')
      if (!KEY.test(key ?? '') || !HEX64.test(sha) || !/^\d+$/.test(size) || !Number.isFinite(Number(mtime))) continue
      c.put(Buffer.from(key, 'hex'), Number(size), Number(mtime), sha)
    }
    return c
  }

  /** The cached hash when size and mtime still match. */
  get(absPath: string, size: number, mtimeMs: number): string | undefined {
    const i = this.slot(this.key(absPath))
    return this.sizes[i] === size && this.mtimes[i] === mtimeMs ? this.digest(i) : undefined
  }

  set(absPath: string, size: number, mtimeMs: number, sha256: string): void {
    const key = this.key(absPath)
    const i = this.slot(key)
    if (this.sizes[i] === size && this.mtimes[i] === mtimeMs && this.digest(i) === sha256) return
    this.put(key, size, mtimeMs, sha256)
    this.dirty = true
  }

  get size(): number {
    return this.count
  }

  /** Write atomically (temp file + rename); best effort — a read-only home only costs re-hashing. */
  save(): boolean {
    if (!this.dirty) return true
    try {
      const dir = path.dirname(this.file)
      mkdirSync(dir, {recursive: true, mode: 0o700})
      // a folder made by an older version (or by mkdir's umask) is tightened too
      chmodSync(dir, 0o700)
      const tmp = `${this.file}.${process.pid}.tmp`
      // written in 64 KiB pieces: a million entries never become one string
      const fd = openSync(tmp, 'w', 0o600)
      try {
        let part = `#salt ${this.salt}\n`
        for (let i = 0; i < this.cap; i++) {
          if (this.sizes[i] < 0) continue
          part += `${this.digest(i)}\t${this.sizes[i]}\t${this.mtimes[i]}\t${this.keys.toString('hex', i * 16, i * 16 + 16)}\n`
          if (part.length >= 1 << 16) {
            writeSync(fd, part)
            part = ''
          }
        }
        writeSync(fd, part)
      } finally {
        closeSync(fd)
      }
      chmodSync(tmp, 0o600)
      renameSync(tmp, this.file)
      this.dirty = false
      return true
    } catch {
      return false
    }
  }
}
