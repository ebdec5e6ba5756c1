// The local preflight of a remote dataset without its bytes. The prefix is listed (paged) and mirrored
// as a skeleton folder on this machine: the CSV, tokenizer.json and the small text sidecars (texts/,
// sequences/, annotations/) are downloaded whole; every image (images/, masks/) becomes an empty
// placeholder of the same name. The local planner then runs on the skeleton exactly as for a folder on
// disk (category detection, CSV checks, names, extensions, the CSV ↔ files cross-check), and a hook
// gives it each image's real size from the listing and its header from a ranged GET for a bounded,
// stratified sample. Nothing else of the dataset touches this machine.
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {probeImage, type ImageProbe} from '../local/image-header.js'
import type {DatasetPlan, PlanOptions} from '../local/index.js'
import type {Layout} from '../local/layout.js'
import {mapLimit} from '../local/map-limit.js'
import {CliError, ExitCode, isCliError} from '../output/errors.js'
import {type ArchiveIndex, archiveKind, type ArchiveKind, archiveRoot, readZipIndex, readZipMember, scanTar} from './archive.js'
import type {ObjectFacts} from './facts.js'
import {httpsFacts, type HttpsFacts, httpsGetRange, httpsGetSmall} from './https.js'
import type {RemoteBucket, StoreOptions} from './s3.js'
import type {RemoteSource} from './url.js'

/** Largest CSV or text sidecar read onto this machine (a bigger one is a sign of the wrong prefix). */
const MAX_SMALL_BYTES = 2 * 1024 ** 3
/** Images whose headers are read (ranged GETs), at most: spread over sizes and extensions. */
export const HEADER_SAMPLE = 256
/** Header reads: 4 KiB (what a local probe reads), longer only for a JPEG whose EXIF/ICC segments come first. */
const HEAD_READS = [4096, 64 * 1024, 1024 * 1024]

const TEXT_DIRS = new Set(['texts', 'sequences', 'annotations'])
const IMAGE_DIRS = new Set(['images', 'masks'])

export interface RemoteOptions extends StoreOptions {
  /** Trust these CAs for the store (PEM file); also handed to the stage pod. */
  caBundle?: string
  /** Forward HTTPS_PROXY / NO_PROXY of this machine to the stage pod. */
  forwardProxy?: boolean
  /** sha256 the user vouches for, of a single https:// object (`--sha256`). */
  sha256?: string
}

/** An https:// archive read like the folder inside it. */
export interface RemoteArchive {
  kind: ArchiveKind
  url: string
  /** The archive's size (Content-Length): pulled, then unpacked beside itself on the PVC. */
  size: number
  /** The folder inside the archive the dataset starts at ('' for the archive's top). */
  root: string
  index: ArchiveIndex
  /** tar: every image's header, probed as the stream passed it (the bytes are gone by now). */
  probes?: Map<string, ImageProbe>
}

/** One object of the dataset: where it lands in the staged copy and how to fetch it. */
export interface RemoteObject {
  stagedPath: string
  /** Object key (s3/gs) or URL (https). */
  key: string
  size: number
  etag: string
}

export interface RemoteDataset {
  source: RemoteSource
  /** The source as shown everywhere: no query string. */
  display: string
  bucket?: RemoteBucket
  /** Skeleton folder the local planner reads (removed once planning is done). */
  skeleton: string
  /** Listed objects by their path relative to the prefix. */
  listed: Map<string, {key: string; size: number; etag: string}>
  /** Bytes that came to this machine (CSV, text sidecars, header ranges). */
  bytesRead: number
  /** Which checks ran on every object and which on a sample. */
  checks: {everyObject: string[]; sampled: string[]; sampleSize: number; images: number}
  archive?: RemoteArchive
  /** sha256 the downloaded https:// object must have (`--sha256` or a SHA256SUMS file beside it). */
  sha256?: string
  /** Where that sha256 came from, for messages. */
  sha256From?: string
  /** TLS options for https:// reads. */
  https?: {caBundle?: string}
}

const badInput = (message: string, hint: string, reason: string) => new CliError(message, {exitCode: ExitCode.BAD_INPUT, hint, reason})

