// Shared pieces of the CSV checks every family runs (docs/protocol.md#preflight-checks: encoding, header, rows, label).
import path from 'node:path'

import type {CsvScanResult} from './csv.js'
import {badData, quote, someOf} from './problems.js'

export interface Column {
  index: number
  name: string
}

/** The ingestor's _match_column: exact first, then case-insensitive and trimmed. */
export function resolveColumn(header: readonly string[], wanted: string): Column | null {
  const exact = header.indexOf(wanted)
  if (exact >= 0) return {index: exact, name: header[exact]!}
  const w = wanted.trim().toLowerCase()
  const i = header.findIndex((h) => h.trim().toLowerCase() === w)
  return i >= 0 ? {index: i, name: header[i]!} : null
}

/** Fatal CSV problems: nothing else can be checked when these fail. */
export function assertReadableCsv(file: string, res: CsvScanResult): string[] {
  const name = path.basename(file)
  if (res.nulAt !== undefined) throw badData(`${quote(name)} contains a NUL byte at byte ${res.nulAt} — it looks like a binary file or UTF-16; re-save it as UTF-8 CSV`, undefined, 'csv_encoding')
  if (res.invalidUtf8At !== undefined) throw badData(`${quote(name)} is not valid UTF-8 — a non-UTF-8 byte was found at byte ${res.invalidUtf8At}. Re-save the file as UTF-8 (in Excel: Save As → 'CSV UTF-8 (Comma delimited)')`, undefined, 'csv_encoding')
  if (!res.header) throw badData(`${quote(name)} is empty — it needs a header row and at least one data row`, undefined, 'csv_empty')
  if (res.unterminatedQuote) throw badData(`${quote(name)} ends inside a quoted field — a '"' is missing its closing quote`, undefined, 'csv_parse')
  return res.header
}

/** Header + data-row checks shared by all families, appended to `out` as messages. */
export function csvShapeProblems(file: string, res: CsvScanResult): string[] {
  const name = path.basename(file)
  const out: string[] = []
  const header = res.header ?? []
  const seen = new Map<string, number>()
  for (const h of header) seen.set(h, (seen.get(h) ?? 0) + 1)
  const dups = [...seen].filter(([, n]) => n > 1).map(([h]) => quote(h))
  if (dups.length > 0) out.push(`${quote(name)} has duplicate column name(s) in its header: ${someOf(dups)} — each column must be unique (the parser would silently rename the second to '<name>.1'); rename or remove the duplicates`)
  const empty = header.filter((h) => h === '').length
  if (empty > 0 && header.length > 1) out.push(`${quote(name)} has ${empty} column(s) with an empty name in its header — name every column`)
  if (res.rows === 0) out.push(`${quote(name)} has a header but no data rows (0 ingestable records) — add at least one data row`)
  if (res.wideRowCount > 0) {
    out.push(`${res.wideRowCount} row(s) of ${quote(name)} have more fields than the header's ${header.length}: ${someOf(res.wideRows.map(([l, n]) => `line ${l} (${n} fields)`), res.wideRowCount)} — quote values that contain commas, or fix the header`)
  }
  return out
}

/** Distinct label values with counts (bounded: beyond 10 000 distinct values only the total is kept). */
export class LabelCounter {
  readonly counts = new Map<string, number>()
  overflow = 0
  add(v: string): void {
    const c = this.counts.get(v)
    if (c !== undefined) this.counts.set(v, c + 1)
    else if (this.counts.size < 10_000) this.counts.set(v, 1)
    else this.overflow++
  }

  get distinct(): number {
    return this.counts.size + (this.overflow > 0 ? 1 : 0)
  }

  /** The first 50 classes with counts, for the plan's details. */
  summary(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [k, v] of [...this.counts].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, 50)) out[k] = v
    return out
  }
}

export function diversityProblem(counter: LabelCounter, column: string, category: string): string | null {
  if (counter.distinct >= 2) return null
  const vals = [...counter.counts.keys()].map((v) => quote(v))
  return `${category} needs at least 2 distinct values in label column ${quote(column)}; found ${counter.distinct}${vals.length > 0 ? ` (${someOf(vals)})` : ''} — add examples of other classes, or pick a regression task if the label is a continuous number`
}

/** The one wording for a label column that is not there, whether --label-column named it or the default did. */
export function labelMissingMessage(file: string, wanted: string, header: readonly string[], explicit: boolean): string {
  return `label column ${quote(wanted)}${explicit ? ' (--label-column)' : ''} not found in ${quote(path.basename(file))} (columns: ${someOf(header.map((h) => h), header.length, 12)})`
}

/** Its next step: the flag, not the data. */
export const LABEL_MISSING_HINT = 'pass --label-column with one of the columns above; nothing was uploaded'

const MEDIA_EXT = /\.(jpe?g|png|xml|txt|text)$/i

/** Staged name of a `filename` cell: the dataset extension is appended unless it already ends in a media extension. */
export function referencedName(cell: string, ext: string): string {
  const v = cell.trim()
  return MEDIA_EXT.test(v) ? v : v + ext
}
