// The per-row checks of tabular and time-series CSVs, split so a file can be checked in byte ranges on
// several threads: a RangeChecker checks the rows of one range and keeps only what can be joined
// (counts, the first examples with their range-relative line numbers, per-sequence first/last values),
// and Findings joins the ranges in file order (lines shifted by the lines before each range), so the
// messages are the same whether the file was checked in one range or in many.
import {sqlBaseType} from '../schema/sql-type.js'
import type {Cells} from './csv.js'
import {LabelCounter, resolveColumn, type Column} from './manifest.js'
import {isCuratedNA, isPandasNA, NUMBER_TEXT} from './cell-values.js'
import {quote, someOf} from './problems.js'

const INT_TYPES = new Set(['INT', 'INTEGER', 'TINYINT', 'SMALLINT', 'MEDIUMINT', 'BIGINT'])
const FLOAT_TYPES = new Set(['FLOAT', 'DOUBLE', 'DECIMAL', 'NUMERIC'])
const TEXT_TYPES = new Set(['VARCHAR', 'CHAR', 'TEXT', 'STRING'])
const MAX_EXAMPLES = 5
const MAX_CLASSES = 10_000 // LabelCounter's bound

export const isIntType = (t: string): boolean => INT_TYPES.has(sqlBaseType(t))
export const isFloatType = (t: string): boolean => FLOAT_TYPES.has(sqlBaseType(t))
const isNumeric = (v: string): boolean => NUMBER_TEXT.test(v.trim())
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

/** Everything the checks need, as plain data (it is posted to worker threads). */
export interface CheckSpec {
  header: string[]
  schema: Record<string, string>
  category: string
  classification: boolean
  grouping?: {groupColumn: string; timeColumn: string}
  label: Column | null
  timeColumn?: string
  /** One clock for every range: "in the future" must not depend on when a range was checked. */
  now: number
}

/** The first examples of one finding as [line, detail] plus the true count. */
export interface LineExamples {
  count: number
  items: Array<[number, string]>
}

const examples = (): LineExamples => ({count: 0, items: []})
function addExample(e: LineExamples, line: number, detail = ''): void {
  e.count++
  if (e.items.length < MAX_EXAMPLES) e.items.push([line, detail])
}

/** "line 12: \"x\", line 40 … and 7 more" */
export function renderExamples(e: LineExamples): string {
  return someOf(e.items.map(([l, d]) => (d ? `line ${l}: ${d}` : `line ${l}`)), e.count)
}

/** One sequence (time_series_classification) as seen inside one range. */
interface SequencePart {
  label?: string
  labelLine: number
  /** First line whose label differs from `label`, or -1. */
  flipLine: number
  firstT?: number
  firstTLine: number
  /** First line whose time is below the previous row's, or -1. */
  orderLine: number
  lastT?: number
}

/** What one range's rows produced: structured-cloneable, joined by Findings in file order. */
export interface RangeState {
  typeBad: Map<string, {kind: string; ex: LineExamples}>
  labelCounts: Map<string, number>
  labelOverflow: number
  seqNull: LineExamples
  sequences: Map<string, SequencePart>
  tsBad: LineExamples
  tsOrder: LineExamples
  tsFuture: LineExamples
  /** First valid timestamp of the range [line, time] and the last one: order across the seams. */
  firstTs?: [number, number]
  lastTs: number
  tteBad: LineExamples
  tsfEmpty: Map<string, number>
}

/** Checks the rows of one range (the whole file when it is not split). */
export class RangeChecker {
  private readonly classes = new Map<string, {n: number}>()
  private readonly overflow = {n: 0}
  private readonly st: RangeState = {
    typeBad: new Map(), labelCounts: new Map(), labelOverflow: 0, seqNull: examples(), sequences: new Map(),
    tsBad: examples(), tsOrder: examples(), tsFuture: examples(), lastTs: -Infinity, tteBad: examples(), tsfEmpty: new Map(),
  }

  readonly check: (f: Cells, line: number) => void

  /** What the rows checked so far produced. */
  get state(): RangeState {
    this.st.labelCounts = new Map([...this.classes].map(([k, c]) => [k, c.n]))
    this.st.labelOverflow = this.overflow.n
    return this.st
  }

