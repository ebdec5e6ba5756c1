// What a watched ingestion ended as, decided once for `dataset push` and `dataset logs`: which log
// lines explain a failure, the status and exit code, and the summary's JSON form.
import {ExitCode} from '../output/errors.js'
import {type IngestSummary, stripAnsi} from './banner.js'

/** An ingestor log line that states why the ingestion failed: the first one is quoted as the reason. */
const CAUSE_LINE = /Ingestion failed:|Validator failed:|validation failed:/

/** A line that explains a failure: a cause (CAUSE_LINE's alternatives first, so every quoted reason is
 * kept), or a traceback, an ERROR record, a config complaint. A literal so the ReDoS table can list it. */
const FAILURE_LINE = /Ingestion failed:|Validator failed:|validation failed:|^ERROR|\| ERROR|Traceback|Error:|is not valid YAML|must be a mapping|INGEST_CONFIG/

/** A new log record (timestamp or level prefix, progress bar): ends a failure block. */
const LOG_RECORD = /^\d{4}-\d{2}-\d{2}[ T]\d|^(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\b|^[A-Za-z ]+:\s+\d+%\|/

/** Keeps the failure lines of a log read line by line (at most 200). */
export class FailureLines {
  readonly lines: string[] = []
  // A failure header ending in ':' ("Ingestion failed: Duplicate Validator Validator failed: ") has
  // its cause on the next lines: the first is joined onto it, the rest kept up to a blank line.
  private continuation: 'none' | 'join' | 'append' = 'none'

  push(line: string): void {
    if (this.lines.length >= 200) return
    const plain = stripAnsi(line).trimEnd()
    if (FAILURE_LINE.test(plain)) {
      this.keep(plain)
      this.continuation = plain.endsWith(':') ? 'join' : this.continuation === 'none' ? 'none' : 'append'
    } else if (this.continuation !== 'none' && plain.trim() !== '' && !LOG_RECORD.test(plain)) {
      this.keep(plain)
      this.continuation = plain.endsWith(':') ? 'join' : 'append'
    } else this.continuation = 'none'
  }

  private keep(plain: string): void {
    if (this.continuation === 'join') this.lines[this.lines.length - 1] += ' ' + plain.trim()
    else this.lines.push(plain)
  }
}

export interface WatchOutcome {
  job: 'Complete' | 'Failed' | 'Unknown'
  /** Set when no pod ever ran: the reason (ImagePullBackOff, FailedScheduling …). */
  notStarted?: string
  pods: string[]
  summary?: IngestSummary
  /** Lines that explain a failure (validator failures, `Ingestion failed:`, tracebacks, ERROR …). */
  failureLines: string[]
  podExitCode?: number
}

export type WatchStatus = 'succeeded' | 'completed_with_failures' | 'failed' | 'not_started' | 'unknown'

export interface Outcome<S extends string = WatchStatus> {
  status: S
  exitCode: number
  error?: string
  reason?: string
  /** The ingestor's own failure lines, when it printed any. */
  details?: string[]
}

/** The outcome of a run watched to its end (or as far as it went), from the Job and the ingestor's lines. */
export function classifyWatch(w: WatchOutcome | undefined): Outcome {
  if (!w) return {status: 'unknown', exitCode: ExitCode.JOB, error: 'the run was not watched to the end', reason: 'job_outcome_unknown'}
  // The ingestor's own failure lines, the first (with its joined cause) as the reason.
  const details = w.failureLines.length > 0 ? w.failureLines : undefined
  const because = details ? `: ${details.find((l) => CAUSE_LINE.test(l)) ?? details[0]}` : ''
  if (w.notStarted) return {status: 'not_started', exitCode: ExitCode.JOB, error: `the ingestion pod never started: ${w.notStarted}`, reason: 'job_not_started', details}
  if (w.job === 'Failed') return {status: 'failed', exitCode: ExitCode.JOB, error: `the ingestion Job failed${because || ' (the ingestor printed no reason; see its logs)'}`, reason: 'job_failed', details}
  if (w.job === 'Complete') {
    if (w.summary?.hasFailures) return {status: 'completed_with_failures', exitCode: ExitCode.JOB, error: 'the ingestion finished but its summary reports failures or skipped rows', reason: 'job_completed_with_failures', details}
    return {status: 'succeeded', exitCode: ExitCode.OK}
  }
  return {status: 'unknown', exitCode: ExitCode.JOB, error: 'the ingestion outcome could not be determined', reason: 'job_outcome_unknown', details}
}

/** The ingestor's summary as it appears in every --json document. */
export function summaryJson(s?: IngestSummary) {
  if (!s) return undefined
  return {
    ingestor_id: s.ingestorId,
    total_records: s.totalRecords,
    inserted_records: s.insertedRecords,
    sent_to_api: s.apiSentRecords,
    skipped_records: s.skippedRecords,
    file_transfer_failures: s.fileTransferFailures,
    db_insert_failures: s.dbInsertFailures,
    success_rate: s.successRate,
  }
}
