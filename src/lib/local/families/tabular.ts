// Tabular and time-series tasks: ONE streaming pass over the CSV computes every statistic — schema
// inference (first 5000 rows buffered, bounded), value types, label classes, sequence integrity,
// time order, time-to-event signs — so memory stays flat however large the file is. A large CSV's
// rows after the sample are checked in byte ranges on worker threads (csv-ranges.ts), with the same
// messages as one pass.
import {statSync} from 'node:fs'
import path from 'node:path'

import {sqlBaseType} from '../../schema/index.js'
import {checkRanges, rangeBytes, workerCount} from '../csv-ranges.js'
import {ArrayCells, scanCsv, type CsvRow, type CsvScanResult} from '../csv.js'
import {INFER_SAMPLE_ROWS, inferSchema} from '../infer.js'
import {assertReadableCsv, csvShapeProblems, diversityProblem, labelMissingMessage, LABEL_MISSING_HINT, resolveColumn, type Column} from '../manifest.js'
import {Findings, isFloatType, isIntType, RangeChecker, renderExamples, type RangeState} from '../tabular-checks.js'
import {quote, someOf} from '../problems.js'
import type {FamilyContext, FamilyResult} from './types.js'

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
  const now = Date.now()
  let checker = null as RangeChecker | null

  const finishSample = (): void => {
    if (!schema) {
      const inf = inferSchema(header, sample, labelCol?.name)
      schema = inf.schema
      if (cat.name === 'time_series_forecasting' && schema.timestamp && /^(DATE|DATETIME)$/.test(schema.timestamp)) schema.timestamp = 'TIMESTAMP'
      warnings.push(...inf.warnings)
      details.inferredSchema = schema
      // the label column is typed for the checks only: the table keeps labels in its own text column
      const lab = labelCol?.name
      const cols = Object.entries(schema).filter(([c]) => c !== lab)
      warnings.push(
        `inferred types of ${cols.length} column${cols.length === 1 ? '' : 's'} from ${csvName} (override with --schema): ${cols.map(([c, t]) => `${c}:${t}`).join(', ')}${lab && schema[lab] ? `; the label column ${lab} (${schema[lab]} values) is stored as text in the table's label column` : ''}`,
      )
    }
    checker = new RangeChecker({header, schema, category: cat.name, classification: cat.classification, grouping: cat.grouping, label: labelCol, timeColumn: opts.timeColumn, now})
    sample.forEach((r, k) => checker!.check(new ArrayCells(r), sampleLines[k]!))
    sample.length = 0
  }

  const onProgress = (bytes: number): void => opts.onProgress?.({phase: 'Reading ' + csvName, bytes})
  const handlers = {
    onHeader(h: string[]) {
      header = h
      labelCol = resolveColumn(h, wantedLabel)
    },
    onRow(f: CsvRow, row: number, line: number) {
      if (checker) { checker.check(f, line); return }
      sample.push(f.cells())
      sampleLines.push(line)
      if (row >= INFER_SAMPLE_ROWS) finishSample()
    },
    onProgress,
  }
  // Header and schema sample first, on this thread; a large rest is checked in ranges on worker
  // threads (same checks, joined in file order), a small one right here in the same pass.
  const size = statSync(csvFile).size
  const workers = workerCount()
  const headRows = rangeBytes(size, workers) === null ? undefined : INFER_SAMPLE_ROWS
  let res: CsvScanResult = await scanCsv(csvFile, handlers, {start: 0, maxRows: headRows})
  const later: Array<[RangeState, number]> = [] // states of the ranges after the sample, with their line offsets
  if (headRows !== undefined && res.end < size && res.nulAt === undefined && res.invalidUtf8At === undefined && res.rawHeader) {
    const headerLen = res.rawHeader.length
    const step = rangeBytes(size - res.end, workers)
    const spec = {header, schema: schema!, category: cat.name, classification: cat.classification, grouping: cat.grouping, label: labelCol, timeColumn: opts.timeColumn, now}
    const r = step === null ? null : await checkRanges(csvFile, res.end, size, step, workers, headerLen, spec, onProgress)
    if (r === null) {
      // the rest is small: go on here
      joinScan(res, await scanCsv(csvFile, {onRow: handlers.onRow, onProgress}, {start: res.end, headerLen, line: res.nextLine}), 0)
    } else if (r.encodingProblem) {
      // exact offsets of the first NUL / invalid byte as a single pass finds them
      res = await scanCsv(csvFile, {})
    } else {
      for (const o of r.ranges) {
        later.push([o.state, res.nextLine])
        joinScan(res, o.scan, res.nextLine)
      }
    }
  }
  if (res.bom) problems.data(`${quote(csvName)} starts with a UTF-8 byte-order mark (Excel's "CSV UTF-8" export adds it); the deployed ingestor rejects it — strip it with: tail -c +4 ${csvName} > fixed.csv`)
  assertReadableCsv(csvFile, res)
  const findings = new Findings()
  if (header.length > 0) {
    // a file shorter than the sample is checked here, once its rows are all in
    if (!checker) finishSample()
    findings.absorb(checker!.state, 0)
    for (const [state, offset] of later) findings.absorb(state, offset)
  }
  for (const m of csvShapeProblems(csvFile, res)) problems.data(m)
  const s = schema ?? {}

  const absent = Object.keys(s).filter((c) => !header.includes(c))
  if (absent.length > 0) problems.data(`schema column(s) not present in ${quote(csvName)}: ${someOf(absent.map(quote))} (columns: ${someOf(header, header.length, 12)}) — fix --schema or the CSV header`)
  for (const [col, {kind, ex}] of findings.typeBad) problems.data(`column ${quote(col)} is typed ${s[col]} but ${ex.count} value(s) are not ${kind}: ${renderExamples(ex)} — fix the values or type the column VARCHAR with --schema`)

  const lc = labelCol as Column | null
  if (!lc) problems.input(labelMissingMessage(csvFile, wantedLabel, header, opts.labelColumn !== undefined), LABEL_MISSING_HINT)

  if (cat.grouping) {
    const {groupColumn, timeColumn} = cat.grouping
    if (!header.includes(groupColumn)) problems.data(`time_series_classification needs a ${quote(groupColumn)} column grouping the timestep rows of each sequence (columns: ${someOf(header, header.length, 12)}) — add it`)
    else if (!(groupColumn in s)) problems.data(`--schema must declare ${quote(groupColumn)} — add ${groupColumn}:VARCHAR(64)`)
    if (!(timeColumn in s) || !header.includes(timeColumn)) problems.data(`time_series_classification needs a ${quote(timeColumn)} column${header.includes(timeColumn) ? ' declared in --schema' : ''} ordering the rows within each sequence`)
    const {seqNull} = findings
    const seq = findings.sequenceFindings()
    if (seqNull.count > 0) problems.data(`${seqNull.count} row(s) have an empty ${quote(groupColumn)}: ${renderExamples(seqNull)} — every timestep row needs the id of its sequence`)
    if (seq.flipCount > 0) problems.data(`${seq.flipCount} sequence(s) change their label mid-sequence: ${seq.flips} — one label per sequence: every row of a ${groupColumn} must repeat it`)
    if (seq.orderCount > 0) problems.data(`${seq.orderCount} sequence(s) have out-of-order ${quote(timeColumn)} values: ${seq.order} — sort each sequence's rows by ${timeColumn} ascending`)
    const groups = findings.sequences
    if (groups.size > 0) warnings.push(`${groups.size} sequence(s) grouped by "${groupColumn}" — the platform counts this dataset in sequences, not rows`)
    details.sequences = groups.size
  }

  if (cat.classification && lc) {
    const d = diversityProblem(findings.labels, lc.name, cat.name)
    if (d) problems.data(d)
    details.labels = findings.labels.summary()
  }

  if (cat.name === 'time_series_forecasting') {
    if (!header.includes('timestamp')) problems.data(`time_series_forecasting needs a "timestamp" column (columns: ${someOf(header, header.length, 12)}) — rename your time column to timestamp`)
    else if (sqlBaseType(s.timestamp ?? '') !== 'TIMESTAMP') problems.data(`time_series_forecasting needs "timestamp" typed TIMESTAMP (it is ${s.timestamp ?? 'not in the schema'}) — pass --schema timestamp:TIMESTAMP,…`)
    const {tsBad, tsOrder, tsFuture, tsfEmpty} = findings
    if (tsBad.count > 0) problems.data(`${tsBad.count} "timestamp" value(s) are not dates/times: ${renderExamples(tsBad)} — use ISO format like 2024-01-31 12:00:00`)
    if (tsOrder.count > 0) problems.data(`${tsOrder.count} row(s) break the ascending "timestamp" order: ${renderExamples(tsOrder)} — sort the file by timestamp`)
    if (tsFuture.count > 0) problems.data(`${tsFuture.count} "timestamp" value(s) are in the future: ${renderExamples(tsFuture)} — fix them`)
    const nonNumeric = Object.entries(s).filter(([c, t]) => c !== 'timestamp' && !isIntType(t) && !isFloatType(t)).map(([c, t]) => `${c} (${t})`)
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
    else if (findings.tteBad.count > 0) problems.data(`${findings.tteBad.count} value(s) in time column ${quote(tc)} are not non-negative numbers: ${renderExamples(findings.tteBad)} — durations must be ≥ 0`)
  }

  details.columns = header.length
  return {rows: res.rows, label: lc?.name ?? opts.labelColumn, schema: s}
}

/** Add a later range's scan (its lines shifted by `offset`) to the scan of the file so far. */
function joinScan(res: CsvScanResult, r: CsvScanResult, offset: number): void {
  res.rows += r.rows
  res.wideRowCount += r.wideRowCount
  for (const [l, n] of r.wideRows) if (res.wideRows.length < 5) res.wideRows.push([l + offset, n])
  res.unterminatedQuote ||= r.unterminatedQuote
  res.bytes = Math.max(res.bytes, r.bytes)
  res.end = r.end
  res.nextLine = r.nextLine + offset
}