  constructor(spec: CheckSpec) {
    const {header, schema: s, label: lc} = spec
    const st = this.st
    const timeColTsc = spec.grouping ? header.indexOf(spec.grouping.timeColumn) : -1
    const typed: Array<{i: number; col: string; int: boolean}> = []
    for (const [col, type] of Object.entries(s)) {
      const i = header.indexOf(col)
      if (i < 0 || i === timeColTsc) continue
      if (isIntType(type)) typed.push({i, col, int: true})
      else if (isFloatType(type)) typed.push({i, col, int: false})
    }
    const labelType = lc ? s[lc.name] : undefined
    const labelTyped = labelType !== undefined
    const collapse = !labelTyped || !TEXT_TYPES.has(sqlBaseType(labelType))
    const wantDiversity = spec.classification && lc !== null
    const gi = spec.grouping ? header.indexOf(spec.grouping.groupColumn) : -1
    const tiNumeric = timeColTsc >= 0 && (isIntType(s[spec.grouping!.timeColumn] ?? '') || isFloatType(s[spec.grouping!.timeColumn] ?? ''))
    const tsfI = spec.category === 'time_series_forecasting' ? header.indexOf('timestamp') : -1
    const tsfCols = tsfI >= 0 ? Object.keys(s).filter((c) => c !== 'timestamp' && header.includes(c)).map((c) => ({c, i: header.indexOf(c)})) : []
    const tteI = spec.category === 'time_to_event_prediction' ? (resolveColumn(header, spec.timeColumn ?? 'time')?.index ?? -1) : -1
    const now = spec.now
    // label cell text → its class counter (null: not counted). Label columns repeat a few values, so
    // the NA test, trim, numeric collapse and class lookup run once per distinct cell text.
    const cellClass = new Map<string, {n: number} | null>()
    const classes = this.classes
    const overflow = this.overflow
    const countLabel = (v: string): void => {
      let c = cellClass.get(v)
      if (c === undefined) {
        const k = labelTyped && isCuratedNA(v) ? null : collapse ? numKey(v) : v.trim()
        // the Go CLI's bound: beyond 10 000 distinct classes only the total is kept
        c = k === null ? null : (classes.get(k) ?? (classes.size < MAX_CLASSES ? (classes.set(k, {n: 0}), classes.get(k)!) : overflow))
        if (cellClass.size < 4096) cellClass.set(v, c)
      }
      if (c !== null) c.n++
    }

    this.check = (f, line) => {
      for (const t of typed) {
        // bare numbers are judged on the raw bytes; anything else goes through the string rules
        const shape = f.numberShape(t.i)
        if (shape === 1 || (shape === 2 && !t.int)) continue
        const v = f.cell(t.i)
        if (isCuratedNA(v)) continue
        const ok = isNumeric(v) && (!t.int || Number.isInteger(Number(v.trim())))
        if (!ok) {
          let e = st.typeBad.get(t.col)
          if (!e) st.typeBad.set(t.col, (e = {kind: t.int ? 'whole numbers' : 'numbers', ex: examples()}))
          addExample(e.ex, line, quote(v))
        }
      }
      if (wantDiversity) countLabel(f.cell(lc!.index))
      if (gi >= 0) {
        const id = f.cell(gi)
        if (isPandasNA(id) || id.trim() === '') { addExample(st.seqNull, line); return }
        let g = st.sequences.get(id)
        if (!g) st.sequences.set(id, (g = {labelLine: -1, flipLine: -1, firstTLine: -1, orderLine: -1}))
        if (lc) {
          const lv = f.cell(lc.index)
          if (!isPandasNA(lv)) {
            const k = numKey(lv)
            if (g.label === undefined) { g.label = k; g.labelLine = line } else if (g.flipLine < 0 && g.label !== k) g.flipLine = line
          }
        }
        if (tiNumeric) {
          const tv = f.cell(timeColTsc)
          if (!isPandasNA(tv) && isNumeric(tv)) {
            const t = Number(tv)
            if (g.firstT === undefined) { g.firstT = t; g.firstTLine = line } else if (g.orderLine < 0 && t < g.lastT!) g.orderLine = line
            g.lastT = t
          }
        }
      }
      for (const {c, i} of tsfCols) {
        if (f.numberShape(i) !== 0) continue
        const v = f.cell(i)
        if (v.trim() === '' || isPandasNA(v)) st.tsfEmpty.set(c, (st.tsfEmpty.get(c) ?? 0) + 1)
      }
      if (tsfI >= 0) {
        const t = parseTime(f.cell(tsfI))
        if (Number.isNaN(t)) addExample(st.tsBad, line, quote(f.cell(tsfI)))
        else {
          if (st.firstTs === undefined) st.firstTs = [line, t]
          else if (t < st.lastTs) addExample(st.tsOrder, line)
          if (t > now) addExample(st.tsFuture, line, quote(f.cell(tsfI)))
          st.lastTs = t
        }
      }
      if (tteI >= 0) {
        const v = f.cell(tteI)
        if (isCuratedNA(v) || !isNumeric(v)) addExample(st.tteBad, line, `${quote(v)} is not a number`)
        else if (Number(v) < 0) addExample(st.tteBad, line, `${v.trim()} is negative`)
      }
    }
  }
}