/** Lists the source and writes the skeleton. Throws a one-line CliError for a missing or empty source. */
export async function openRemoteDataset(src: RemoteSource, o: RemoteOptions, signal?: AbortSignal, onProgress?: (p: {phase: string; files?: number; bytes?: number}) => void): Promise<RemoteDataset> {
  const skeleton = mkdtempSync(path.join(os.tmpdir(), 'tracebloc-remote-'))
  const ds: RemoteDataset = {source: src, display: src.display, skeleton, listed: new Map(), bytesRead: 0, checks: {everyObject: [], sampled: [], sampleSize: 0, images: 0}}
  try {
    if (o.sha256 !== undefined && src.kind !== 'https') throw badInput('--sha256 is for an https:// source', 'drop it: s3:// and gs:// objects are checked against the store\'s own ETag and checksums', 'bad_flag')
    if (src.kind === 'https') {
      const file = decodeURIComponent(new URL(src.url).pathname.split('/').pop() ?? '')
      const kind = archiveKind(file)
      if (!kind && !/\.csv$/i.test(file)) throw badInput(`${src.display}: an https:// source must be a .csv file or an archive (.tar, .tar.gz, .tgz, .zip)`, 'pass the URL of the CSV (tabular data) or of an archive of the dataset folder, or a bucket prefix', 'unsupported_source')
      ds.https = {caBundle: o.caBundle}
      const facts = await httpsFacts(src.url, {caBundle: o.caBundle, signal})
      if (facts.size === 0) throw badInput(`${src.display} is empty (0 bytes)`, 'check the URL', 'empty_source')
      await expectedSha256(ds, src.url, file, o, signal)
      if (kind) {
        await openArchive(ds, kind, src.url, facts, o, signal, onProgress)
        return ds
      }
      if (facts.size > MAX_SMALL_BYTES) throw badInput(`${src.display} is larger than ${MAX_SMALL_BYTES} bytes`, 'split the table', 'object_too_large')
      const body = await httpsGetRange(src.url, 0, facts.size - 1, {caBundle: o.caBundle, signal})
      ds.bytesRead += body.length
      writeFileSync(path.join(skeleton, file), body)
      ds.listed.set(file, {key: src.url, size: facts.size, etag: facts.etag ?? ''})
      return ds
    }
    const {openBucket} = await import('./s3.js')
    const bucket = await openBucket(src, o)
    ds.bucket = bucket
    // a key ending in .csv is one table; anything else is a folder-like prefix
    const single = /\.csv$/i.test(src.key)
    const prefix = single || src.key === '' || src.key.endsWith('/') ? src.key : `${src.key}/`
    if (single) {
      const h = await bucket.head(src.key, signal)
      ds.listed.set(src.key.split('/').pop()!, {key: src.key, size: h.size, etag: h.etag})
    } else {
      for await (const page of bucket.list(prefix, {signal})) {
        for (const obj of page) {
          const rel = obj.key.slice(prefix.length)
          if (!rel || rel.endsWith('/')) continue // folder markers
          ds.listed.set(rel, {key: obj.key, size: obj.size, etag: obj.etag})
        }
        onProgress?.({phase: 'Listing the source', files: ds.listed.size})
      }
    }
    if (ds.listed.size === 0) throw badInput(`nothing under ${src.display}: the prefix is empty or does not exist`, `check the prefix (aws s3 ls ${src.display})`, 'empty_prefix')
    // the skeleton: small files whole, images as empty placeholders
    const small: string[] = []
    for (const rel of ds.listed.keys()) {
      const parts = rel.split('/')
      if (parts.some((s) => s === '..' || s === '.' || s === '')) continue
      const top = parts.length === 1
      if (top && (/\.csv$/i.test(rel) || rel === 'tokenizer.json')) small.push(rel)
      else if (!top && TEXT_DIRS.has(parts[0]!)) small.push(rel)
      else if (!top && IMAGE_DIRS.has(parts[0]!)) place(skeleton, rel, '')
    }
    let n = 0
    await mapLimit(small, 16, async (rel) => {
      const o = ds.listed.get(rel)!
      const body = o.size === 0 ? Buffer.alloc(0) : await bucket.getSmall(o.key, MAX_SMALL_BYTES, signal)
      ds.bytesRead += body.length
      place(skeleton, rel, body)
      if (++n % 100 === 0) onProgress?.({phase: 'Reading the CSV and text files', files: n, bytes: ds.bytesRead})
    })
    return ds
  } catch (error) {
    rmSync(skeleton, {recursive: true, force: true})
    throw error
  }
}

