// Layout discovery: where the CSV is and which sidecar files get staged (layout.v1.json). Reads
// directory entries and lstat; image files are opened once instead (size and mtime from the open
// descriptor, plus the few header bytes preflight checks), so 100 000 images cost one open each.
import {lstatSync} from 'node:fs'
import {lstat, opendir, readdir} from 'node:fs/promises'
import path from 'node:path'

import type {CategoryInfo, Family} from './categories.js'
import {openImage, openImageSync, type ImageProbe, type OpenedImage} from './image-header.js'
import type {CliError} from '../output/errors.js'
import {mapLimit} from './map-limit.js'
import {badData, quote, someOf} from './problems.js'

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

/**
 * One listed sidecar file. A million-file folder keeps a million of these for the whole push, so each
 * holds only its name, numbers and its folder (shared): the full path and the staged path are built
 * when asked for, not stored. It is also the plan's entry (`StagedFile`): no second object per file.
 */
export class ListedFile implements FileEntry {
  constructor(
    readonly folder: ListedFolder,
    readonly name: string,
    public size: number,
    public mtimeMs: number,
    public dev?: number,
    public ino?: number,
    public header?: ImageProbe,
  ) {}

  get path(): string {
    return this.folder.prefix + this.name
  }

  /** StagedFile's fields. */
  get localPath(): string {
    return this.folder.prefix + this.name
  }

  get stagedPath(): string {
    return this.folder.staged + this.name
  }
}

/** What the files of one folder share: its path on disk (with the separator) and on the PVC. */
export interface ListedFolder {
  prefix: string
  staged: string
}

/**
 * Index of `name` in `files`, which discovery lists sorted by name (JS string order), or -1. A binary
 * search instead of a name → entry map: the map would cost more per file than the entry itself.
 */
export function findListed(files: readonly FileEntry[], name: string): number {
  let lo = 0
  let hi = files.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const n = files[mid]!.name
    if (n === name) return mid
    if (n < name) lo = mid + 1
    else hi = mid - 1
  }
  return -1
}

export interface SidecarDir {
  subdir: string
  files: FileEntry[]
  /** Names skipped: wrong extension, sub-folders. */
  skipped: string[]
}

export interface Layout {
  root: string
  csv: FileEntry
  dirs: SidecarDir[]
  tokenizer?: FileEntry
  warnings: string[]
}

export const SIDECAR_EXTS: Record<string, readonly string[]> = {
  images: ['.jpg', '.jpeg', '.png'],
  texts: ['.txt', '.text'],
  sequences: ['.txt', '.text'],
  annotations: ['.xml'],
  masks: ['.png'],
}

export type Progress = (p: {phase: string; files?: number}) => void

/** Sidecar folders whose files are images: their headers are read during discovery. */
const HEADER_DIRS = new Set(['images', 'masks'])

/**
 * Open every image once (size, mtime, identity and header from one descriptor). Symbolic links that
 * slipped past the listing are refused.
 */
export async function openImages(prefix: string, names: readonly string[], onProgress?: Progress, slowMsPerFile = 0.3, staged = ''): Promise<FileEntry[]> {
  const folder: ListedFolder = {prefix, staged}
  const entry = (n: string, o: OpenedImage): FileEntry => new ListedFile(folder, n, o.size, o.mtimeMs, o.dev, o.ino, o.probe)
  const symlink = (n: string): CliError =>
    badData(`${quote(prefix + n)} is a symbolic link — replace it with the real file (symlinks are refused so nothing outside the dataset gets uploaded)`, undefined, 'symlink')
  return eachFile(
    names,
    (n) => {
      try {
        return entry(n, openImageSync(prefix + n))
      } catch {
        throw symlink(n)
      }
    },
    async (n) => {
      try {
        return entry(n, await openImage(prefix + n))
      } catch {
        throw symlink(n)
      }
    },
    (files) => onProgress?.({phase: 'Checking images', files}),
    slowMsPerFile,
  )
}

/** lstat every listed file once: size, mtime and identity, which staging checks again when it opens the file. */
async function statFiles(folder: ListedFolder, names: readonly string[], onProgress?: Progress): Promise<ListedFile[]> {
  const entry = (n: string, st: {size: number; mtimeMs: number; dev: number; ino: number}): ListedFile => new ListedFile(folder, n, st.size, st.mtimeMs, st.dev, st.ino)
  return eachFile(
    names,
    (n) => entry(n, lstatSync(folder.prefix + n)),
    async (n) => entry(n, await lstat(folder.prefix + n)),
    (files) => onProgress?.({phase: 'Listing files', files}),
  )
}

