// `--sample`: a small, representative part of a dataset pushed through the whole pipeline. Classification
// tasks are sampled per label (every label kept, each label's share within one record of the dataset's);
// other tasks uniformly. The choice is a seeded shuffle, so a seed gives the same rows on every run. The
// sample's CSV is written to a private temp folder and listed in the plan as the labels.csv to stage; the
// sidecar files (images, annotations, masks, texts) of the rows kept follow, nothing else.
import {createHash} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {open, stat} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {quoteUser} from '../output/truncate.js'
import type {CategoryInfo} from './categories.js'
import {scanCsv} from './csv.js'
import type {Layout} from './layout.js'
import {referencedName} from './manifest.js'
import {badData, badInput} from './problems.js'

export interface SampleSpec {
  /** A number of records (sequences for grouped time series) … */
  count?: number
  /** … or a share of them, in percent. */
  percent?: number
  seed: number
}

/** What the plan reports about a sample. */
export interface SampleInfo {
  /** Records kept / records in the dataset (sequences for grouped time series). */
  records: number
  of: number
  /** CSV rows written (equals `records` unless rows are grouped into sequences). */
  rows: number
  seed: number
  /** The label column the sample was stratified by; undefined for a uniform sample. */
  stratifiedBy?: string
  /** Records per label in the sample and in the dataset (stratified samples). */
  labels?: Record<string, {sample: number; dataset: number}>
  /** Sidecar files kept per folder. */
  files: Record<string, number>
}

/** "500" → {count: 500}; "10%" → {percent: 10}. */
export function parseSampleFlag(value: string): Pick<SampleSpec, 'count' | 'percent'> {
  const v = value.trim()
  if (/^\d+$/.test(v) && Number(v) >= 1) return {count: Number(v)}
  const m = /^(\d+(?:\.\d+)?)%$/.exec(v)
  if (m && Number(m[1]) > 0 && Number(m[1]) <= 100) return {percent: Number(m[1])}
  throw badInput(`--sample ${quoteUser(value)} is neither a number of records (e.g. 500) nor a percentage (e.g. 10%)`, 'pass --sample N (N ≥ 1) or --sample P% (0 < P ≤ 100)', 'bad_flag')
}

/** mulberry32 seeded from sha256(seed): small, fast and the same on every platform. */
export function seededRandom(seed: number): () => number {
  let a = createHash('sha256').update(`tracebloc-sample:${seed}`).digest().readUInt32LE(0)
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/**
 * How many records of each stratum to keep: every stratum at least one, the rest by largest remainder, so
 * each count is within one record of `n` × its share. The total exceeds `n` only by the labels rarer than
 * one record of the sample that are kept anyway (taking those records from another label would move it
 * more than one record off its share).
 */
export function allocate(sizes: readonly number[], n: number): number[] {
  const total = sizes.reduce((a, b) => a + b, 0)
  if (n >= total) return [...sizes]
  const exact = sizes.map((s) => (n * s) / total)
  const out = exact.map((q, i) => Math.min(sizes[i]!, Math.max(1, Math.floor(q))))
  let left = n - out.reduce((a, b) => a + b, 0)
  const order = exact.map((q, i) => i).filter((i) => out[i]! < exact[i]! && out[i]! < sizes[i]!).sort((a, b) => exact[b]! - Math.floor(exact[b]!) - (exact[a]! - Math.floor(exact[a]!)) || a - b)
  for (const i of order) {
    if (left <= 0) break
    out[i]!++
    left--
  }
  return out
}

/** Picks `k` of `items` with a seeded partial Fisher–Yates shuffle. */
function pick(items: number[], k: number, rnd: () => number): number[] {
  const a = [...items]
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rnd() * (a.length - i))
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a.slice(0, k)
}

const csvField = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s)

/** Temp folders holding sample CSVs: removed when the process exits. */
const tempDirs: string[] = []
function sampleDir(): string {
  if (tempDirs.length === 0) process.once('exit', () => { for (const d of tempDirs) rmSync(d, {recursive: true, force: true}) })
  const d = mkdtempSync(path.join(os.tmpdir(), 'tracebloc-sample-'))
  tempDirs.push(d)
  return d
}

/**
 * Writes the sample's CSV and narrows the layout to it: `layout.csv` becomes the sample CSV and each
 * sidecar folder keeps only the files of the rows kept. `label` is the label column as the header spells
 * it (stratify by it for classification tasks).
 */
