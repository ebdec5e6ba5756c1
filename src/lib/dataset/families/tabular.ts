// Tabular and time-series tasks: ONE streaming pass over the CSV computes every statistic — schema
// inference (first 5000 rows buffered, bounded), value types, label classes, sequence integrity,
// time order, time-to-event signs — so memory stays flat however large the file is.
import path from 'node:path'

import {sqlBaseType} from '../../schema/index.js'
import {ArrayCells, scanCsv, type Cells} from '../csv.js'
import {INFER_SAMPLE_ROWS, inferSchema} from '../infer.js'
import {assertReadableCsv, csvShapeProblems, diversityProblem, LabelCounter, labelMissingMessage, resolveColumn, type Column} from '../manifest.js'
import {Examples, isCuratedNA, isPandasNA, quote, someOf} from '../util.js'
import type {FamilyContext, FamilyResult} from './types.js'

const INT_TYPES = new Set(['INT', 'INTEGER', 'TINYINT', 'SMALLINT', 'MEDIUMINT', 'BIGINT'])
const FLOAT_TYPES = new Set(['FLOAT', 'DOUBLE', 'DECIMAL', 'NUMERIC'])
const TEXT_TYPES = new Set(['VARCHAR', 'CHAR', 'TEXT', 'STRING'])
const NUMERIC = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/

const isNumeric = (v: string): boolean => NUMERIC.test(v.trim())
/** pandas reads 1 and 1.0 as the same number: compare numeric cells by value. */
const numKey = (v: string): string => (isNumeric(v) ? String(Number(v.trim())) : v.trim())

