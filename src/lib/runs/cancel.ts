// Cancelling a run (docs/protocol.md#cancel): delete its Job with Foreground propagation (a raw DELETE of a
// batch/v1 Job orphans its pods), wait until the Job and its pods are gone, record the cancel where
// the next `dataset runs` finds it, and look at what the killed ingestor left on client-pvc.
import {apiFailure, ClusterTarget, sleep, withApiRetry} from '../cluster/kube.js'
import {datasetDir, ingestLockPath, stagedCopyDir} from '../pvc/paths.js'
import {CliError, ExitCode} from '../output/errors.js'
import {CANCEL_REASON, CATEGORY_ANNOTATION, INTENT_ANNOTATION, RUN_LABEL, STARTED_ANNOTATION, TABLE_ANNOTATION} from './runs.js'

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
    const all = [...text.matchAll(/Ingesting records:[^\n\r]*?\|\s*([\d,]+)\/([\d,]+)/g)]
    const m = all.at(-1)
    return m ? {processed: Number(m[1].replace(/,/g, '')), total: Number(m[2].replace(/,/g, ''))} : {}
  } catch {
    return {}
  }
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