/** `--sha256`, else the file's line in a SHA256SUMS beside the URL (when the server has one). */
async function expectedSha256(ds: RemoteDataset, url: string, file: string, o: RemoteOptions, signal?: AbortSignal): Promise<void> {
  if (o.sha256 !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(o.sha256)) throw badInput('--sha256 must be 64 hex digits', 'pass the output of sha256sum for the file', 'bad_flag')
    ds.sha256 = o.sha256.toLowerCase()
    ds.sha256From = '--sha256'
    return
  }
  const u = new URL(url)
  u.search = ''
  u.pathname = u.pathname.replace(/[^/]*$/, 'SHA256SUMS')
  const sums = await httpsGetSmall(u.href, 16 * 1024 * 1024, {caBundle: o.caBundle, signal})
  if (!sums) return
  ds.bytesRead += sums.length
  for (const line of sums.toString('utf8').split('\n')) {
    // `sha256sum` writes "<hex>  <name>" (text) or "<hex> *<name>" (binary)
    const m = /^([0-9a-fA-F]{64}) [ *](.+?)\r?$/.exec(line)
    if (m && (m[2] === file || m[2] === `./${file}`)) {
      ds.sha256 = m[1]!.toLowerCase()
      ds.sha256From = 'SHA256SUMS'
      return
    }
  }
}

const SMALL_FILE = (rel: string) => {
  const parts = rel.split('/')
  return parts.length === 1 ? /\.csv$/i.test(rel) || rel === 'tokenizer.json' : TEXT_DIRS.has(parts[0]!)
}
const IMAGE_FILE = (rel: string) => rel.includes('/') && IMAGE_DIRS.has(rel.slice(0, rel.indexOf('/')))

/** Indexes an archive (zip: its central directory; tar: one streamed read) and writes the skeleton from it. */
async function openArchive(ds: RemoteDataset, kind: ArchiveKind, url: string, facts: HttpsFacts, o: RemoteOptions, signal?: AbortSignal, onProgress?: (p: {phase: string; files?: number; bytes?: number}) => void): Promise<void> {
  const ho = {caBundle: o.caBundle, signal}
  const probes = new Map<string, ImageProbe>()
  onProgress?.({phase: kind === 'zip' ? 'Reading the archive\'s index' : 'Reading the archive (tar has no index: one streamed pass)'})
  // while a tar streams by its root is not known yet: a member counts as needed under either reading
  const rels = (name: string) => [name, name.slice(name.indexOf('/') + 1)]
  const index =
    kind === 'zip'
      ? await readZipIndex(url, facts.size, ds.display, ho)
      : await scanTar(url, kind === 'tgz', ds.display, {keep: (name) => (rels(name).some(SMALL_FILE) ? MAX_SMALL_BYTES : rels(name).some(IMAGE_FILE) ? HEAD_READS.at(-1)! : 0), onMember: (name, body) => probeTarImage(ds, name, body, probes)}, ho)
  ds.bytesRead += index.bytesRead
  if (kind !== 'zip' && ds.sha256 && index.sha256 !== ds.sha256) throw sha256Mismatch(ds)
  const root = archiveRoot(index.entries)
  ds.archive = {kind, url, size: facts.size, root, index, probes: kind === 'zip' ? undefined : probes}
  // one version for every member: the archive's own (a changed archive is pulled again whole)
  const tag = `a:${facts.etag ?? index.sha256 ?? ds.sha256 ?? `${facts.size}-${facts.lastModified ?? ''}`}`.replace(/\s/g, '_')
  for (const e of index.entries) {
    if (root && !e.name.startsWith(`${root}/`)) continue
    ds.listed.set(root ? e.name.slice(root.length + 1) : e.name, {key: e.name, size: e.size, etag: tag})
  }
  if (ds.listed.size === 0) throw badInput(`${ds.display} holds no files`, 'check the archive', 'empty_source')
  let n = 0
  await mapLimit([...ds.listed.keys()], 8, async (rel) => {
    const l = ds.listed.get(rel)!
    if (SMALL_FILE(rel)) {
      if (l.size > MAX_SMALL_BYTES) throw badInput(`${ds.display}: ${rel} is larger than ${MAX_SMALL_BYTES} bytes`, 'split the table', 'object_too_large')
      let body = index.bodies.get(l.key)
      if (!body) {
        const r = await readZipMember(url, index.entries.find((e) => e.name === l.key)!, ho)
        ds.bytesRead += r.read
        body = r.body
      }
      place(ds.skeleton, rel, body)
      if (++n % 100 === 0) onProgress?.({phase: 'Reading the CSV and text files', files: n, bytes: ds.bytesRead})
    } else if (IMAGE_FILE(rel)) place(ds.skeleton, rel, '')
  })
}