function parseTime(v: string): number {
  const s = v.trim()
  if (isNumeric(s)) return Number(s)
  const iso = /^\d{4}[-/]\d{2}[-/]\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(s)
  if (!iso) return NaN
  let t = s.replace(/\//g, '-').replace(' ', 'T')
  if (t.length === 10) t += 'T00:00:00'
  if (!/(Z|[+-]\d{2}:?\d{2})$/.test(t)) t += 'Z'
  return Date.parse(t)
}

export async function preflightTabular(ctx: FamilyContext): Promise<FamilyResult> {
  const {cat, layout, opts, problems, warnings, details} = ctx
  const csvFile = layout.csv.path
  const csvName = path.basename(csvFile)
  const wantedLabel = opts.labelColumn ?? 'label'

  let header: string[] = []
  let schema: Record<string, string> | undefined = opts.schema
  let labelCol: Column | null = null
  const sample: string[][] = []
  const sampleLines: number[] = []

  // per-run checkers, built once the schema is known
  type Checker = (f: Cells, line: number) => void
  let check: Checker | null = null
  const typeBad = new Map<string, {kind: string; ex: Examples}>()
  const labels = new LabelCounter()
  const seqNull = new Examples()
  const seqFlip = new Examples()
  const seqOrder = new Examples()
  const groups = new Map<string, {label?: string; t?: number; flagged: boolean}>()
  const tsBad = new Examples()
  const tsOrder = new Examples()
  const tsFuture = new Examples()
  const tteBad = new Examples()
  // time_series_forecasting: the ingestor's NumericColumns validator rejects empty cells in any schema column
  const tsfEmpty = new Map<string, number>()
  let prevTs = -Infinity
  const now = Date.now()

  const build = (): Checker => {
    const s = schema!
    const timeColTsc = cat.grouping ? header.indexOf(cat.grouping.timeColumn) : -1
    const typed: Array<{i: number; col: string; int: boolean}> = []
    for (const [col, type] of Object.entries(s)) {
      const i = header.indexOf(col)
      if (i < 0 || i === timeColTsc) continue
      const base = sqlBaseType(type)
      if (INT_TYPES.has(base)) typed.push({i, col, int: true})
      else if (FLOAT_TYPES.has(base)) typed.push({i, col, int: false})
    }
    const lc = labelCol
    const labelType = lc ? s[lc.name] : undefined
    const labelTyped = labelType !== undefined
    const collapse = !labelTyped || !TEXT_TYPES.has(sqlBaseType(labelType!))
    const wantDiversity = cat.classification && lc !== null
    const gi = cat.grouping ? header.indexOf(cat.grouping.groupColumn) : -1
    const tiNumeric = timeColTsc >= 0 && (INT_TYPES.has(sqlBaseType(s[cat.grouping!.timeColumn] ?? '')) || FLOAT_TYPES.has(sqlBaseType(s[cat.grouping!.timeColumn] ?? '')))
    const tsfI = cat.name === 'time_series_forecasting' ? header.indexOf('timestamp') : -1
    const tsfCols = tsfI >= 0 ? Object.keys(s).filter((c) => c !== 'timestamp' && header.includes(c)).map((c) => ({c, i: header.indexOf(c)})) : []
    const tteI = cat.name === 'time_to_event_prediction' ? (resolveColumn(header, opts.timeColumn ?? 'time')?.index ?? -1) : -1

    return (f, line) => {
      for (const t of typed) {
        // bare numbers are judged on the raw bytes; anything else goes through the string rules
        const shape = f.numberShape(t.i)
        if (shape === 1 || (shape === 2 && !t.int)) continue
        const v = f.cell(t.i)
        if (isCuratedNA(v)) continue
        const ok = isNumeric(v) && (!t.int || Number.isInteger(Number(v.trim())))
        if (!ok) {
          let e = typeBad.get(t.col)
          if (!e) typeBad.set(t.col, (e = {kind: t.int ? 'whole numbers' : 'numbers', ex: new Examples()}))
          e.ex.add(`line ${line}: ${quote(v)}`)
        }
      }
      if (wantDiversity) {
        const v = f.cell(lc!.index)
        if (!(labelTyped && isCuratedNA(v))) labels.add(collapse ? numKey(v) : v.trim())
      }
      if (gi >= 0) {
        const id = f.cell(gi)
        if (isPandasNA(id) || id.trim() === '') { seqNull.add(`line ${line}`); return }
        let g = groups.get(id)
        if (!g) groups.set(id, (g = {flagged: false}))
        if (lc) {
          const lv = f.cell(lc.index)
          if (!isPandasNA(lv)) {
            const k = numKey(lv)
            if (g.label === undefined) g.label = k
            else if (g.label !== k && !g.flagged) { g.flagged = true; seqFlip.add(`${quote(id)} (line ${line})`) }
          }
        }
        if (tiNumeric) {
          const tv = f.cell(timeColTsc)
          if (!isPandasNA(tv) && isNumeric(tv)) {
            const t = Number(tv)
            if (g.t !== undefined && t < g.t && !g.flagged) { g.flagged = true; seqOrder.add(`${quote(id)} (line ${line})`) }
            g.t = t
          }
        }
      }
      for (const {c, i} of tsfCols) {
        if (f.numberShape(i) !== 0) continue
        const v = f.cell(i)
        if (v.trim() === '' || isPandasNA(v)) tsfEmpty.set(c, (tsfEmpty.get(c) ?? 0) + 1)
      }
      if (tsfI >= 0) {
        const t = parseTime(f.cell(tsfI))
        if (Number.isNaN(t)) tsBad.add(`line ${line}: ${quote(f.cell(tsfI))}`)
        else {
          if (t < prevTs) tsOrder.add(`line ${line}`)
          if (t > now) tsFuture.add(`line ${line}: ${quote(f.cell(tsfI))}`)
          prevTs = t
        }
      }
      if (tteI >= 0) {
        const v = f.cell(tteI)
        if (isCuratedNA(v) || !isNumeric(v)) tteBad.add(`line ${line}: ${quote(v)} is not a number`)
        else if (Number(v) < 0) tteBad.add(`line ${line}: ${v.trim()} is negative`)
      }
    }
  }

  const finishSample = (): void => {
    if (!schema) {
      const inf = inferSchema(header, sample, labelCol?.name)
      schema = inf.schema
      if (cat.name === 'time_series_forecasting' && schema.timestamp && /^(DATE|DATETIME)$/.test(schema.timestamp)) schema.timestamp = 'TIMESTAMP'
      warnings.push(...inf.warnings)
      details.inferredSchema = schema
      warnings.push(`Inferred schema for ${Object.keys(schema).length} column(s) from ${csvName} (override with --schema): ${Object.entries(schema).map(([c, t]) => `${c}:${t}`).join(',')}`)
    }
    check = build()
    sample.forEach((r, k) => check!(new ArrayCells(r), sampleLines[k]!))
    sample.length = 0
  }

  const res = await scanCsv(csvFile, {
    onHeader(h) {
      header = h
      labelCol = resolveColumn(h, wantedLabel)
    },
    onRow(f, row, line) {
      if (check) { check(f, line); return }
      sample.push(f.cells())
      sampleLines.push(line)
      if (row >= INFER_SAMPLE_ROWS) finishSample()
    },
    onProgress: (bytes) => opts.onProgress?.({phase: 'Reading ' + csvName, bytes}),
  })
  if (res.bom) problems.data(`${quote(csvName)} starts with a UTF-8 byte-order mark (Excel's "CSV UTF-8" export adds it); the deployed ingestor rejects it — strip it with: tail -c +4 ${csvName} > fixed.csv`)
  assertReadableCsv(csvFile, res)
  if (!check && header.length > 0) finishSample()
  for (const m of csvShapeProblems(csvFile, res)) problems.data(m)
  const s = schema ?? {}

  const absent = Object.keys(s).filter((c) => !header.includes(c))
  if (absent.length > 0) problems.data(`schema column(s) not present in ${quote(csvName)}: ${someOf(absent.map(quote))} (columns: ${someOf(header, header.length, 12)}) — fix --schema or the CSV header`)
  for (const [col, {kind, ex}] of typeBad) problems.data(`column ${quote(col)} is typed ${s[col]} but ${ex.count} value(s) are not ${kind}: ${ex} — fix the values or type the column VARCHAR with --schema`)

  const lc = labelCol as Column | null
  if (!lc) problems.input(labelMissingMessage(csvFile, wantedLabel, header, opts.labelColumn !== undefined))

  if (cat.grouping) {
    const {groupColumn, timeColumn} = cat.grouping
    if (!header.includes(groupColumn)) problems.data(`time_series_classification needs a ${quote(groupColumn)} column grouping the timestep rows of each sequence (columns: ${someOf(header, header.length, 12)}) — add it`)
    else if (!(groupColumn in s)) problems.data(`--schema must declare ${quote(groupColumn)} — add ${groupColumn}:VARCHAR(64)`)
    if (!(timeColumn in s) || !header.includes(timeColumn)) problems.data(`time_series_classification needs a ${quote(timeColumn)} column${header.includes(timeColumn) ? ' declared in --schema' : ''} ordering the rows within each sequence`)
    if (seqNull.count > 0) problems.data(`${seqNull.count} row(s) have an empty ${quote(groupColumn)}: ${seqNull} — every timestep row needs the id of its sequence`)
    if (seqFlip.count > 0) problems.data(`${seqFlip.count} sequence(s) change their label mid-sequence: ${seqFlip} — one label per sequence: every row of a ${groupColumn} must repeat it`)
    if (seqOrder.count > 0) problems.data(`${seqOrder.count} sequence(s) have out-of-order ${quote(timeColumn)} values: ${seqOrder} — sort each sequence's rows by ${timeColumn} ascending`)
    if (groups.size > 0) warnings.push(`${groups.size} sequence(s) grouped by "${groupColumn}" — the platform counts this dataset in sequences, not rows`)
    details.sequences = groups.size
  }

  if (cat.classification && lc) {
    const d = diversityProblem(labels, lc.name, cat.name)
    if (d) problems.data(d)
    details.labels = labels.summary()
  }

  if (cat.name === 'time_series_forecasting') {
    if (!header.includes('timestamp')) problems.data(`time_series_forecasting needs a "timestamp" column (columns: ${someOf(header, header.length, 12)}) — rename your time column to timestamp`)
    else if (sqlBaseType(s.timestamp ?? '') !== 'TIMESTAMP') problems.data(`time_series_forecasting needs "timestamp" typed TIMESTAMP (it is ${s.timestamp ?? 'not in the schema'}) — pass --schema timestamp:TIMESTAMP,…`)
    if (tsBad.count > 0) problems.data(`${tsBad.count} "timestamp" value(s) are not dates/times: ${tsBad} — use ISO format like 2024-01-31 12:00:00`)
    if (tsOrder.count > 0) problems.data(`${tsOrder.count} row(s) break the ascending "timestamp" order: ${tsOrder} — sort the file by timestamp`)
    if (tsFuture.count > 0) problems.data(`${tsFuture.count} "timestamp" value(s) are in the future: ${tsFuture} — fix them`)
    const nonNumeric = Object.entries(s).filter(([c, t]) => c !== 'timestamp' && !INT_TYPES.has(sqlBaseType(t)) && !FLOAT_TYPES.has(sqlBaseType(t))).map(([c, t]) => `${c} (${t})`)
    if (nonNumeric.length > 0) problems.data(`time_series_forecasting needs every column except timestamp to be numeric: ${someOf(nonNumeric)} — drop them or encode them as numbers`)
    if (tsfEmpty.size > 0) {
      const desc = [...tsfEmpty].map(([c, n]) => `${c} (${n} empty)`)
      // An inferred schema simply leaves such feature columns out (what the ingestor's own e2e config does);
      // a schema the user chose, or an empty label, is an error to fix before uploading.
      if (!opts.schema && !(lc && tsfEmpty.has(lc.name))) {
        for (const c of tsfEmpty.keys()) delete s[c]
        warnings.push(`left out of the inferred schema: ${someOf(desc)} — the ingestor rejects empty cells in time-series columns; fill the gaps and pass --schema to include them`)
      } else {
        problems.data(`time_series_forecasting needs a value in every row of every schema column except timestamp: ${someOf(desc)} — fill the gaps, or leave those columns out of --schema`)
      }
    }
  }

  if (cat.name === 'time_to_event_prediction') {
    const tc = opts.timeColumn ?? 'time'
    if (!resolveColumn(header, tc)) problems.data(`time_to_event_prediction needs a time column ${quote(tc)} (columns: ${someOf(header, header.length, 12)}) — ${opts.timeColumn ? 'fix --time-column' : 'pass --time-column <column>'}`)
    else if (tteBad.count > 0) problems.data(`${tteBad.count} value(s) in time column ${quote(tc)} are not non-negative numbers: ${tteBad} — durations must be ≥ 0`)
  }

  details.columns = header.length
  return {rows: res.rows, label: lc?.name ?? opts.labelColumn, schema: s}
}
