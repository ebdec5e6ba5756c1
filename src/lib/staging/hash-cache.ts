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
 * Held compactly, as a million-file dataset has a million entries: the salted path key maps to a slot, and
 * each slot's size, mtime and raw sha256 sit in typed arrays and one buffer (no object and no 64-digit
 * string per entry).
 */
export class HashCache {
  private readonly slots = new Map<string, number>()
  private sizes = new Float64Array(1024)
  private mtimes = new Float64Array(1024)
  private digests = Buffer.alloc(1024 * 32)
  private dirty = false
  private salt = randomBytes(16).toString('hex')

  private constructor(readonly file: string) {}

  /** The stored form of a path: salted, so the file holds no path in clear. */
  private key(absPath: string): string {
    return createHash('sha256').update(this.salt).update('\0').update(absPath).digest('hex').slice(0, 32)
  }

  /** Store one entry under `key` (a new slot, or the one it had). */
  private put(key: string, size: number, mtimeMs: number, sha256: string): void {
    let slot = this.slots.get(key)
    if (slot === undefined) {
      slot = this.slots.size
      if (slot === this.sizes.length) this.grow()
      this.slots.set(key, slot)
    }
    this.sizes[slot] = size
    this.mtimes[slot] = mtimeMs
    this.digests.write(sha256, slot * 32, 32, 'hex')
  }

  private grow(): void {
    const n = this.sizes.length * 2
    const sizes = new Float64Array(n)
    sizes.set(this.sizes)
    const mtimes = new Float64Array(n)
    mtimes.set(this.mtimes)
    const digests = Buffer.alloc(n * 32)
    this.digests.copy(digests)
    this.sizes = sizes
    this.mtimes = mtimes
    this.digests = digests
  }

  private digest(slot: number): string {
    return this.digests.toString('hex', slot * 32, slot * 32 + 32)
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
      c.put(key, Number(size), Number(mtime), sha)
    }
    return c
  }

  /** The cached hash when size and mtime still match. */
  get(absPath: string, size: number, mtimeMs: number): string | undefined {
    const slot = this.slots.get(this.key(absPath))
    return slot !== undefined && this.sizes[slot] === size && this.mtimes[slot] === mtimeMs ? this.digest(slot) : undefined
  }

  set(absPath: string, size: number, mtimeMs: number, sha256: string): void {
    const key = this.key(absPath)
    const slot = this.slots.get(key)
    if (slot !== undefined && this.sizes[slot] === size && this.mtimes[slot] === mtimeMs && this.digest(slot) === sha256) return
    this.put(key, size, mtimeMs, sha256)
    this.dirty = true
  }

  get size(): number {
    return this.slots.size
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
        for (const [k, slot] of this.slots) {
          part += `${this.digest(slot)}\t${this.sizes[slot]}\t${this.mtimes[slot]}\t${k}\n`
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
