import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/command/base.js'
import {clusterFlags, envMs} from '../../lib/command/cluster-flags.js'
import {CliError, ExitCode, interruptExitCode} from '../../lib/output/errors.js'
import {redact} from '../../lib/output/redact.js'
import {printable} from '../../lib/output/printable.js'
import {colorEnabled, style} from '../../lib/output/style.js'
import {LOGS_PERMISSIONS, requireRunPermissions} from '../../lib/runs/permissions.js'
import {followCommand, resolveRun, type RunInfo} from '../../lib/runs/runs.js'
import {runTarget} from '../../lib/runs/target.js'
import {BannerParser, stripAnsi} from '../../lib/watch/banner.js'
import {classifyWatch, FailureLines, summaryJson, type WatchOutcome} from '../../lib/watch/outcome.js'
import {failureLines, outcomePanel} from '../../lib/watch/panel.js'

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

/** The ingestor's progress bar (`Ingesting records:  41%|████ | 240/576 [00:00]`). */
const PROGRESS_BAR = /^[A-Za-z ]+:\s+\d+%\|/

export default class DatasetLogs extends BaseCommand<typeof DatasetLogs> {
  static summary = 'Re-attach to an ingestion run: its live logs, then the summary'
  static description =
    'Follows a run like `dataset push` does (pod events while it starts, live logs, a replacement pod, the summary) and exits ' +
    'with the same codes: 0 when the ingestion succeeded, 9 when it failed or reported failures. Ctrl-C stops watching (exit 130; SIGTERM 143); the run goes on. ' +
    'The run is a table (its newest run), an idempotency key or a Job name; without one, the last run you pushed from this machine.'
  static examples = ['<%= config.bin %> dataset logs', '<%= config.bin %> dataset logs cats_dogs_train', '<%= config.bin %> dataset logs 3f9a… --no-follow --since 10m']
  static args = {run: Args.string({description: 'Table, idempotency key or Job name (default: your last run)', required: false})}
  static flags = {
    ...clusterFlags,
    follow: Flags.boolean({description: 'Follow the run to its end (--no-follow: print what is there and exit)', default: true, allowNo: true}),
    since: Flags.string({description: 'Only logs newer than this duration, e.g. 10m or 1h'}),
  }