export async function sampleLayout(cat: CategoryInfo, layout: Layout, label: string | undefined, extension: string | undefined, spec: SampleSpec): Promise<SampleInfo> {
  const file = layout.csv.path
  const stratify = cat.classification && label !== undefined
  const group = cat.grouping?.groupColumn
  // Pass 1: the stratum (label) of every record, and the record (sequence) of every row.
  let labelIdx = -1
  let groupIdx = -1
  const labelIds = new Map<string, number>()
  const recordOfRow: number[] = []
  const stratumOfRecord: number[] = []
  const recordIds = new Map<string, number>()
  await scanCsv(file, {
    onHeader(h) {
      labelIdx = stratify ? h.indexOf(label) : -1
      groupIdx = group ? h.indexOf(group) : -1
    },
    onRow(f) {
      let stratum = 0
      if (labelIdx >= 0) {
        const v = f.cell(labelIdx).trim()
        stratum = labelIds.get(v) ?? labelIds.size
        if (stratum === labelIds.size) labelIds.set(v, stratum)
      }
      let rec: number
      if (groupIdx >= 0) {
        const g = f.cell(groupIdx)
        rec = recordIds.get(g) ?? recordIds.size
        if (rec === recordIds.size) {
          recordIds.set(g, rec)
          stratumOfRecord.push(stratum) // a sequence has one label (preflight checked it)
        }
      } else {
        rec = stratumOfRecord.length
        stratumOfRecord.push(stratum)
      }
      recordOfRow.push(rec)
    },
  })
  const records = stratumOfRecord.length
  const want = spec.count ?? Math.max(1, Math.round((records * spec.percent!) / 100))
  const strata: number[][] = Array.from({length: Math.max(1, labelIds.size)}, () => [])
  stratumOfRecord.forEach((s, r) => strata[s]!.push(r))
  const counts = allocate(strata.map((s) => s.length), want)
  const rnd = seededRandom(spec.seed)
  const keep = new Set<number>()
  strata.forEach((s, i) => { for (const r of pick(s, counts[i]!, rnd)) keep.add(r) })

  // Pass 2: write the kept rows in their original order; note the files they name.
  const out = path.join(sampleDir(), 'labels.csv')
  const fh = await open(out, 'w', 0o600)
  const refs = new Set<string>()
  let fnIdx = -1
  let rows = 0
  let pending: string[] = []
  const flush = async () => {
    if (pending.length > 0) await fh.write(pending.join(''))
    pending = []
  }
  try {
    let rowNo = 0
    const res = await scanCsv(file, {
      onHeader(h) {
        fnIdx = h.indexOf('filename')
      },
      onRow(f) {
        if (!keep.has(recordOfRow[rowNo++]!)) return
        rows++
        if (fnIdx >= 0) refs.add(f.cell(fnIdx))
        pending.push(f.cells().map(csvField).join(',') + '\n')
      },
    })
    await fh.write((res.rawHeader ?? []).map(csvField).join(',') + '\n')
    // rows were buffered while scanning (the scan is synchronous per row); written after the header
    await flush()
  } finally {
    await fh.close()
  }
  const st = await stat(out)
  layout.csv = {name: 'labels.csv', path: out, size: st.size, mtimeMs: st.mtimeMs, dev: st.dev, ino: st.ino}

  // Sidecars follow their rows: the files the kept rows name, then annotations/masks of those images.
  const files: Record<string, number> = {}
  const primary = cat.primarySubdir
  if (primary) {
    if (fnIdx < 0) throw badData(`--sample needs a "filename" column in ${quoteUser(path.basename(file))} to know which ${primary}/ files belong to the rows kept`, 'add the filename column, or push without --sample', 'sample_no_filename')
    const dir = layout.dirs.find((d) => d.subdir === primary)!
    const ext = extension ?? path.extname(dir.files.length > 0 ? dir.files.name(0) : '').toLowerCase()
    const names = new Set([...refs].map((c) => referencedName(c, ext)))
    dir.files = dir.files.filter((f) => names.has(f.name))
    const stems = new Set(dir.files.map((f) => f.name.slice(0, f.name.length - path.extname(f.name).length)))
    for (const d of layout.dirs) {
      if (d.subdir === 'annotations') d.files = d.files.filter((f) => stems.has(f.name.replace(/\.xml$/i, '')))
      if (d.subdir === 'masks') d.files = d.files.filter((f) => stems.has(f.name.replace(/_mask\.png$/i, '')))
    }
  }
  for (const d of layout.dirs) files[d.subdir] = d.files.length

  const info: SampleInfo = {records: keep.size, of: records, rows, seed: spec.seed, files}
  if (labelIds.size > 0) {
    info.stratifiedBy = label
    info.labels = {}
    for (const [v, i] of [...labelIds].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) info.labels[v] = {sample: counts[i]!, dataset: strata[i]!.length}
  }
  return info
}
