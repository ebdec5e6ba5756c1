// JSON documents and human tables for `dataset list` / `show`. The list document keeps the Go CLI's
// `data list --output-json` fields (docs/protocol.md#list-json; arrays never null) and adds its own.
import {REGISTRY} from '../local/categories.js'
import {ago, count, humanBytes, isoSeconds} from '../output/format.js'
import {STAGING_ROOT} from '../pvc/paths.js'
import type {Dataset} from './catalog.js'
import {FRAMEWORK_COLUMNS} from './catalog.js'
import {sanitize} from './names.js'

export type Modality = 'Image' | 'Text' | 'Tabular' | 'Time-series' | 'Other'

export function modality(d: Dataset): Modality {
  const fam = d.task ? REGISTRY.get(d.task)?.family : undefined
  if (fam === 'image') return 'Image'
  if (fam === 'text') return 'Text'
  if (d.task?.startsWith('time_')) return 'Time-series'
  if (fam === 'tabular') return 'Tabular'
  const ext = d.extension?.toLowerCase()
  if (ext === 'jpg' || ext === 'jpeg' || ext === 'png') return 'Image'
  if (ext === 'txt' || ext === 'text') return 'Text'
  const names = new Set(d.columns.map((c) => c.name))
  if (names.has('sequence_id') || names.has('timestamp') || (names.has('time') && names.has('event'))) return 'Time-series'
  if (d.records > 0 && d.columns.some((c) => !FRAMEWORK_COLUMNS.has(c.name))) return 'Tabular'
  return 'Other'
}

export function featureCount(d: Dataset): number {
  return d.columns.filter((c) => !FRAMEWORK_COLUMNS.has(c.name)).length
}

/** The Go CLI's format cell: extension / `csv · N cols` / `files`, plus ` · K classes` when 2 ≤ K < records. */
export function formatCell(d: Dataset): string {
  const m = modality(d)
  let f = m === 'Image' || m === 'Text' ? (d.extension ?? 'files') : m === 'Tabular' || m === 'Time-series' ? `csv · ${featureCount(d)} cols` : d.records > 0 || d.files?.files ? 'files' : '—'
  if (d.classes !== undefined && d.classes >= 2 && d.classes < d.records) f += ` · ${d.classes} classes`
  return f
}

/** Where the data is: in MySQL and on the PVC, only staged (whole or partial copies), or only files left without a table. */
export function state(d: Dataset): string {
  const partial = d.partials?.length ? `partial staged cop${d.partials.length > 1 ? 'ies' : 'y'}` : undefined
  if (d.stagedOnly) return `${[d.staged ? 'staged copy' : undefined, partial].filter(Boolean).join(' + ')} only (no table)`
  const parts = [d.tables.length === 0 ? 'files only (no table)' : d.records === 0 ? 'empty table' : 'ingested']
  if (d.staged) parts.push('staged copy')
  if (partial) parts.push(partial)
  return parts.join(' + ')
}

const iso = (epoch?: number) => (epoch ? isoSeconds(epoch * 1000) : undefined)
const labelled = (d: Dataset) => d.task === undefined || REGISTRY.get(d.task)?.labelForm !== 'none'

export function listDetail(d: Dataset) {
  return {
    name: d.name,
    ...(d.task ? {task: d.task} : {}),
    modality: modality(d),
    ...(d.intent ? {intent: d.intent} : {}),
    records: d.records,
    ...(d.classes && labelled(d) ? {classes: d.classes} : {}),
    format: formatCell(d),
    size_bytes: d.sizeKnown ? (d.sizeBytes ?? 0) : 0,
    size_known: d.sizeKnown,
    ...(d.ingestedEpoch ? {ingested: iso(d.ingestedEpoch)} : {}),
    ...(d.system ? {system: true} : {}),
    // additions
    category: d.task ?? null,
    tables: d.tables,
    per_ingestion: d.perIngestion,
    files: d.files ? {count: d.files.files, bytes: d.files.kib * 1024} : null,
    staged: d.staged ? {count: d.staged.files, bytes: d.staged.kib * 1024} : null,
    partial_staged: (d.partials ?? []).map((p) => ({path: `${STAGING_ROOT}/${d.name}${p.suffix}`, count: p.files, bytes: p.kib * 1024})),
    ...(d.stagedOnly ? {staged_only: true} : {}),
    state: state(d),
  }
}

/** Aligned columns, kubectl style: the same on a terminal and in a log. */
export function table(head: string[], rows: string[][]): string[] {
  const cells = [head, ...rows].map((r) => r.map((c) => sanitize(c)))
  const width = head.map((_, i) => Math.max(...cells.map((r) => [...(r[i] ?? '')].length)))
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(width[i] - [...c].length))).join('   ').trimEnd())
}

export function listRows(ds: Dataset[]): string[] {
  return table(
    ['NAME', 'CATEGORY', 'INTENT', 'RECORDS', 'CLASSES', 'SIZE', 'FILES', 'STATE', 'INGESTED'],
    ds.map((d) => [
      d.name + (d.labelKnown ? '' : ' (name unknown)'),
      d.system ? 'system' : (d.task ?? modality(d).toLowerCase()),
      d.intent ?? '—',
      count(d.records),
      d.classes && labelled(d) ? count(d.classes) : '—',
      d.sizeKnown ? humanBytes(d.sizeBytes ?? 0) : '—',
      d.files ? count(d.files.files) : '—',
      d.system ? '—' : state(d),
      ago(d.ingestedEpoch),
    ]),
  )
}

export {iso}