/**
 * One call per file, in order. Batches of blocking calls while the files come from the page cache (the
 * common re-run case, and several times faster than the thread pool, with no promise per file: a
 * million files otherwise leave a million promises and requests for the GC), yielding between batches
 * so progress keeps rendering; once a batch averages more than 0.3 ms a file the disk is really being
 * read, and the rest go through the thread pool with 16 in flight so slow storage sees parallel
 * requests.
 */
async function eachFile<T>(names: readonly string[], sync: (n: string) => T, background: (n: string) => Promise<T>, progress: (files: number) => void, slowMsPerFile = 0.3): Promise<T[]> {
  const out: T[] = []
  let i = 0
  while (i < names.length) {
    const t0 = performance.now()
    const end = Math.min(names.length, i + (i === 0 ? 32 : 256)) // a small first batch finds a slow disk early
    const batch = end - i
    for (; i < end; i++) out.push(sync(names[i]!))
    const slow = (performance.now() - t0) / batch > slowMsPerFile
    if (i === names.length || i % 4096 < 256) progress(i)
    if (i < names.length) await new Promise((r) => setImmediate(r))
    if (slow) break
  }
  let done = i
  const rest = await mapLimit(names.slice(i), 16, async (n) => {
    const e = await background(n)
    if (++done % 256 === 0) progress(done)
    return e
  })
  return rest.length === 0 ? out : out.concat(rest)
}

async function statEntry(p: string): Promise<FileEntry> {
  const st = await lstat(p)
  return {name: path.basename(p), path: p, size: st.size, mtimeMs: st.mtimeMs, dev: st.dev, ino: st.ino}
}

async function statPath(p: string): Promise<Awaited<ReturnType<typeof lstat>>> {
  try {
    return await lstat(p)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw badData(`no such file or directory: ${quote(p)} — check the path to your dataset`, undefined, 'path_missing')
    throw badData(`cannot read ${quote(p)} (${code}) — check its permissions`, undefined, 'path_unreadable')
  }
}

/** Find the dataset CSV: a bare .csv (tabular only) or the one CSV in the folder (labels.csv preferred). */
async function findCsv(root: string, family: Family): Promise<{root: string; csv: string}> {
  const st = await statPath(root)
  if (st.isSymbolicLink()) throw badData(`${quote(root)} is a symbolic link — pass the real path (symlinks are refused so nothing outside the dataset gets uploaded)`, undefined, 'symlink')
  if (st.isFile()) {
    if (!/\.csv$/i.test(root)) throw badData(`${quote(root)} is not a .csv file — pass a CSV file or a dataset folder`, undefined, 'layout')
    if (family !== 'tabular') throw badData(`${quote(root)} is a single CSV, but ${family} datasets are a folder with a CSV and ${family === 'image' ? 'images/' : 'texts/'} — pass the folder`, undefined, 'layout')
    return {root: path.dirname(root), csv: root}
  }
  if (!st.isDirectory()) throw badData(`${quote(root)} is neither a file nor a folder`, undefined, 'layout')
  let entries
  try {
    entries = await readdir(root, {withFileTypes: true})
  } catch (err) {
    throw badData(`cannot list ${quote(root)} (${(err as NodeJS.ErrnoException).code}) — check its permissions`, undefined, 'path_unreadable')
  }
  const csvs = entries.filter((e) => /\.csv$/i.test(e.name) && !e.name.startsWith('.'))
  const links = csvs.filter((e) => e.isSymbolicLink())
  if (links.length > 0) throw badData(`${someOf(links.map((e) => e.name))} in ${quote(root)} ${links.length === 1 ? 'is a symbolic link' : 'are symbolic links'} — replace with the real file`, undefined, 'symlink')
  const files = csvs.filter((e) => e.isFile()).map((e) => e.name).sort()
  if (files.length === 0) throw badData(`no .csv file in ${quote(root)} — the dataset needs one CSV (${family === 'tabular' ? 'the table' : 'a filename column plus labels'})`, undefined, 'layout')
  if (files.length > 1) {
    if (family !== 'tabular' && files.includes('labels.csv')) return {root, csv: path.join(root, 'labels.csv')}
    throw badData(`${files.length} CSV files in ${quote(root)} (${someOf(files)}) — keep exactly one${family === 'tabular' ? '' : ' (or name the manifest labels.csv)'}`, undefined, 'layout')
  }
  return {root, csv: path.join(root, files[0]!)}
}

