import {Flags} from '@oclif/core'

import {validateDatasetName} from '../../lib/catalog/names.js'
import {BaseCommand} from '../../lib/command/base.js'
import {clusterFlags} from '../../lib/command/cluster-flags.js'
import {printable} from '../../lib/output/printable.js'
import {ago, count, humanDuration} from '../../lib/output/format.js'
import {style} from '../../lib/output/style.js'
import {RecentRuns} from '../../lib/runs/cache.js'
import {requireRunPermissions, RUNS_PERMISSIONS} from '../../lib/runs/permissions.js'
import {findLeftovers, type Leftover, listRuns, type RunInfo} from '../../lib/runs/jobs.js'
import {clusterCache, requireClientWhenEmpty, runTarget} from '../../lib/runs/target.js'
import {summaryJson} from '../../lib/watch/outcome.js'

export interface RunsJson {
  context: string
  /** undefined with --all-namespaces */
  namespace?: string
  count: number
  runs: Array<Omit<RunInfo, 'summary' | 'pod'> & {summary?: ReturnType<typeof summaryJson>}>
  leftovers: Leftover[]
}

export default class DatasetRuns extends BaseCommand<typeof DatasetRuns> {
  static summary = 'List the ingestion runs of your tracebloc client, newest first'
  static description =
    'One row per run: idempotency key, table, category, intent, status (pending, running, succeeded, failed, completed with failures, ' +
    'cancelled, unknown), start, duration, Job, and the rows the ingestor inserted/found once its summary is known (`dataset list` counts the records in the table). Runs whose Job is gone show what is ' +
    'still known (cancel records, this machine’s recent runs). Stage pods a crashed push left are listed with the command that removes them.'
  static examples = ['<%= config.bin %> dataset runs', '<%= config.bin %> dataset runs --table cats_dogs_train', '<%= config.bin %> dataset runs -A --json']
  static flags = {
    ...clusterFlags,
    table: Flags.string({description: 'Only runs into this table'}),
    'all-namespaces': Flags.boolean({char: 'A', description: 'Runs in every namespace (needs cluster-wide list on jobs.batch)'}),
  }

  async run(): Promise<RunsJson> {
    const f = this.flags
    if (f.table !== undefined) validateDatasetName(f.table, '--table')
    let namespace: string | undefined
    let t: import('../../lib/cluster/kube.js').ClusterTarget
    let cache: RecentRuns
    if (f['all-namespaces']) {
      const {loadClusterTarget} = await import('../../lib/cluster/kube.js')
      t = await loadClusterTarget(f)
      cache = await clusterCache(t, this.config.cacheDir)
    } else {
      ;({t, namespace, cache} = await runTarget(f, this.config.cacheDir, {arg: ''}))
    }
    const context = t.context
    await requireRunPermissions(t, namespace ?? '', RUNS_PERMISSIONS)
    const runs = await listRuns(t, {namespace, table: f.table, cache, context})
    if (runs.length === 0 && namespace && f.namespace) await requireClientWhenEmpty(t)
    const leftovers = namespace ? await findLeftovers(t, namespace) : []
    this.render(runs, leftovers, namespace)
    return {
      context,
      namespace,
      count: runs.length,
      runs: runs.map(({summary, pod: _pod, ...r}) => ({...r, ...(summary ? {summary: summaryJson(summary)} : {})})),
      leftovers,
    }
  }

  private render(runs: RunInfo[], leftovers: Leftover[], namespace: string | undefined): void {
    if (this.jsonEnabled()) return
    if (runs.length === 0) {
      this.out(`No ingestion runs${namespace ? ` in namespace ${namespace}` : ''}${this.flags.table ? ` for table ${this.flags.table}` : ''}.`)
    } else {
      const now = Date.now()
      // every value read from the cluster or the cache goes through the output guard
      const rows = runs.map((r) => [
        ...(namespace ? [] : [printable(r.namespace)]),
        printable(r.key),
        r.table ?? (r.untrusted_table ? `(invalid name "${r.untrusted_table.name}")` : '?'),
        printable(r.category ?? '?'),
        printable(r.intent ?? '?'),
        statusText(r),
        r.started_at ? ago(Date.parse(r.started_at) / 1000, now) : '—',
        r.duration_seconds === undefined ? '—' : humanDuration(r.duration_seconds),
        printable(r.job_name ?? '—'),
        r.summary ? `${count(r.summary.insertedRecords)}/${count(r.summary.totalRecords)}` : '—',
      ])
      const head = [...(namespace ? [] : ['NAMESPACE']), 'KEY', 'TABLE', 'CATEGORY', 'INTENT', 'STATUS', 'STARTED', 'DURATION', 'JOB', 'ROWS']
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => stripStyle(r[i]).length)))
      const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i] - stripStyle(c).length))).join('   ')
      this.out(style.bold(line(head)))
      for (const r of rows) this.out(line(r))
      const failed = runs.filter((r) => r.reason && (r.status === 'failed' || r.status === 'unknown'))
      for (const r of failed.slice(0, 5)) this.out(style.dim(`  ${printable(r.key)}: ${printable(r.reason ?? '')}`))
      for (const r of runs.filter((x) => x.dataset_source).slice(0, 10)) this.out(style.dim(`  ${printable(r.key)}: from ${printable(r.dataset_source!)}`))
    }
    if (leftovers.length > 0) {
      this.out('')
      this.out(style.bold('Left behind by interrupted pushes'))
      for (const l of leftovers) this.out(`  stage pod ${printable(l.name)} (table ${printable(l.table || '?')}, ${l.phase}, started ${l.age_seconds === undefined ? '—' : ago(Date.now() / 1000 - l.age_seconds)}) → ${l.clean_command}`)
    }
  }
}

const stripStyle = (s: string) => s.replace(/\u001B\[[0-9;]*m/g, '') // eslint-disable-line no-control-regex

function statusText(r: RunInfo): string {
  const text = r.status.replace(/_/g, ' ')
  if (r.status === 'succeeded') return style.green(text)
  if (r.status === 'failed' || r.status === 'cancelled') return style.red(text)
  if (r.status === 'completed_with_failures' || r.status === 'unknown') return style.yellow(text)
  return text
}
