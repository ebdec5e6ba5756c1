// The one JSON document `dataset push --json` prints, whatever the run came to.
import {followCommand} from '../runs/jobs.js'
import {summaryJson} from '../watch/outcome.js'
import type {Outcome} from '../watch/outcome.js'
import type {PushContext, PushOptions, PushStatus} from './context.js'
import type {DryRunPlan} from './plan.js'
import type {SampleInfo} from '../local/index.js'

export interface PushJson {
  status: PushStatus
  table?: string
  category?: string
  intent?: string
  namespace?: string
  release?: string
  /** The target cluster's identity (kube-system UID), as the wrong-cluster guard saw it. */
  cluster?: {uid?: string; server: string; context: string}
  idempotency_key: string
  job_name?: string
  /** Re-attach to the run: `tracebloc dataset logs <key> -n <ns>`. */
  follow_command?: string
  replay?: boolean
  ingest_config?: Record<string, unknown>
  /** A remote source, without any query string. */
  source?: string
  /** Bytes of a remote dataset read by this machine (the CSV, text files, image header ranges). */
  bytes_read_here?: number
  files?: number
  bytes?: number
  rows?: number
  /** Distinct rows (each one record in the table), when counted. */
  distinct_rows?: number
  /** `--bwlimit` (or the profile's `bwlimit`): the cap on everything the push sent from this machine. */
  bwlimit?: {bytes_per_second: number}
  staged?: {
    files: number
    bytes: number
    seconds: number
    retries: number
    skipped_files: number
    skipped_bytes: number
    sent_files: number
    sent_bytes: number
    wire_bytes: number
    resent_files: number
    resumed_bytes: number
    kept_files?: number
    kept_bytes?: number
    parallel: number
    compressed: boolean
    /** The hash the stage pod checked every received byte with (sha256 or md5, chosen per pod). */
    verified_with?: string
    swapped: boolean
  }
  summary?: ReturnType<typeof summaryJson>
  /** Records the table holds after the run (what `dataset list` shows); below summary.inserted when rows repeat. */
  records_in_table?: number
  /** A --sample push: what part of the dataset was pushed, and the command for all of it. */
  sample?: SampleInfo & {full_push_command?: string}
  /** The dry run's plan: per file, bytes on the wire, checks, ETA (plan.ts). */
  dry_run?: DryRunPlan
  staging_reclaimed?: boolean
  warnings: string[]
  timings: Record<string, number>
  exit_code: number
  error?: string
  reason?: string
  hint?: string
  /** The ingestor's own failure lines (validator failures, `Ingestion failed:` …), when it failed. */
  details?: string[]
}

export function pushDocument(ctx: PushContext, o: PushOptions, out: Outcome<PushStatus> & {hint?: string}): PushJson {
  const plan = ctx.plan
  const st = ctx.staged
  return {
    status: out.status,
    table: plan?.table ?? o.plan.table,
    category: plan?.category ?? o.plan.category,
    intent: plan?.intent ?? o.plan.intent,
    namespace: ctx.release?.namespace,
    release: ctx.release?.release,
    ...(ctx.identity ? {cluster: {uid: ctx.identity.uid, server: ctx.identity.server, context: ctx.identity.context}} : {}),
    idempotency_key: ctx.idempotencyKey,
    job_name: ctx.submit?.jobName,
    follow_command: ctx.submit ? followCommand(ctx.idempotencyKey, ctx.submit.namespace) : undefined,
    replay: ctx.submit?.replay,
    ingest_config: o.dryRun ? plan?.config : undefined,
    ...(ctx.remote ? {source: ctx.remote.display, bytes_read_here: ctx.remote.bytesRead} : {}),
    files: plan?.files.length,
    rows: plan?.rows,
    distinct_rows: plan?.distinctRows,
    bytes: plan?.totalBytes,
    ...(o.bwlimit ? {bwlimit: {bytes_per_second: o.bwlimit}} : {}),
    staged: st
      ? {
          files: st.files,
          bytes: st.bytes,
          seconds: st.seconds,
          retries: st.retries,
          skipped_files: st.skippedFiles,
          skipped_bytes: st.skippedBytes,
          sent_files: st.sentFiles,
          sent_bytes: st.sentBytes,
          wire_bytes: st.wireBytes,
          resent_files: st.resentFiles,
          resumed_bytes: st.resumedBytes,
          kept_files: st.keptFiles,
          kept_bytes: st.keptBytes,
          parallel: st.parallel,
          compressed: st.compressed,
          verified_with: st.check,
          swapped: st.swapped,
        }
      : undefined,
    summary: summaryJson(ctx.watch?.summary),
    records_in_table: ctx.recordsInTable,
    ...(plan?.sample ? {sample: {...plan.sample, full_push_command: o.fullPushCommand}} : {}),
    ...(ctx.dryRunPlan ? {dry_run: ctx.dryRunPlan} : {}),
    staging_reclaimed: ctx.reclaimed,
    warnings: ctx.warnings,
    timings: ctx.timings,
    exit_code: out.exitCode,
    ...(out.error ? {error: out.error} : {}),
    ...(out.reason ? {reason: out.reason} : {}),
    ...(out.hint ? {hint: out.hint} : {}),
    ...(out.details ? {details: out.details} : {}),
  }
}
