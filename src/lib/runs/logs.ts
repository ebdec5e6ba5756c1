// Re-attaching to an ingestion run (`dataset logs`): follow it as push does, or print what its pods
// logged so far, and decide the outcome with the classifier push uses (watch/outcome.ts).
import type {ClusterTarget} from '../cluster/kube.js'
import {CliError, ExitCode} from '../output/errors.js'
import {BannerParser} from '../watch/banner.js'
import {classifyWatch, FailureLines, summaryJson, type WatchOutcome} from '../watch/outcome.js'
import type {ResolvedRun, RunInfo} from './jobs.js'

export interface LogsJson {
  status: string
  key: string
  namespace: string
  table?: string
  job_name?: string
  pods: string[]
  summary?: ReturnType<typeof summaryJson>
  failure_lines: string[]
  follow_command: string
  exit_code: number
  error?: string
  reason?: string
}

/** `30s`, `5m`, `2h`, `1h30m` → seconds. */
export function parseSince(s: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s.trim())
  if (!m || s.trim() === '' || (!m[1] && !m[2] && !m[3])) {
    throw new CliError(`--since must be a duration like 30s, 5m, 2h or 1h30m, got "${s}"`, {exitCode: ExitCode.BAD_INPUT, reason: 'bad_flag'})
  }
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)
}

export interface RunLogsOptions {
  follow: boolean
  sinceSeconds?: number
  signal: AbortSignal
  podStartTimeoutMs: number
  /** Each log line, as the pod wrote it. */
  onLine: (line: string) => void
  onStatus: (s: string) => void
  /** A sentence for the user (stderr). */
  note: (s: string) => void
}

export interface RunLogsResult {
  status: string
  exitCode: number
  watch: WatchOutcome
  error?: string
  /** --no-follow on a run still going: no outcome yet. */
  unfinished?: boolean
}

/** The run's logs (followed or as they are) and its outcome; throws when its Job is gone. */
export async function runLogs(t: ClusterTarget, {run, job}: ResolvedRun, o: RunLogsOptions): Promise<RunLogsResult> {
  if (!job) throw jobGoneError(run)
  const sinceTime = o.sinceSeconds === undefined ? undefined : new Date(Date.now() - o.sinceSeconds * 1000).toISOString()
  let w: WatchOutcome
  if (o.follow) {
    const {watchIngestionJob} = await import('../watch/follow.js')
    w = await watchIngestionJob(t, {namespace: run.namespace, jobName: run.job_name!, signal: o.signal, sinceTime, podStartTimeoutMs: o.podStartTimeoutMs, onLine: o.onLine, onStatus: o.onStatus})
  } else {
    w = await printLogsOnce(t, run, o.sinceSeconds, o.onLine)
    if (run.status === 'pending' || run.status === 'running') return {status: run.status, exitCode: ExitCode.OK, watch: w, unfinished: true}
  }
  // No pod now, but the Job counted some: they ran and were deleted (not "never started").
  if (w.pods.length === 0 && (job.status?.succeeded || job.status?.failed)) w.notStarted = undefined
  if (w.pods.length === 0 && w.job !== 'Unknown') o.note(`Its pods are gone, and their logs with them; the Job status says: ${w.job}${run.reason ? ` (${run.reason})` : ''}`)
  const out = classifyWatch(w)
  let error = out.error
  if (out.status === 'failed' && (run.reason || job.status?.conditions)) {
    const cond = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True')
    const why = run.reason ?? [cond?.reason, cond?.message].filter(Boolean).join(': ')
    const last = w.failureLines.at(-1)
    error = `the ingestion Job failed${why ? ` (${why})` : ''}${last ? `: ${last}` : ''}`
  }
  return {status: out.status, exitCode: out.exitCode, watch: w, error}
}

/** --no-follow: every pod's log as it is now, oldest pod first, and the outcome if the run has one. */
async function printLogsOnce(t: ClusterTarget, run: RunInfo, sinceSeconds: number | undefined, show: (l: string) => void): Promise<WatchOutcome> {
  const pods = (await t.core.listNamespacedPod({namespace: run.namespace, labelSelector: `job-name=${run.job_name}`})).items.sort(
    (a, b) => new Date(a.metadata?.creationTimestamp ?? 0).getTime() - new Date(b.metadata?.creationTimestamp ?? 0).getTime(),
  )
  const parser = new BannerParser()
  const failures = new FailureLines()
  const shown: string[] = []
  for (const p of pods) {
    if (!['Running', 'Succeeded', 'Failed'].includes(p.status?.phase ?? '')) continue
    let text: string
    try {
      text = String(await t.core.readNamespacedPodLog({name: p.metadata!.name!, namespace: run.namespace, ...(sinceSeconds ? {sinceSeconds} : {})}))
    } catch {
      continue
    }
    shown.push(p.metadata!.name!)
    for (const line of text.split('\n')) {
      for (const part of line.split('\r')) {
        if (part === '') continue
        parser.push(part)
        failures.push(part)
        show(part)
      }
    }
  }
  const job = run.status === 'succeeded' || run.status === 'completed_with_failures' ? 'Complete' : run.status === 'failed' ? 'Failed' : 'Unknown'
  return {job, pods: shown, summary: parser.result(), failureLines: failures.lines}
}

function jobGoneError(run: RunInfo): CliError {
  const error =
    run.status === 'cancelled'
      ? `run ${run.key} was cancelled${run.finished_at ? ` at ${run.finished_at}` : ''}; its Job, pods and logs are gone`
      : `the Job of run ${run.key} is gone (deleted, or removed after its TTL), and its logs with it`
  return new CliError(error, {
    exitCode: ExitCode.JOB,
    hint: run.table ? `what was ingested: tracebloc dataset show ${run.table}` : '`tracebloc dataset runs` shows what is still known',
    reason: run.status === 'cancelled' ? 'cancelled' : 'job_gone',
  })
}
