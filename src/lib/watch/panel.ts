// The outcome panel a watched ingestion ends with: `dataset push` and `dataset logs` print the same one.
import {style} from '../output/style.js'
import type {IngestSummary} from './banner.js'

/** The headline and the summary's figures (lines without a trailing newline). */
export function outcomePanel(status: string, s: IngestSummary | undefined): string[] {
  const counts = s ? ` — ingested ${s.insertedRecords.toLocaleString('en-US')} of ${s.totalRecords.toLocaleString('en-US')} records (${s.successRate.toFixed(1)}%)` : ''
  const head: Record<string, string> = {
    succeeded: `${style.green('✔')} Ingestion complete${counts}`,
    completed_with_failures: `${style.yellow('⚠')} Ingestion completed with failures${counts}`,
    failed: `${style.red('✖')} Ingestion failed`,
    not_started: `${style.red('✖')} Ingestion never started`,
    unknown: `${style.yellow('?')} Ingestion outcome unknown`,
  }
  const lines = [head[status] ?? status]
  if (s) {
    lines.push(`  ingestor ID      ${s.ingestorId ?? '-'}`, `  total records    ${s.totalRecords}`, `  inserted         ${s.insertedRecords}`)
    if (s.apiSentRecords < s.insertedRecords) lines.push(`  sent to API      ${s.apiSentRecords}`)
    if (s.skippedRecords) lines.push(`  skipped          ${s.skippedRecords}`)
    if (s.fileTransferFailures) lines.push(`  file failures    ${s.fileTransferFailures}`)
    if (s.dbInsertFailures) lines.push(`  DB failures      ${s.dbInsertFailures}`)
  }
  return lines
}

/** The ingestor's last failure lines, then the error unless those lines already quote it. */
export function failureLines(failure: string[], error: string | undefined): string[] {
  const shown = failure.slice(-8)
  const lines = shown.map((l) => `  ${style.dim('│')} ${l}`)
  if (error && !shown.some((l) => error.includes(l))) lines.push(`  ${style.dim('→')} ${error}`)
  return lines
}
