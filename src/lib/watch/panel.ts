// The outcome panel a watched ingestion ends with: `dataset push` and `dataset logs` print the same one.
import {count, plural} from '../output/format.js'
import {style} from '../output/style.js'
import type {IngestSummary} from './banner.js'

/**
 * The headline and the summary's figures (lines without a trailing newline). The ingestor counts
 * rows; the table holds records, one per distinct row (identical rows share one), so when `inTable`
 * (read back from MySQL) differs from the rows inserted, both are shown with the reason.
 */
export function outcomePanel(status: string, s: IngestSummary | undefined, inTable?: number): string[] {
  const rows = s ? `${count(s.insertedRecords)} of ${count(s.totalRecords)} rows (${s.successRate.toFixed(1)}%)` : ''
  const counts = s ? (inTable === undefined ? ` — processed ${rows}` : ` — ${plural(inTable, 'record')} in the table from ${rows}`) : inTable === undefined ? '' : ` — ${plural(inTable, 'record')} in the table`
  const head: Record<string, string> = {
    succeeded: `${style.green('✔')} Ingestion complete${counts}`,
    completed_with_failures: `${style.yellow('⚠')} Ingestion completed with failures${counts}`,
    failed: `${style.red('✖')} Ingestion failed`,
    not_started: `${style.red('✖')} Ingestion never started`,
    unknown: `${style.yellow('?')} Ingestion outcome unknown`,
  }
  const lines = [head[status] ?? status]
  const kv = (k: string, v: string) => lines.push(`  ${k.padEnd(15)}  ${v}`)
  if (s) {
    kv('ingestor ID', s.ingestorId ?? '-')
    kv('rows found', count(s.totalRecords))
    kv('rows inserted', count(s.insertedRecords))
    if (s.apiSentRecords < s.insertedRecords) kv('sent to API', count(s.apiSentRecords))
    if (s.skippedRecords) kv('rows skipped', count(s.skippedRecords))
    if (s.fileTransferFailures) kv('file failures', count(s.fileTransferFailures))
    if (s.dbInsertFailures) kv('DB failures', count(s.dbInsertFailures))
  }
  if (inTable !== undefined) kv('in the table', `${plural(inTable, 'record')}${s && inTable < s.insertedRecords ? ' (rows with identical content share one record)' : ''}`)
  return lines
}

/** The ingestor's last failure lines, then the error unless those lines already quote it. */
export function failureLines(failure: string[], error: string | undefined): string[] {
  const shown = failure.slice(-8)
  const lines = shown.map((l) => `  ${style.dim('│')} ${l}`)
  if (error && !shown.some((l) => error.includes(l))) lines.push(`  ${style.dim('→')} ${error}`)
  return lines
}
