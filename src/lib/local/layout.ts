// Layout discovery: where the CSV is and which sidecar files get staged (layout.v1.json). Reads
// directory entries and lstat; image files are opened once instead (size and mtime from the open
// descriptor, plus the few header bytes preflight checks), so 100 000 images cost one open each.
import {lstatSync} from 'node:fs'
import {lstat, opendir, readdir} from 'node:fs/promises'
import path from 'node:path'

import type {CategoryInfo, Family} from './categories.js'
import {openImage, openImageSync, type OpenedImage} from './image-header.js'
import type {CliError} from '../output/errors.js'
import {type FileEntry, FileList, PackedNames} from './file-list.js'
import {mapLimit} from './map-limit.js'
import {badData, quote, someOf} from './problems.js'

export interface SidecarDir {
  subdir: string
  files: FileList
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

export type {FileEntry} from './file-list.js'
export {FileList, ListedFile} from './file-list.js'

/**
 * Open every image once (size, mtime, identity and header from one descriptor). Symbolic links that
 * slipped past the listing are refused. `staged` is the folder's path in the staged copy.
 */
export async function openImages(prefix: string, names: readonly string[] | SortedNames, onProgress?: Progress, slowMsPerFile = 0.3, staged = ''): Promise<FileList> {
  const source = nameSource(names)
  const list = new FileList(prefix, staged, source.length)
  const add = (n: string, o: OpenedImage): void => list.push(n, o.size, o.mtimeMs, o.dev, o.ino, o.probe)
  const symlink = (n: string): CliError =>
    badData(`${quote(prefix + n)} is a symbolic link — replace it with the real file (symlinks are refused so nothing outside the dataset gets uploaded)`, undefined, 'symlink')
  await eachFile(
    source,
    (n) => {
      try {
        return openImageSync(prefix + n)
      } catch {
        throw symlink(n)
      }
    },
    async (n) => {
      try {
        return await openImage(prefix + n)
      } catch {
        throw symlink(n)
      }
    },
    add,
    (files) => onProgress?.({phase: 'Checking images', files}),
    slowMsPerFile,
  )
  return list
}

/** lstat every listed file once: size, mtime and identity, which staging checks again when it opens the file. */
async function statFiles(prefix: string, staged: string, names: SortedNames, onProgress?: Progress): Promise<FileList> {
  const list = new FileList(prefix, staged, names.order.length)
  type Facts = {size: number; mtimeMs: number; dev: number; ino: number}
  await eachFile<Facts>(
    nameSource(names),
    (n) => lstatSync(prefix + n),
    (n) => lstat(prefix + n),
    (n, st) => list.push(n, st.size, st.mtimeMs, st.dev, st.ino),
    (files) => onProgress?.({phase: 'Listing files', files}),
  )
  return list
}

/** A folder's names in byte order, without a string per name. */
interface SortedNames {
  packed: PackedNames
  order: Uint32Array
}

function nameSource(names: readonly string[] | SortedNames): {length: number; at: (k: number) => string} {
  if (Array.isArray(names)) return {length: names.length, at: (k) => names[k]!}
  const {packed, order} = names as SortedNames
  return {length: order.length, at: (k) => packed.get(order[k]!)}
}

/**
 * One call per file, handed to `add` in order. Batches of blocking calls while the files come from the
 * page cache (the common re-run case, and several times faster than the thread pool, with no promise
 * per file), yielding between batches so progress keeps rendering; once a batch averages more than
 * 0.3 ms a file the disk is really being read, and the rest go through the thread pool with 16 in
 * flight so slow storage sees parallel requests.
 */
async function eachFile<T>(names: {length: number; at: (k: number) => string}, sync: (n: string) => T, background: (n: string) => Promise<T>, add: (n: string, v: T) => void, progress: (files: number) => void, slowMsPerFile = 0.3): Promise<void> {
  let i = 0
  while (i < names.length) {
    const t0 = performance.now()
    const end = Math.min(names.length, i + (i === 0 ? 32 : 256)) // a small first batch finds a slow disk early
    const batch = end - i
    for (; i < end; i++) {
      const n = names.at(i)
      add(n, sync(n))
    }
    const slow = (performance.now() - t0) / batch > slowMsPerFile
    if (i === names.length || i % 4096 < 256) progress(i)
    if (i < names.length) await new Promise((r) => setImmediate(r))
    if (slow) break
  }
  // in windows of 1024, each added before the next starts: only a window's results are ever held
  while (i < names.length) {
    const window = Array.from({length: Math.min(1024, names.length - i)}, (_, k) => names.at(i + k))
    const got = await mapLimit(window, 16, background)
    got.forEach((v, k) => add(window[k]!, v))
    i += window.length
    progress(i)
  }
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
  // streamed: a million-entry folder never sits in memory as a million directory entries or names at once
  const keep = new PackedNames()
  const skipped: string[] = []
  const links: string[] = []
  for await (const e of await opendir(dir, {bufferSize: 256})) {
    if (e.name.startsWith('.')) continue // hidden files: the ingestor ignores them too
    if (e.isSymbolicLink()) { links.push(e.name); continue }
    if (!e.isFile()) { skipped.push(e.name + '/'); continue }
    const ext = path.extname(e.name).toLowerCase()
    if (exts.includes(ext)) keep.add(e.name)
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
  const sorted: SortedNames = {packed: keep, order: keep.sortedOrder()}
  const prefix = dir + path.sep
  if (!HEADER_DIRS.has(subdir)) return {subdir, files: await statFiles(prefix, subdir + '/', sorted, onProgress), skipped: skipped.sort()}
  // images and masks: one open per file gives size, mtime and the header (no separate lstat)
  const files = await openImages(prefix, sorted, onProgress, undefined, subdir + '/')
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
