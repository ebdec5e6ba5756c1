// Cancelling a run (docs/protocol.md#cancel): delete its Job with Foreground propagation (a raw DELETE of a
// batch/v1 Job orphans its pods), wait until the Job and its pods are gone, record the cancel where
// the next `dataset runs` finds it, and look at what the killed ingestor left on client-pvc.
import {apiFailure, ClusterTarget, sleep, withApiRetry} from '../cluster/kube.js'
import {CliError, ExitCode} from '../output/errors.js'
import {isoSeconds} from '../output/format.js'
import {printable} from '../output/printable.js'
import {style} from '../output/style.js'
import {datasetDir, ingestLockPath, SHARED_MOUNT, STAGING_ROOT, stagedCopyDir} from '../pvc/paths.js'
import type {RecentRuns} from './cache.js'
import {CANCEL_REASON, CATEGORY_ANNOTATION, INTENT_ANNOTATION, type ResolvedRun, RUN_LABEL, type RunInfo, STARTED_ANNOTATION, TABLE_ANNOTATION} from './jobs.js'

type V1Job = import('@kubernetes/client-node').V1Job

export interface CancelProgress {
  /** Records the ingestor had processed when it was stopped (its last progress line), when known. */
  processed?: number
  total?: number
}

/** The last `Ingesting records: … n/N` progress line of the run's pod, read before it is killed. */
export async function readProgress(t: ClusterTarget, namespace: string, pod: string | undefined): Promise<CancelProgress> {
  if (!pod) return {}
  try {
    const text = String(await t.core.readNamespacedPodLog({name: pod, namespace, tailLines: 200}))
    return progressFromLog(text)
  } catch {
    return {}
  }
}

/**
 * The figures of the last `Ingesting records: … | n/N` in a log. The pattern is tried from the last marker
 * of each line only (from every marker, a line repeating it would be read quadratically).
 */
export function progressFromLog(text: string): CancelProgress {
  const re = /Ingesting records:[^\n\r]*?\|\s*([\d,]+)\/([\d,]+)/y
  const lines = text.split(/\r?\n|\r/)
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!
    re.lastIndex = line.lastIndexOf('Ingesting records:')
    if (re.lastIndex < 0) continue
    const m = re.exec(line)
    if (m) return {processed: Number(m[1]!.replaceAll(',', '')), total: Number(m[2]!.replaceAll(',', ''))}
  }
  return {}
}

/** Delete the Job (Foreground) and wait until it and its pods are gone. Returns the pods that remained at the timeout. */
export async function deleteRunJob(t: ClusterTarget, job: V1Job, opts: {timeoutMs: number; signal?: AbortSignal; onStatus?: (s: string) => void}): Promise<string[]> {
  const namespace = job.metadata!.namespace!
  const name = job.metadata!.name!
  try {
    await withApiRetry(() => t.batch.deleteNamespacedJob({name, namespace, propagationPolicy: 'Foreground', body: {propagationPolicy: 'Foreground', preconditions: {uid: job.metadata?.uid}}}), {signal: opts.signal})
  } catch (error) {
    const f = apiFailure(error)
    if (f.code !== 404) {
      throw new CliError(`deleting Job ${namespace}/${name}: ${f.message}`, {
        exitCode: ExitCode.JOB,
        hint: f.code === 403 ? 'your user needs `delete` on jobs.batch' : 'retry; `tracebloc dataset runs` shows whether the run is still going',
        reason: f.code === 403 ? 'rbac_denied' : 'cancel_failed',
      })
    }
  }
  const deadline = Date.now() + opts.timeoutMs
  for (;;) {
    let jobGone = false
    try {
      await t.batch.readNamespacedJob({name, namespace})
    } catch (error) {
      jobGone = apiFailure(error).code === 404
    }
    let left: string[] = []
    try {
      const pods = await t.core.listNamespacedPod({namespace, labelSelector: `job-name=${name}`})
      left = pods.items.map((p) => p.metadata!.name!)
    } catch {
      // without `list pods` the Job's disappearance is the signal
    }
    if (jobGone && left.length === 0) return []
    if (Date.now() > deadline) return left
    opts.onStatus?.(left.length ? `waiting for pod(s) to stop: ${left.join(', ')}` : 'waiting for the Job to go')
    await sleep(500, opts.signal)
  }
}