/** tar: an image is probed as it streams by (its first bytes only), so every image is checked, not a sample. */
async function probeTarImage(ds: RemoteDataset, name: string, body: Buffer, probes: Map<string, ImageProbe>): Promise<void> {
  if (!IMAGE_FILE(name) && !IMAGE_FILE(name.slice(name.indexOf('/') + 1))) return
  const file = path.join(ds.skeleton, `.probe${path.extname(name)}`)
  writeFileSync(file, body)
  probes.set(name, await probeImage(file))
  rmSync(file, {force: true})
  ds.archive?.index.bodies.delete(name)
}

export function sha256Mismatch(ds: RemoteDataset): CliError {
  return new CliError(`${ds.display} does not match its sha256 from ${ds.sha256From ?? 'the source'}`, {exitCode: ExitCode.STAGING, reason: 'sha256_mismatch', hint: 'the file changed or the checksum is wrong: fix one of them and push again; nothing was swapped in'})
}

function place(root: string, rel: string, body: string | Buffer): void {
  const p = path.join(root, ...rel.split('/'))
  mkdirSync(path.dirname(p), {recursive: true})
  writeFileSync(p, body)
}

/**
 * The planner hook: image entries get their real size (every object) and a header, read by a ranged GET
 * for up to HEADER_SAMPLE of them (the smallest and largest of each extension, then evenly spaced by
 * size); the rest are taken to look like the nearest sampled image of their extension, and the ingestor
 * reads every one of them in the cluster.
 */
export function remoteLayoutHook(ds: RemoteDataset, signal?: AbortSignal): NonNullable<PlanOptions['adjustLayout']> {
  return async (layout: Layout) => {
    const everyObject = ['listed in the store', 'named in the CSV', 'a supported extension', 'a file name the ingestor takes']
    const images = layout.dirs.filter((d) => IMAGE_DIRS.has(d.subdir)).flatMap((d) => d.files.map((f) => ({d: d.subdir, f})))
    for (const {d, f} of images) {
      const o = ds.listed.get(`${d}/${f.name}`)
      if (o) f.size = o.size
      f.mtimeMs = 0
      f.dev = undefined
      f.ino = undefined
      if (f.size === 0) f.header = {ok: false, reason: 'empty', detail: 'empty object, 0 bytes'}
    }
    if (images.length > 0) everyObject.push('a non-zero size')
    const nonEmpty = images.filter(({f}) => f.size > 0)
    const probes = ds.archive?.probes
    if (probes) {
      // a tar: every image was probed as the archive streamed through this machine
      for (const {d, f} of nonEmpty) f.header = probes.get(ds.listed.get(`${d}/${f.name}`)?.key ?? '') ?? {ok: false, reason: 'unreadable', detail: 'not read'}
      if (images.length > 0) everyObject.push('image header (type, resolution)')
      ds.checks = {everyObject, sampled: [], sampleSize: 0, images: images.length}
      return
    }
    const sample = stratifiedSample(nonEmpty, HEADER_SAMPLE)
    await mapLimit(sample, 16, async ({d, f}) => {
      const rel = `${d}/${f.name}`
      const o = ds.listed.get(rel)!
      f.header = await readHeader(ds, o.key, o.size, path.join(ds.skeleton, ...rel.split('/')), signal)
    })
    // the rest: like the nearest sampled image of the same extension (by size order)
    const sampled = new Set(sample)
    const byExt = new Map<string, Array<{size: number; header: ImageProbe}>>()
    for (const s of sample) {
      const e = path.extname(s.f.name).toLowerCase()
      if (s.f.header?.ok) byExt.set(e, [...(byExt.get(e) ?? []), {size: s.f.size, header: s.f.header}])
    }
    for (const x of nonEmpty) {
      if (sampled.has(x)) continue
      const near = byExt.get(path.extname(x.f.name).toLowerCase())
      x.f.header = near ? near.reduce((a, b) => (Math.abs(b.size - x.f.size) < Math.abs(a.size - x.f.size) ? b : a)).header : {ok: false, reason: 'invalid', detail: 'no readable image of this type in the sample'}
    }
    ds.checks = {everyObject, sampled: images.length > 0 ? ['image header (type, resolution)'] : [], sampleSize: sample.length, images: images.length}
  }
}