interface Sequence {
  label?: string
  t?: number
  flagged: boolean
}

/** The findings of a whole file: the states of its ranges joined in file order. */
export class Findings {
  readonly typeBad = new Map<string, {kind: string; ex: LineExamples}>()
  readonly labels = new LabelCounter()
  readonly seqNull = examples()
  readonly sequences = new Map<string, Sequence>()
  readonly tsBad = examples()
  readonly tsOrder = examples()
  readonly tsFuture = examples()
  readonly tteBad = examples()
  readonly tsfEmpty = new Map<string, number>()
  private lastTs = -Infinity
  /** Sequence findings [line, 0 = label flip | 1 = time order, id], put in row order at the end. */
  private readonly seqEvents: Array<[number, 0 | 1, string]> = []

  /** Join the next range; `offset` is added to its lines (the lines of the file before it). */
  absorb(r: RangeState, offset: number): void {
    const join = (to: LineExamples, from: LineExamples): void => {
      to.count += from.count
      for (const [l, d] of from.items) if (to.items.length < MAX_EXAMPLES) to.items.push([l + offset, d])
    }
    for (const [col, {kind, ex}] of r.typeBad) {
      let e = this.typeBad.get(col)
      if (!e) this.typeBad.set(col, (e = {kind, ex: examples()}))
      join(e.ex, ex)
    }
    for (const [k, n] of r.labelCounts) {
      const c = this.labels.counts.get(k)
      if (c !== undefined) this.labels.counts.set(k, c + n)
      else if (this.labels.counts.size < MAX_CLASSES) this.labels.counts.set(k, n)
      else this.labels.overflow += n
    }
    this.labels.overflow += r.labelOverflow
    join(this.seqNull, r.seqNull)
    for (const [id, p] of r.sequences) {
      let g = this.sequences.get(id)
      if (!g) this.sequences.set(id, (g = {flagged: false}))
      if (!g.flagged) {
        // the first finding of this sequence: inside the range, or at its first row against the ranges before
        const flip = p.label === undefined ? -1 : g.label !== undefined && g.label !== p.label ? p.labelLine : p.flipLine
        const order = p.firstT === undefined ? -1 : g.t !== undefined && p.firstT < g.t ? p.firstTLine : p.orderLine
        // on the same row the label is checked first
        if (flip >= 0 && (order < 0 || flip <= order)) { g.flagged = true; this.seqEvents.push([flip + offset, 0, id]) } else if (order >= 0) { g.flagged = true; this.seqEvents.push([order + offset, 1, id]) }
      }
      if (g.label === undefined) g.label = p.label
      if (p.lastT !== undefined) g.t = p.lastT
    }
    join(this.tsBad, r.tsBad)
    // a range's first timestamp is compared with the last one of the ranges before it
    if (r.firstTs !== undefined && r.firstTs[1] < this.lastTs) {
      this.tsOrder.count++
      if (this.tsOrder.items.length < MAX_EXAMPLES) this.tsOrder.items.push([r.firstTs[0] + offset, ''])
    }
    if (r.firstTs !== undefined) this.lastTs = r.lastTs
    join(this.tsOrder, r.tsOrder)
    join(this.tsFuture, r.tsFuture)
    join(this.tteBad, r.tteBad)
    for (const [c, n] of r.tsfEmpty) this.tsfEmpty.set(c, (this.tsfEmpty.get(c) ?? 0) + n)
  }

  /** Sequences whose label changes / whose time goes backwards, as `"id" (line N)` examples in row order. */
  sequenceFindings(): {flips: string; flipCount: number; order: string; orderCount: number} {
    const ev = this.seqEvents.sort((a, b) => a[0] - b[0])
    const flips = ev.filter((e) => e[1] === 0).map(([l, , id]) => `${quote(id)} (line ${l})`)
    const order = ev.filter((e) => e[1] === 1).map(([l, , id]) => `${quote(id)} (line ${l})`)
    return {flips: someOf(flips.slice(0, MAX_EXAMPLES), flips.length), flipCount: flips.length, order: someOf(order.slice(0, MAX_EXAMPLES), order.length), orderCount: order.length}
  }
}
