// The files of one listed folder, held by column: the names as UTF-8 in one buffer (sorted by bytes)
// and one typed array per number, about 50 bytes a file. No small object is kept per file: a million
// of them (a string, an entry, a boxed number each) survive every young-generation collection, which
// makes V8 grow its young generation to the maximum and is what made peak memory grow ~1 KiB a file.
// A file is handed out as a `ListedFile` view, made when asked for; writes through a view (a remote
// source sets sizes and headers) land in the columns.
import type {ImageProbe} from './image-header.js'

/** What validation knows of one local file. */
export interface FileEntry {
  name: string
  path: string
  size: number
  mtimeMs: number
  /** Device and inode preflight saw: staging reopens the file and checks it is still this one. */
  dev?: number
  ino?: number
  /** Image dimensions, read while the file was open for its size (images/ and masks/ only). */
  header?: ImageProbe
}

/** One file of a FileList; also a plan entry (`localPath`, `stagedPath`, size and identity). */
export class ListedFile implements FileEntry {
  constructor(
    private readonly list: FileList,
    readonly index: number,
  ) {}

  get name(): string {
    return this.list.name(this.index)
  }

  get path(): string {
    return this.list.prefix + this.name
  }

  get localPath(): string {
    return this.list.prefix + this.name
  }

  get stagedPath(): string {
    return this.list.staged + this.name
  }

  get size(): number {
    return this.list.sizes[this.index]!
  }

  set size(v: number) {
    this.list.sizes[this.index] = v
  }

  get mtimeMs(): number {
    return this.list.mtimes[this.index]!
  }

  set mtimeMs(v: number) {
    this.list.mtimes[this.index] = v
  }

  get dev(): number | undefined {
    return orUndefined(this.list.devs[this.index]!)
  }

  set dev(v: number | undefined) {
    this.list.devs[this.index] = v ?? Number.NaN
  }

  get ino(): number | undefined {
    return orUndefined(this.list.inos[this.index]!)
  }

  set ino(v: number | undefined) {
    this.list.inos[this.index] = v ?? Number.NaN
  }

  get header(): ImageProbe | undefined {
    return this.list.headers?.[this.index]
  }

  set header(v: ImageProbe | undefined) {
    ;(this.list.headers ??= new Array(this.list.length))[this.index] = v
  }

  /** The plain fields (for printing and comparing). */
  toJSON(): FileEntry {
    return {name: this.name, path: this.path, size: this.size, mtimeMs: this.mtimeMs, dev: this.dev, ino: this.ino, header: this.header}
  }
}

const orUndefined = (v: number): number | undefined => (Number.isNaN(v) ? undefined : v)

/** Names packed as UTF-8 bytes, one after another. */
export class PackedNames {
  bytes = Buffer.allocUnsafe(1 << 12)
  /** ends[i]: where name i ends in `bytes` (it starts where name i-1 ends). */
  ends = new Uint32Array(64)
  length = 0

  add(name: string): void {
    const at = this.length === 0 ? 0 : this.ends[this.length - 1]!
    // a UTF-8 name takes at most 3 bytes per UTF-16 unit
    if (at + name.length * 3 > this.bytes.length) {
      const b = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, at + name.length * 3))
      this.bytes.copy(b, 0, 0, at)
      this.bytes = b
    }
    if (this.length === this.ends.length) {
      const e = new Uint32Array(this.ends.length * 2)
      e.set(this.ends)
      this.ends = e
    }
    this.ends[this.length++] = at + this.bytes.write(name, at, 'utf8')
  }

  start(i: number): number {
    return i === 0 ? 0 : this.ends[i - 1]!
  }

  get(i: number): string {
    return this.bytes.toString('utf8', this.start(i), this.ends[i]!)
  }

  /** Byte order of name i against bytes [s, e) of `other` (-1, 0, 1). */
  compareTo(i: number, other: Buffer, s: number, e: number): number {
    // a plain loop: names are short, and Buffer#compare's argument checks cost more than the bytes
    const b = this.bytes
    let p = this.start(i)
    const pe = this.ends[i]!
    for (; p < pe && s < e; p++, s++) {
      const d = b[p]! - other[s]!
      if (d !== 0) return d < 0 ? -1 : 1
    }
    const rest = pe - p - (e - s)
    return rest < 0 ? -1 : rest > 0 ? 1 : 0
  }

  /** The indexes in the names' byte order (UTF-8 byte order is code point order). */
  sortedOrder(): Uint32Array {
    const order = new Uint32Array(this.length)
    for (let i = 0; i < order.length; i++) order[i] = i
    return order.sort((a, b) => this.compareTo(a, this.bytes, this.start(b), this.ends[b]!))
  }
}

export class FileList implements Iterable<ListedFile> {
  private readonly names = new PackedNames()
  /** Scratch for the name being looked up. */
  private key = Buffer.allocUnsafe(256)
  sizes: Float64Array
  mtimes: Float64Array
  /** NaN: not known (a remote object has no identity). */
  devs: Float64Array
  inos: Float64Array
  /** Image folders only; unset for text folders. */
  headers?: Array<ImageProbe | undefined>