async function readSidecar(root: string, subdir: string, exts: readonly string[], onProgress?: Progress): Promise<SidecarDir> {
  const dir = path.join(root, subdir)
  let st
  try {
    st = await lstat(dir)
  } catch {
    throw badData(`missing ${subdir}/ folder in ${quote(root)} — put the ${subdir} next to the CSV in a folder named exactly ${subdir}/`, undefined, 'layout')
  }
  if (st.isSymbolicLink()) throw badData(`${quote(dir)} is a symbolic link — use a real folder`, undefined, 'symlink')
  if (!st.isDirectory()) throw badData(`${quote(dir)} is not a folder`, undefined, 'layout')
  // streamed: a million-entry folder never sits in memory as a million directory entries at once
  const keep: string[] = []
  const skipped: string[] = []
  const links: string[] = []
  for await (const e of await opendir(dir, {bufferSize: 256})) {
    if (e.name.startsWith('.')) continue // hidden files: the ingestor ignores them too
    if (e.isSymbolicLink()) { links.push(e.name); continue }
    if (!e.isFile()) { skipped.push(e.name + '/'); continue }
    const ext = path.extname(e.name).toLowerCase()
    if (exts.includes(ext)) keep.push(e.name)
    else skipped.push(e.name)
  }
  if (links.length > 0) throw badData(`${links.length} symbolic link(s) in ${subdir}/: ${someOf(links.sort())} — replace them with real files (symlinks are refused so nothing outside the dataset gets uploaded)`, undefined, 'symlink')
  if (keep.length === 0) {
    const others = [...new Set(skipped.filter((n) => !n.endsWith('/')).map((n) => path.extname(n).toLowerCase() || '(no extension)'))].sort()
    throw badData(
      others.length > 0
        ? `no ${exts.join('/')} files in ${subdir}/: found ${someOf(skipped.sort())}, and ${others.join(', ')} ${others.length === 1 ? 'is not a type' : 'are not types'} the ingestor takes here — convert them to ${exts.join(', ')}`
        : `no ${exts.join('/')} files in ${subdir}/${skipped.length > 0 ? ` (found only: ${someOf(skipped.sort())})` : ''} — add the ${subdir} the CSV refers to`,
      undefined,
      'layout',
    )
  }
  keep.sort()
  const folder: ListedFolder = {prefix: dir + path.sep, staged: subdir + '/'}
  if (!HEADER_DIRS.has(subdir)) return {subdir, files: await statFiles(folder, keep, onProgress), skipped: skipped.sort()}
  // images and masks: one open per file gives size, mtime and the header (no separate lstat)
  const files = await openImages(folder.prefix, keep, onProgress, undefined, folder.staged)
  return {subdir, files, skipped: skipped.sort()}
}

export async function discoverLayout(input: string, cat: CategoryInfo, onProgress?: Progress): Promise<Layout> {
  const {root, csv} = await findCsv(path.resolve(input), cat.family)
  const warnings: string[] = []
  const dirs: SidecarDir[] = []
  const subdirs = [...(cat.primarySubdir ? [cat.primarySubdir] : []), ...cat.sidecars.map((s) => s.subdir)]
  for (const sd of subdirs) {
    const d = await readSidecar(root, sd, SIDECAR_EXTS[sd]!, onProgress)
    if (d.skipped.length > 0) warnings.push(`skipped ${d.skipped.length} entr${d.skipped.length === 1 ? 'y' : 'ies'} in ${sd}/ that won't be uploaded: ${someOf(d.skipped)}`)
    dirs.push(d)
  }
  let tokenizer: FileEntry | undefined
  if (cat.family === 'text') {
    try {
      const st = await lstat(path.join(root, 'tokenizer.json'))
      if (st.isFile()) tokenizer = {name: 'tokenizer.json', path: path.join(root, 'tokenizer.json'), size: st.size, mtimeMs: st.mtimeMs, dev: st.dev, ino: st.ino}
    } catch {
      // optional
    }
  }
  return {root, csv: await statEntry(csv), dirs, tokenizer, warnings}
}

/** Which families a path could be, from directory entries only (for category detection). */
export async function sniffFamilies(input: string): Promise<Family[]> {
  const p = path.resolve(input)
  const st = await statPath(p)
  if (st.isFile()) return /\.csv$/i.test(p) ? ['tabular'] : []
  if (!st.isDirectory()) return []
  const entries = await readdir(p, {withFileTypes: true})
  const dirs = new Set(entries.filter((e) => e.isDirectory()).map((e) => e.name))
  const csvs = entries.filter((e) => e.isFile() && /\.csv$/i.test(e.name)).length
  if (csvs === 0) return []
  const out: Family[] = []
  if (dirs.has('images')) out.push('image')
  if (dirs.has('texts') || dirs.has('sequences')) out.push('text')
  if (out.length === 0 && csvs === 1) out.push('tabular')
  return out
}