/** Up to `max` entries: each extension's smallest and largest, then evenly spaced over the size order. */
export function stratifiedSample<T extends {f: {name: string; size: number}}>(items: T[], max: number): T[] {
  if (items.length <= max) return [...items]
  const sorted = [...items].sort((a, b) => a.f.size - b.f.size)
  const pick = new Set<T>()
  const byExt = new Map<string, T[]>()
  for (const x of sorted) {
    const e = path.extname(x.f.name).toLowerCase()
    byExt.set(e, [...(byExt.get(e) ?? []), x])
  }
  for (const list of byExt.values()) {
    pick.add(list[0]!)
    pick.add(list.at(-1)!)
  }
  const step = sorted.length / Math.max(1, max - pick.size)
  for (let i = 0; pick.size < max && i < sorted.length; i += step) pick.add(sorted[Math.floor(i)]!)
  // steps that landed on an item already taken: fill from the middle of the size order outwards
  for (let k = 0; pick.size < max && k < sorted.length; k++) pick.add(sorted[(Math.floor(sorted.length / 2) + k) % sorted.length]!)
  return [...pick].slice(0, max)
}

async function readHeader(ds: RemoteDataset, key: string, size: number, file: string, signal?: AbortSignal): Promise<ImageProbe> {
  const a = ds.archive
  const get = async (n: number): Promise<Buffer> => {
    if (ds.bucket) return ds.bucket.getRange(key, 0, Math.min(size, n) - 1, signal)
    if (!a) return httpsGetRange(key, 0, Math.min(size, n) - 1, {...ds.https, signal})
    // tar: the prefix kept while the archive streamed by; zip: the member's first bytes by range
    if (a.kind !== 'zip') return (a.index.bodies.get(key) ?? Buffer.alloc(0)).subarray(0, n)
    const r = await readZipMember(a.url, a.index.entries.find((e) => e.name === key)!, {...ds.https, signal}, Math.min(size, n))
    ds.bytesRead += r.read
    return r.body
  }
  let p: ImageProbe = {ok: false, reason: 'unreadable', detail: 'not read'}
  for (const n of HEAD_READS) {
    const body = await get(n)
    if (!a) ds.bytesRead += body.length
    writeFileSync(file, body)
    p = await probeImage(file)
    if (p.ok || body.length >= size || a?.kind === 'tar' || a?.kind === 'tgz' || !/ends|truncated/.test(p.detail)) break
  }
  return p
}

/** The objects to pull for a plan: each staged file back to its object. */
export function remoteObjects(ds: RemoteDataset, plan: DatasetPlan): RemoteObject[] {
  return plan.files.map((f) => {
    const rel = path.relative(ds.skeleton, f.localPath).split(path.sep).join('/')
    const o = ds.listed.get(rel)
    if (!o) throw new CliError(`internal: ${rel} is not in the listing`, {exitCode: ExitCode.GENERIC, reason: 'internal'})
    return {stagedPath: f.stagedPath, key: o.key, size: o.size, etag: o.etag}
  })
}

/** Local messages name skeleton paths: show the source URL instead. */
export function showSource(error: unknown, ds: RemoteDataset): unknown {
  if (!isCliError(error)) return error
  const single = ds.source.kind === 'https' && !ds.archive
  const base = ds.display.endsWith('/') || single ? ds.display : `${ds.display}/`
  const swap = (s: string) => s.split(`${ds.skeleton}${path.sep}`).join(single ? base.slice(0, base.lastIndexOf('/') + 1) : base).split(ds.skeleton).join(ds.display)
  error.message = swap(error.message)
  if (error.hint) (error as {hint?: string}).hint = swap(error.hint)
  return error
}

export function dropSkeleton(ds: RemoteDataset): void {
  rmSync(ds.skeleton, {recursive: true, force: true})
}

/** The facts a pull checks against, from a HEAD (s3/gs) or the listing (https). */
export type PullFacts = Pick<ObjectFacts, 'size' | 'etagKind' | 'md5' | 'etag' | 'checksums'>