/** An Event on the (deleted) Job, labelled with the key: how `dataset runs` on any machine knows it was cancelled. */
export async function recordCancelEvent(t: ClusterTarget, job: V1Job, run: {key: string; table?: string; category?: string; intent?: string; started_at?: string}): Promise<boolean> {
  const {key, table} = run
  const annotations = Object.fromEntries(
    Object.entries({[TABLE_ANNOTATION]: table, [CATEGORY_ANNOTATION]: run.category, [INTENT_ANNOTATION]: run.intent, [STARTED_ANNOTATION]: run.started_at}).filter(([, v]) => v),
  ) as Record<string, string>
  const namespace = job.metadata!.namespace!
  const now = new Date()
  try {
    await t.core.createNamespacedEvent({
      namespace,
      body: {
        // a generateName must itself be a DNS subdomain prefix: only a trailing "-" is allowed, not "."
        metadata: {generateName: `${job.metadata!.name}-`, namespace, labels: {[RUN_LABEL]: key, 'app.kubernetes.io/managed-by': 'tracebloc-cli'}, annotations},
        involvedObject: {apiVersion: 'batch/v1', kind: 'Job', name: job.metadata!.name, namespace, uid: job.metadata!.uid},
        reason: CANCEL_REASON,
        message: `Ingestion run ${key}${table ? ` (table ${table})` : ''} cancelled with tracebloc dataset cancel`,
        type: 'Normal',
        source: {component: 'tracebloc-cli'},
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    })
    return true
  } catch {
    return false
  }
}

export interface PvcLeftovers {
  /** The ingestor's table lock, if still there (a killed ingestor never releases it). */
  lock?: {path: string; holder?: string; started_at?: string; holder_alive: boolean}
  /** Files the ingestor had copied into /data/shared/<table>. */
  files?: number
  /** A staged copy under .tracebloc-staging/<table> (the next push replaces it). */
  staged_copy: boolean
  lock_cleared?: boolean
}

/** The ingestor's lock of `table`; throws (exit 7) for a name that fails the table-name rule. */
export const lockPath = (table: string) => ingestLockPath(table)

/**
 * Look at client-pvc through a short-lived stage pod: the lock, copied files, the staged copy.
 * With clearLock, the lock is removed when its holder pod is gone (no ingestor holds it).
 */
export async function inspectPvc(t: ClusterTarget, o: {namespace: string; table: string; serviceAccount: string; image: string; runId: string; clearLock: boolean; timeoutMs: number}): Promise<PvcLeftovers> {
  const {withStagePod} = await import('../pvc/pod.js')
  const {shQuote} = await import('../cluster/exec.js')
  // every path is built (and the name checked) before a pod is started
  const lock = lockPath(o.table)
  const dir = datasetDir(o.table)
  const staged = stagedCopyDir(o.table)
  const pod = {namespace: o.namespace, table: o.table, serviceAccount: o.serviceAccount, image: o.image, runId: o.runId, timeoutMs: o.timeoutMs}
  return withStagePod(t, pod, async (p) => {
    const run = async (script: string) => {
      const r = await p.exec(script)
      return {code: r.exitCode, text: r.stdout}
    }
    const t1 = await run(
      `l=${shQuote(lock)}; d=${shQuote(dir)}; s=${shQuote(staged)}
if [ -f "$l" ]; then printf 'LOCK '; tr -d '\\n' < "$l"; echo; fi
if [ -d "$d" ]; then echo "FILES $(find "$d" -type f | wc -l)"; fi
if [ -d "$s" ]; then echo STAGED; fi`,
    )
    const res: PvcLeftovers = {staged_copy: /^STAGED$/m.test(t1.text)}
    const files = /^FILES\s+(\d+)/m.exec(t1.text)
    if (files) res.files = Number(files[1])
    const lk = /^LOCK (.*)$/m.exec(t1.text)
    if (lk) {
      let holder: string | undefined
      let started: string | undefined
      try {
        const j = JSON.parse(lk[1]) as {hostname?: string; started_at?: string}
        holder = j.hostname
        started = j.started_at
      } catch {
        // an unreadable lock is still a lock
      }
      // the holder is text from a file on client-pvc: only a string that can be a pod name is looked up
      const podName = typeof holder === 'string' && holder.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(holder)
      const alive = holder === undefined ? true : podName ? await podExists(t, o.namespace, holder) : false
      res.lock = {path: lock, holder, started_at: started, holder_alive: alive}
      if (o.clearLock && !alive) res.lock_cleared = (await run(`rm -f ${shQuote(lock)}`)).code === 0
    }
    return res
  })
}

async function podExists(t: ClusterTarget, namespace: string, name: string): Promise<boolean> {
  try {
    const p = await t.core.readNamespacedPod({name, namespace})
    return !['Succeeded', 'Failed'].includes(p.status?.phase ?? '')
  } catch (error) {
    return apiFailure(error).code !== 404
  }
}

export interface CancelJson {
  /** no_run: `--clear-lock` for a table no run names; only client-pvc was looked at. */
  status: 'cancelled' | 'already_cancelled' | 'already_finished' | 'declined' | 'no_run'
  key: string
  namespace: string
  table?: string
  job_name?: string
  /** The run's status before the cancel. */
  run_status: string
  deleted_pods: string[]
  progress?: CancelProgress
  leftovers?: PvcLeftovers
  /** Why client-pvc could not be inspected (permissions, stage pod start). */
  leftovers_error?: string
  follow_up: string[]
  exit_code: number
}

export interface CancelRunOptions {
  namespace: string
  cache: RecentRuns
  /** The release's ingestor ServiceAccount (the stage pod runs as it). */
  serviceAccount: string
  stageImage: string
  clearLock: boolean
  /** Asked before anything is deleted; false declines. */
  confirm: (run: RunInfo) => Promise<boolean>
  cancelTimeoutMs: number
  podReadyTimeoutMs: number
  signal: AbortSignal
  note: (s: string) => void
  trace: (s: string) => void
}

/** Cancels a resolved run (delete its Job and pods, record the cancel) and reports what it left on client-pvc. */
export async function cancelRun(t: ClusterTarget, {run, job}: ResolvedRun, o: CancelRunOptions): Promise<CancelJson> {
  const namespace = o.namespace
  // A table name the cluster or the cache gives wrongly: nothing is deleted or cleaned up for that run.
  if (run.untrusted_table) {
    const u = run.untrusted_table
    // exit 7 as for any name the cluster gives wrongly (untrustedName): the user's input is fine, the cluster state is not
    throw new CliError(`refusing to cancel run ${printable(run.key, {ascii: true})}: its table name "${u.name}" read from ${u.from} is not a valid table name; nothing was deleted`, {
      exitCode: ExitCode.STAGING,
      hint: `check ${u.from}; to stop the run anyway: kubectl delete job -n ${namespace} ${printable(run.job_name ?? '<job>')}`,
      reason: 'untrusted_name',
    })
  }
  const doc: CancelJson = {status: 'cancelled', key: run.key, namespace, table: run.table, job_name: run.job_name, run_status: run.status, deleted_pods: [], follow_up: [], exit_code: ExitCode.OK}

  if (job && (run.status === 'succeeded' || run.status === 'failed' || run.status === 'completed_with_failures')) {
    o.note(`Run ${printable(run.key)} already finished (${run.status.replace(/_/g, ' ')}); nothing to cancel.`)
    return {...doc, status: 'already_finished'}
  }
  if (job) {
    if (!(await o.confirm(run))) {
      o.note('Not cancelled.')
      return {...doc, status: 'declined'}
    }
    // Read how far it got before the pod (and its log) goes.
    doc.progress = await readProgress(t, namespace, run.pod)
    const pods = (await t.core.listNamespacedPod({namespace, labelSelector: `job-name=${run.job_name}`})).items.map((p) => p.metadata!.name!)
    o.note(`Deleting Job ${printable(run.job_name ?? '?')} and its pod(s) ${pods.join(', ') || '(none)'} …`)
    const left = await deleteRunJob(t, job, {timeoutMs: o.cancelTimeoutMs, signal: o.signal, onStatus: o.trace})
    o.cache.markCancelled(t.context, namespace, run.key, isoSeconds(), {table: run.table ?? '', job_name: run.job_name, category: run.category, intent: run.intent})
    o.cache.save()
    await recordCancelEvent(t, job, run)
    if (left.length > 0) {
      throw new CliError(`Job ${printable(run.job_name ?? '?')} was deleted but pod(s) ${left.join(', ')} are still terminating`, {
        exitCode: ExitCode.JOB,
        hint: `check again shortly: kubectl get pods -n ${namespace} -l job-name=${run.job_name}`,
        reason: 'cancel_incomplete',
      })
    }
    doc.deleted_pods = pods
  } else {
    doc.status = 'already_cancelled'
    o.note(`Run ${printable(run.key)} has no Job any more (${run.status}${run.reason ? `: ${run.reason}` : ''}); checking what it left.`)
  }

  if (run.table) {
    try {
      doc.leftovers = await inspectPvc(t, {
        namespace,
        table: run.table,
        serviceAccount: o.serviceAccount,
        image: o.stageImage,
        runId: run.key.slice(0, 63),
        clearLock: o.clearLock,
        timeoutMs: o.podReadyTimeoutMs,
      })
    } catch (error) {
      doc.leftovers_error = `${(error as Error).message.split('\n')[0]} (inspecting client-pvc needs create on pods and pods/exec)`
    }
  }
  doc.follow_up = followUps(doc)
  return doc
}

/**
 * `cancel <table> --clear-lock` where no Job, cancel Event or cached run names the table (a lock left by a
 * run this cluster no longer knows of, as doctor reports it): nothing to stop, so only client-pvc is looked
 * at, and the lock is removed when the pod it names is gone.
 */
export async function clearTableLock(t: ClusterTarget, table: string, o: Pick<CancelRunOptions, 'namespace' | 'serviceAccount' | 'stageImage' | 'podReadyTimeoutMs' | 'note'>): Promise<CancelJson> {
  o.note(`No ingestion run names table ${printable(table)}; looking for the lock it left on client-pvc.`)
  const doc: CancelJson = {status: 'no_run', key: table, namespace: o.namespace, table, run_status: 'unknown', deleted_pods: [], follow_up: [], exit_code: ExitCode.OK}
  doc.leftovers = await inspectPvc(t, {namespace: o.namespace, table, serviceAccount: o.serviceAccount, image: o.stageImage, runId: `lock-${table}`.slice(0, 63), clearLock: true, timeoutMs: o.podReadyTimeoutMs})
  doc.follow_up = followUps(doc)
  return doc
}

function followUps(d: CancelJson): string[] {
  const out: string[] = []
  const l = d.leftovers
  if (d.table && (d.status === 'cancelled' || (l?.files ?? 0) > 0)) out.push(`tracebloc dataset delete ${d.table}`)
  if (l?.lock && !l.lock_cleared) {
    out.push(l.lock.holder_alive ? `kubectl get pod -n ${d.namespace} ${printable(l.lock.holder ?? '')}`.trimEnd() : `tracebloc dataset cancel ${printable(d.key)} -n ${d.namespace} --clear-lock --yes`)
  }
  return out
}

/** The human report of a cancel: what happened and what the run leaves behind. */
export function cancelReport(d: CancelJson): string[] {
  const lines: string[] = []
  if (d.status === 'cancelled') lines.push(`${style.green('✔')} Cancelled run ${printable(d.key)} (table ${d.table ?? '?'}): Job ${printable(d.job_name ?? '?')} and its pod(s) are gone.`)
  const p = d.progress
  const l = d.leftovers
  const row = (k: string, v: string) => lines.push(`  ${k.padEnd(12)} ${v}`)
  lines.push(style.bold('What it leaves'))
  if (d.status === 'cancelled') {
    const how = p?.processed === undefined ? 'an unknown number of records had been processed' : `${p.processed} of ${p.total} records had been processed`
    row('rows', `${how}; rows inserted before the cancel stay in table ${d.table ?? '?'} → remove them: tracebloc dataset delete ${d.table ?? '<table>'}`)
  }
  if (d.leftovers_error) row('client-pvc', `not inspected: ${d.leftovers_error}`)
  if (l) {
    row('files', l.files ? `${l.files} file(s) copied into ${SHARED_MOUNT}/${d.table} (dataset delete removes them too)` : 'none copied')
    if (!l.lock) row('lock', 'none')
    else if (l.lock_cleared) row('lock', `${l.lock.path} removed`)
    else if (l.lock.holder_alive) row('lock', `${l.lock.path} is held by pod ${printable(l.lock.holder ?? '?')}, which is still there — another ingest may be running`)
    else {
      row('lock', `${l.lock.path} (left by pod ${printable(l.lock.holder ?? '?')}, now gone) blocks the next push of ${d.table} for up to 12 h`)
      row('', `→ clear it: tracebloc dataset cancel ${printable(d.key)} -n ${d.namespace} --clear-lock --yes`)
    }
    if (l.staged_copy) row('staged copy', `${STAGING_ROOT}/${d.table} (harmless; the next push of ${d.table} reuses it)`)
  }
  return lines
}