  /**
   * @param prefix the folder's path on disk, ending in the separator
   * @param staged the folder's path in the staged copy, ending in `/`
   */
  constructor(
    readonly prefix: string,
    readonly staged: string,
    capacity: number,
  ) {
    this.sizes = new Float64Array(capacity)
    this.mtimes = new Float64Array(capacity)
    this.devs = new Float64Array(capacity)
    this.inos = new Float64Array(capacity)
  }

  get length(): number {
    return this.names.length
  }

  name(i: number): string {
    return this.names.get(i)
  }

  /** Appends a file; names must come in byte order (`indexOf` searches them; `PackedNames.sortedOrder`). */
  push(name: string, size: number, mtimeMs: number, dev?: number, ino?: number, header?: ImageProbe): void {
    const i = this.length
    if (i === this.sizes.length) this.grow()
    this.names.add(name)
    this.sizes[i] = size
    this.mtimes[i] = mtimeMs
    this.devs[i] = dev ?? Number.NaN
    this.inos[i] = ino ?? Number.NaN
    if (header !== undefined) (this.headers ??= [])[i] = header
  }

  private grow(): void {
    const n = Math.max(16, this.sizes.length * 2)
    for (const k of ['sizes', 'mtimes', 'devs', 'inos'] as const) {
      const a = new Float64Array(n)
      a.set(this[k])
      this[k] = a
    }
  }

  at(i: number): ListedFile | undefined {
    return i >= 0 && i < this.length ? new ListedFile(this, i) : undefined
  }

  /** Index of the file named `name`, or -1: a binary search (a name → index map would cost more than the list). */
  indexOf(name: string): number {
    if (name.length * 3 > this.key.length) this.key = Buffer.allocUnsafe(name.length * 3)
    const n = this.key.write(name, 0, 'utf8')
    let lo = 0
    let hi = this.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const c = this.names.compareTo(mid, this.key, 0, n)
      if (c === 0) return mid
      if (c < 0) lo = mid + 1
      else hi = mid - 1
    }
    return -1
  }

  *[Symbol.iterator](): Iterator<ListedFile> {
    for (let i = 0; i < this.length; i++) yield new ListedFile(this, i)
  }

  map<R>(fn: (f: ListedFile, i: number) => R): R[] {
    const out = new Array<R>(this.length)
    for (let i = 0; i < this.length; i++) out[i] = fn(new ListedFile(this, i), i)
    return out
  }

  every(fn: (f: ListedFile, i: number) => boolean): boolean {
    for (let i = 0; i < this.length; i++) if (!fn(new ListedFile(this, i), i)) return false
    return true
  }

  /** The files `keep` accepts, as a new list (same folder). */
  filter(keep: (f: ListedFile, i: number) => boolean): FileList {
    const out = new FileList(this.prefix, this.staged, 0)
    for (let i = 0; i < this.length; i++) {
      const f = new ListedFile(this, i)
      if (keep(f, i)) out.push(f.name, f.size, f.mtimeMs, f.dev, f.ino, f.header)
    }
    return out
  }

  totalBytes(): number {
    let s = 0
    for (let i = 0; i < this.length; i++) s += this.sizes[i]!
    return s
  }
}

/** A file of the plan: where it is read from and where it goes in the staged copy. */
export interface StagedFile {
  localPath: string
  stagedPath: string
  size: number
  mtimeMs: number
  /** Device and inode preflight saw (staging checks the file it opens is still this one). */
  dev?: number
  ino?: number
}

/**
 * The plan's files: a few single files (the CSV, tokenizer.json) then each listed folder's files, in
 * order, without a copy per file. Read like a read-only array: length, at, iteration, map, reduce, slice.
 */
export class StagedFiles implements Iterable<StagedFile> {
  constructor(
    private readonly single: readonly StagedFile[],
    private readonly lists: readonly FileList[],
  ) {}

  get length(): number {
    return this.lists.reduce((n, l) => n + l.length, this.single.length)
  }

  at(i: number): StagedFile | undefined {
    if (i < 0) return undefined
    if (i < this.single.length) return this.single[i]
    i -= this.single.length
    for (const l of this.lists) {
      if (i < l.length) return l.at(i)
      i -= l.length
    }
    return undefined
  }

  *[Symbol.iterator](): Iterator<StagedFile> {
    yield* this.single
    for (const l of this.lists) yield* l
  }

  map<R>(fn: (f: StagedFile, i: number) => R): R[] {
    const out: R[] = []
    for (const f of this) out.push(fn(f, out.length))
    return out
  }

  reduce<R>(fn: (acc: R, f: StagedFile, i: number) => R, initial: R): R {
    let acc = initial
    let i = 0
    for (const f of this) acc = fn(acc, f, i++)
    return acc
  }

  slice(start = 0, end = this.length): StagedFile[] {
    const out: StagedFile[] = []
    for (let i = Math.max(0, start); i < Math.min(end, this.length); i++) out.push(this.at(i)!)
    return out
  }

  /** As JSON, the array it stands for (not its columns). */
  toJSON(): StagedFile[] {
    return this.map((f) => ({localPath: f.localPath, stagedPath: f.stagedPath, size: f.size, mtimeMs: f.mtimeMs, dev: f.dev, ino: f.ino}))
  }

  /** Bytes of all the files, without a view per file. */
  totalBytes(): number {
    return this.lists.reduce((n, l) => n + l.totalBytes(), this.single.reduce((n, f) => n + f.size, 0))
  }
}
