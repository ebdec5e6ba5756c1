// Tabular schema inference, mirroring data-ingestors' schema_inference (docs/protocol.md#schema-inference) so the CLI
// proposes the same SQL types the ingestor would: first matching rule wins.
import {isCuratedNA, NUMBER_TEXT} from './cell-values.js'

export const INFER_SAMPLE_ROWS = 5000
export const RESERVED = new Set(['id', 'created_at', 'updated_at', 'status', 'data_intent', 'data_id', 'filename', 'extension', 'annotation', 'ingestor_id'])

const LEADING_ZERO = /^[+-]?0[0-9]+$/
const INT = /^[+-]?[0-9]+$/
const FLOAT = NUMBER_TEXT
const BOOL = new Set(['true', 'false', 't', 'f', 'yes', 'no', 'y', 'n'])
const DATE = /^\d{4}[-/]\d{2}[-/]\d{2}$/
const NAIVE_DT = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/
const INT32_MAX = 2n ** 31n - 1n
const INT64_MAX = 2n ** 63n - 1n

const runeLength = (s: string): number => {
  let n = 0
  for (const _ of s) n++
  return n
}

/** The SQL type the ingestor infers for a column's raw values. */
export function inferColumnType(raw: readonly string[]): string {
  const vals = raw.map((v) => v.trim()).filter((v) => !isCuratedNA(v))
  if (vals.length === 0) return 'VARCHAR(1)'
  // past MySQL's VARCHAR limit a column can only be TEXT (a VARCHAR(10000000) would be refused)
  const varchar = (): string => {
    const n = vals.reduce((m, v) => Math.max(m, runeLength(v)), 1)
    return n > 65_535 ? 'TEXT' : `VARCHAR(${n})`
  }
  if (vals.some((v) => LEADING_ZERO.test(v))) return varchar()
  if (vals.every((v) => BOOL.has(v.toLowerCase()))) return 'BOOLEAN'
  if (vals.every((v) => INT.test(v))) {
    let max = 0n
    for (const v of vals) {
      const b = BigInt(v)
      const a = b < 0n ? -b - 1n : b // two's complement range
      if (a > max) max = a
    }
    if (max <= INT32_MAX) return 'INT'
    if (max <= INT64_MAX) return 'BIGINT'
    return varchar()
  }
  if (vals.every((v) => FLOAT.test(v) && Number.isFinite(Number(v)))) return 'FLOAT'
  if (vals.every((v) => DATE.test(v) && validDate(v))) return 'DATE'
  const offsets = new Set<string>()
  if (vals.every((v) => {
    if (NAIVE_DT.test(v) || DATE.test(v)) { offsets.add(''); return validDate(v.slice(0, 10)) }
    const m = RFC3339.exec(v)
    if (!m) return false
    offsets.add(m[1] === 'Z' ? '+00:00' : m[1]!)
    return validDate(v.slice(0, 10))
  }) && offsets.size === 1) return 'DATETIME'
  return varchar()
}

function validDate(v: string): boolean {
  const [y, m, d] = v.split(/[-/]/).map(Number) as [number, number, number]
  if (m < 1 || m > 12 || d < 1) return false
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate()
}

export interface InferredSchema {
  schema: Record<string, string>
  warnings: string[]
}

/** Infer from the sampled rows; reserved columns skipped, empty and id-like columns (≥10 all-distinct integers, not the label) flagged. */
export function inferSchema(header: readonly string[], sample: readonly string[][], labelColumn?: string): InferredSchema {
  const schema: Record<string, string> = {}
  const warnings: string[] = []
  const skipped: string[] = []
  const empty: string[] = []
  const idLike: string[] = []
  header.forEach((col, i) => {
    if (RESERVED.has(col.toLowerCase())) { skipped.push(col); return }
    const vals = sample.map((r) => r[i] ?? '')
    const t = inferColumnType(vals)
    schema[col] = t
    const present = vals.map((v) => v.trim()).filter((v) => !isCuratedNA(v))
    if (present.length === 0) empty.push(col)
    else if ((t === 'INT' || t === 'BIGINT') && col !== labelColumn && present.length >= 10 && new Set(present).size === present.length) idLike.push(col)
  })
  if (skipped.length > 0) warnings.push(`dropped column${skipped.length === 1 ? '' : 's'} ${skipped.join(', ')}: the ingestor creates ${skipped.length === 1 ? 'a column of that name' : 'columns of those names'} itself, so ${skipped.length === 1 ? 'it is' : 'they are'} not loaded`)
  if (empty.length > 0) warnings.push(`column(s) with no values in the first ${INFER_SAMPLE_ROWS} rows typed VARCHAR(1): ${empty.join(', ')} — pass --schema to set their type`)
  if (idLike.length > 0) warnings.push(`column(s) that look like row ids (all-distinct integers): ${idLike.join(', ')} — an id column teaches a model nothing; drop it or keep it deliberately`)
  return {schema, warnings}
}
