// The ingestor's summary banner is the only machine-readable summary it prints (docs/protocol.md#summary-banner).
// Parsing follows that section and the Go CLI exactly: ANSI stripped, start marker, emoji
// label prefixes, trailing comma-grouped integers, end at the first ═×60 line after a field.
export interface IngestSummary {
  ingestorId?: string
  totalRecords: number
  processedRecords: number
  insertedRecords: number
  apiSentRecords: number
  skippedRecords: number
  fileTransferFailures: number
  dbInsertFailures: number
  successRate: number
  hasFailures: boolean
}

// eslint-disable-next-line no-control-regex -- matching ANSI SGR escapes is the point
const ANSI = /\u001B\[[0-9;]*m/g
export const stripAnsi = (s: string) => s.replace(ANSI, '')

const START = '📊 INGESTION SUMMARY 📊'
const END = '═'.repeat(60)
const FIELDS: Array<[string, keyof IngestSummary]> = [
  ['📈 Total Records Found:', 'totalRecords'],
  ['✅ Successfully Processed:', 'processedRecords'],
  ['💾 Inserted to Database:', 'insertedRecords'],
  ['🚀 Sent to API:', 'apiSentRecords'],
  ['⏭️  Skipped Records:', 'skippedRecords'],
  ['📁 File Transfer Failures:', 'fileTransferFailures'],
  ['❌ Failed DB Insertion:', 'dbInsertFailures'],
]

// The banner lines come from the cluster: scans, not regexes. /([0-9][0-9,]*)\s*$/ retries at every digit
// of a long run (quadratic), and /Ingestor ID:\s*(.+?)\s*$/ re-scans the blank tail per character.

/** The text after "Ingestor ID:", trimmed (undefined when absent or blank). */
export function ingestorIdIn(line: string): string | undefined {
  const at = line.indexOf('Ingestor ID:')
  if (at < 0) return undefined
  const id = line.slice(at + 'Ingestor ID:'.length).trim()
  return id === '' ? undefined : id
}

/** The comma-grouped integer a line ends with (trailing blanks ignored), e.g. "… Records Found: 1,234" → "1,234". */
export function trailingCount(line: string): string | undefined {
  const end = line.trimEnd().length
  let start = end
  while (start > 0 && (line[start - 1] === ',' || (line[start - 1]! >= '0' && line[start - 1]! <= '9'))) start--
  while (start < end && line[start] === ',') start++ // the number starts at a digit
  return start < end ? line.slice(start, end) : undefined
}

export class BannerParser {
  private current?: Partial<IngestSummary>
  private fields = 0
  private done?: IngestSummary

  push(rawLine: string): void {
    if (this.done) return
    const line = stripAnsi(rawLine)
    if (line.includes(START)) {
      this.current = {}
      this.fields = 0
      return
    }
    if (!this.current) return
    if (line.includes(END) && this.fields > 0) {
      this.done = finalize(this.current)
      return
    }
    const id = ingestorIdIn(line)
    if (id !== undefined) {
      this.current.ingestorId = id
      return
    }
    for (const [prefix, key] of FIELDS) {
      if (!line.includes(prefix)) continue
      const n = trailingCount(line)
      if (n !== undefined) {
        ;(this.current as Record<string, number>)[key] = Number(n.replaceAll(',', ''))
        this.fields++
      }
      return
    }
  }

  result(): IngestSummary | undefined {
    return this.done
  }
}

function finalize(p: Partial<IngestSummary>): IngestSummary {
  const s = {
    ingestorId: p.ingestorId,
    totalRecords: p.totalRecords ?? 0,
    processedRecords: p.processedRecords ?? 0,
    insertedRecords: p.insertedRecords ?? 0,
    apiSentRecords: p.apiSentRecords ?? 0,
    skippedRecords: p.skippedRecords ?? 0,
    fileTransferFailures: p.fileTransferFailures ?? 0,
    dbInsertFailures: p.dbInsertFailures ?? 0,
  }
  return {
    ...s,
    successRate: s.totalRecords > 0 ? Math.round((s.insertedRecords / s.totalRecords) * 1000) / 10 : 0,
    // The Go CLI's five clauses: skipped rows exit 0 on the cluster yet are not a clean run.
    hasFailures:
      s.dbInsertFailures > 0 || s.fileTransferFailures > 0 || s.skippedRecords > 0 || s.insertedRecords < s.totalRecords || s.apiSentRecords < s.insertedRecords,
  }
}