  async run(): Promise<LogsJson> {
    const f = this.flags
    const sinceSeconds = f.since === undefined ? undefined : parseSince(f.since)
    const sig = this.interruption
    sig.cooperate()
    let follow: string | undefined
    try {
      const {t, namespace, cache} = await runTarget(f, this.config.cacheDir, {arg: this.args.run, signal: sig.signal})
      await requireRunPermissions(t, namespace, LOGS_PERMISSIONS, sig.signal)
      const {run, job} = await resolveRun(t, namespace, this.args.run, cache, sig.signal)
      follow = followCommand(run.key, namespace)
      const base = {key: run.key, namespace, table: run.table, job_name: run.job_name, follow_command: follow}
      this.note(`Run ${printable(run.key)} · table ${run.table ?? (run.untrusted_table ? `(invalid name "${run.untrusted_table.name}")` : '?')} · job ${printable(run.job_name ?? '-')} · ${run.status}`)
      if (!job) this.jobGone(run)

      // On a terminal the ingestor's progress bar updates one line in place, as push shows it.
      const inPlace = Boolean(process.stdout.isTTY) && !this.jsonEnabled()
      let barShown = false
      const endBar = () => {
        if (barShown) process.stdout.write('\n')
        barShown = false
      }
      const show = (line: string) => {
        const text = redact(colorEnabled(process.stdout) && !this.jsonEnabled() ? line : stripAnsi(line))
        if (this.jsonEnabled()) process.stderr.write(text + '\n')
        else if (inPlace && PROGRESS_BAR.test(stripAnsi(line))) {
          process.stdout.write(`\r\u001B[2K${text}`)
          barShown = true
        } else {
          endBar()
          process.stdout.write(text + '\n')
        }
      }
      const finished = run.status !== 'pending' && run.status !== 'running'
      const sinceTime = sinceSeconds === undefined ? undefined : new Date(Date.now() - sinceSeconds * 1000).toISOString()
      let w: WatchOutcome
      if (f.follow) {
        const {watchIngestionJob} = await import('../../lib/watch/follow.js')
        w = await watchIngestionJob(t, {
          namespace,
          jobName: run.job_name!,
          signal: sig.signal,
          sinceTime,
          podStartTimeoutMs: envMs('TRACEBLOC_POD_START_TIMEOUT', 300),
          onLine: (l) => show(l),
          // a finished run's pod is read to its end, not followed
          onStatus: (s) => this.note(style.dim(finished ? s.replace(/^following logs of pod (\S+)$/, 'logs of pod $1 (the run has finished)') : s)),
        })
      } else {
        w = await this.printOnce(t, run, sinceSeconds, show)
        if (run.status === 'pending' || run.status === 'running') {
          this.note(`\nThe run is still ${run.status}. Follow it: ${follow}`)
          return {status: run.status, ...base, pods: w.pods, summary: summaryJson(w.summary), failure_lines: w.failureLines, exit_code: ExitCode.OK}
        }
      }
      endBar()
      // No pod now, but the Job counted some: they ran and were deleted (not "never started").
      if (w.pods.length === 0 && (job.status?.succeeded || job.status?.failed)) w.notStarted = undefined
      if (w.pods.length === 0 && w.job !== 'Unknown') this.note(`Its pods are gone, and their logs with them; the Job status says: ${w.job}${run.reason ? ` (${run.reason})` : ''}`)
      const out = classifyWatch(w)
      let error = out.error
      if (out.status === 'failed' && (run.reason || job.status?.conditions)) {
        const cond = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True')
        const why = run.reason ?? [cond?.reason, cond?.message].filter(Boolean).join(': ')
        const last = w.failureLines.at(-1)
        error = `the ingestion Job failed${why ? ` (${why})` : ''}${last ? `: ${last}` : ''}`
      }
      this.renderEnd(out.status, w, error)
      process.exitCode = out.exitCode
      return {status: out.status, ...base, pods: w.pods, summary: summaryJson(w.summary), failure_lines: w.failureLines, exit_code: out.exitCode, ...(error ? {error} : {})}
    } catch (error) {
      if (sig.interruptedBy()) {
        // Only the watching stops: the run is untouched in the cluster.
        throw new CliError('stopped watching; the ingestion keeps running in your cluster', {
          exitCode: interruptExitCode(sig.interruptedBy()),
          hint: `re-attach with: ${follow ?? `tracebloc dataset logs ${this.args.run ?? ''}`.trimEnd()}`,
          reason: 'interrupted',
        })
      }
      throw error
    } finally {
      sig.release()
    }
  }

  /** --no-follow: every pod's log as it is now, oldest pod first, and the outcome if the run has one. */
  private async printOnce(t: import('../../lib/cluster/kube.js').ClusterTarget, run: RunInfo, sinceSeconds: number | undefined, show: (l: string) => void): Promise<WatchOutcome> {
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

  private jobGone(run: RunInfo): never {
    const error =
      run.status === 'cancelled'
        ? `run ${run.key} was cancelled${run.finished_at ? ` at ${run.finished_at}` : ''}; its Job, pods and logs are gone`
        : `the Job of run ${run.key} is gone (deleted, or removed after its TTL), and its logs with it`
    throw new CliError(error, {
      exitCode: ExitCode.JOB,
      hint: run.table ? `what was ingested: tracebloc dataset show ${run.table}` : '`tracebloc dataset runs` shows what is still known',
      reason: run.status === 'cancelled' ? 'cancelled' : 'job_gone',
    })
  }

  private renderEnd(status: string, w: WatchOutcome, error?: string): void {
    if (this.jsonEnabled()) return
    this.out('')
    for (const l of outcomePanel(status, w.summary)) this.out(l)
    if (status !== 'succeeded') for (const l of failureLines(w.failureLines, error)) this.out(l)
  }
}
