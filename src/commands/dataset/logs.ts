import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/command/base.js'
import {clusterFlags, envMs} from '../../lib/command/cluster-flags.js'
import {CliError, interruptExitCode} from '../../lib/output/errors.js'
import {redact} from '../../lib/output/redact.js'
import {printable} from '../../lib/output/printable.js'
import {colorEnabled, style} from '../../lib/output/style.js'
import {type LogsJson, parseSince, runLogs} from '../../lib/runs/logs.js'
import {LOGS_PERMISSIONS, requireRunPermissions} from '../../lib/runs/permissions.js'
import {followCommand, resolveRun} from '../../lib/runs/jobs.js'
import {runTarget} from '../../lib/runs/target.js'
import {stripAnsi} from '../../lib/watch/banner.js'
import {summaryJson, type WatchOutcome} from '../../lib/watch/outcome.js'
import {failureLines, outcomePanel} from '../../lib/watch/panel.js'

export {type LogsJson, parseSince} from '../../lib/runs/logs.js'

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
      const resolved = await resolveRun(t, namespace, this.args.run, cache, sig.signal)
      const {run} = resolved
      follow = followCommand(run.key, namespace)
      const base = {key: run.key, namespace, table: run.table, job_name: run.job_name, follow_command: follow}
      this.note(`Run ${printable(run.key)} · table ${run.table ?? (run.untrusted_table ? `(invalid name "${run.untrusted_table.name}")` : '?')} · job ${printable(run.job_name ?? '-')} · ${run.status}`)
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
      const r = await runLogs(t, resolved, {
        follow: f.follow,
        sinceSeconds,
        signal: sig.signal,
        podStartTimeoutMs: envMs('TRACEBLOC_POD_START_TIMEOUT', 300),
        onLine: show,
        // a finished run's pod is read to its end, not followed
        onStatus: (s) => this.note(style.dim(finished ? s.replace(/^following logs of pod (\S+)$/, 'logs of pod $1 (the run has finished)') : s)),
        note: (s) => this.note(s),
      })
      const w = r.watch
      endBar()
      if (r.unfinished) {
        this.note(`\nThe run is still ${run.status}. Follow it: ${follow}`)
        return {status: r.status, ...base, pods: w.pods, summary: summaryJson(w.summary), failure_lines: w.failureLines, exit_code: r.exitCode}
      }
      this.renderEnd(r.status, w, r.error)
      process.exitCode = r.exitCode
      return {status: r.status, ...base, pods: w.pods, summary: summaryJson(w.summary), failure_lines: w.failureLines, exit_code: r.exitCode, ...(r.error ? {error: r.error} : {})}
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

  private renderEnd(status: string, w: WatchOutcome, error?: string): void {
    if (this.jsonEnabled()) return
    this.out('')
    for (const l of outcomePanel(status, w.summary)) this.out(l)
    if (status !== 'succeeded') for (const l of failureLines(w.failureLines, error)) this.out(l)
  }
}
