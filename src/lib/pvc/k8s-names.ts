// Kubernetes names and label values derived from a table name. The table rule
// ([A-Za-z_][A-Za-z0-9_]*, ≤ 63) admits names that are not valid label values (`abc_`, `_x`: a label
// value must start and end with a letter or digit), and a real API server refuses a pod carrying one.
import {createHash} from 'node:crypto'

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

export const isValidLabelValue = (v: string): boolean => v.length <= 63 && LABEL_VALUE.test(v)

/**
 * The `tracebloc.io/table` label value: the table itself when that is a valid label value (what
 * the Go CLI writes), otherwise `<table trimmed to letters/digits at both ends, or t>-<10 hex of sha256>`.
 * Table names never contain '-', so an encoded value can't equal any table's verbatim label, and the
 * hash keeps two tables that differ only in their trimmed underscores apart.
 */
export function tableLabelValue(table: string): string {
  if (table !== '' && isValidLabelValue(table)) return table
  const hash = createHash('sha256').update(table).digest('hex').slice(0, 10)
  const core = table
    .replace(/[^-A-Za-z0-9_.]/g, '')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63 - hash.length - 1)
  // a label value ends alphanumeric: drop the tail that is not (a scan, not `/[^A-Za-z0-9]+$/`)
  let end = core.length
  while (end > 0 && !/[A-Za-z0-9]/.test(core[end - 1]!)) end--
  return `${core.slice(0, end) || 't'}-${hash}`
}
