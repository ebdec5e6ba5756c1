// Local cache of file hashes so an unchanged file is never read twice across pushes: keyed by absolute
// path, size and mtime (ns), like git's index. One small text file per dataset root under
// $XDG_CACHE_HOME/tracebloc (or ~/.cache/tracebloc); a lost or corrupt cache only costs re-hashing.
import {createHash} from 'node:crypto'
import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache')
  return path.join(base, 'tracebloc')
}

interface CacheEntry {
  size: number
  mtimeMs: number
  sha256: string
}

const HEX64 = /^[0-9a-f]{64}$/

export class HashCache {
  private readonly entries = new Map<string, CacheEntry>()
  private dirty = false

  private constructor(readonly file: string) {}

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
    // line: <sha256>\t<size>\t<mtimeMs>\t<absolute path>
    for (const line of text.split('\n')) {
      const [sha, size, mtime, ...rest] = line.split('\t')
      const p = rest.join('\t')
      if (!p || !HEX64.test(sha) || !/^\d+$/.test(size) || !Number.isFinite(Number(mtime))) continue
      c.entries.set(p, {size: Number(size), mtimeMs: Number(mtime), sha256: sha})
    }
    return c
  }

  /** The cached hash when size and mtime still match. */
  get(absPath: string, size: number, mtimeMs: number): string | undefined {
    const e = this.entries.get(absPath)
    return e && e.size === size && e.mtimeMs === mtimeMs ? e.sha256 : undefined
  }

  set(absPath: string, size: number, mtimeMs: number, sha256: string): void {
    const e = this.entries.get(absPath)
    if (e && e.size === size && e.mtimeMs === mtimeMs && e.sha256 === sha256) return
    this.entries.set(absPath, {size, mtimeMs, sha256})
    this.dirty = true
  }

  get size(): number {
    return this.entries.size
  }

  /** Write atomically (temp file + rename); best effort — a read-only home only costs re-hashing. */
  save(): boolean {
    if (!this.dirty) return true
    try {
      mkdirSync(path.dirname(this.file), {recursive: true})
      const lines: string[] = []
      for (const [p, e] of this.entries) if (!p.includes('\n')) lines.push(`${e.sha256}\t${e.size}\t${e.mtimeMs}\t${p}`)
      const tmp = `${this.file}.${process.pid}.tmp`
      writeFileSync(tmp, lines.join('\n') + '\n')
      renameSync(tmp, this.file)
      this.dirty = false
      return true
    } catch {
      return false
    }
  }
}
