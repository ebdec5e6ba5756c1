// Ingestion runs as Kubernetes objects (docs/protocol.md#ingestion-jobs): Jobs labelled tracebloc.io/ingestion-run=<key>,
// their pods (job-name=<job>), the per-run ConfigMap that names the table, and the cancel records this
// CLI leaves (an Event labelled with the key, plus the local recent-run cache).
import {load as loadYaml} from 'js-yaml'

import {apiFailure, ClusterTarget, withApiRetry} from '../cluster/kube.js'
import {CliError, ExitCode} from '../output/errors.js'
import {printable} from '../output/printable.js'
import {isTableName} from '../schema/table-name.js'
import {isoSeconds} from '../output/format.js'
import {BannerParser, IngestSummary} from '../watch/banner.js'
import type {RecentRun, RecentRuns} from './cache.js'

type V1Job = import('@kubernetes/client-node').V1Job
type V1Pod = import('@kubernetes/client-node').V1Pod
type CoreV1Event = import('@kubernetes/client-node').CoreV1Event

export const RUN_LABEL = 'tracebloc.io/ingestion-run'
/** Reason of the Event `dataset cancel` records on the Job (it outlives the Job, for `dataset runs`). */
export const CANCEL_REASON = 'IngestionCancelled'
export const TABLE_ANNOTATION = 'tracebloc.io/table'
export const CATEGORY_ANNOTATION = 'tracebloc.io/category'
export const INTENT_ANNOTATION = 'tracebloc.io/intent'
export const STARTED_ANNOTATION = 'tracebloc.io/started-at'

export type RunStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'completed_with_failures' | 'cancelled' | 'unknown'

export interface RunInfo {
  key: string
  namespace: string
  job_name?: string
  table?: string
  category?: string
  intent?: string
  status: RunStatus
  /** Why: a Failed condition's reason/message, "Job is gone", the cancel time … */
  reason?: string
  started_at?: string
  finished_at?: string
  duration_seconds?: number
  pods: {active: number; succeeded: number; failed: number}
  summary?: IngestSummary
  /** Where the row comes from: the live Job, a cancel record in the cluster, or only this machine's cache. */
  source: 'job' | 'cancel-record' | 'cache'
  /** Where a remote dataset came from (s3://, gs://, https:// without a query), as this machine recorded it. */
  dataset_source?: string
  /** Newest pod of the Job (for logs). */
  pod?: string
  /** A table name the cluster or the cache gave for this run that fails the table-name rule (escaped); `table` is then unset. */
  untrusted_table?: {name: string; from: string}
}

/**
 * A run's table as the cluster (ConfigMap, Event annotation) or the local cache gives it: kept only when
 * it passes the same rule as a typed table name, else recorded (escaped) so nothing builds a path from it.
 */
export function trustedTable(name: unknown, from: string): Pick<RunInfo, 'table' | 'untrusted_table'> {
  if (name === undefined || name === '') return {}
  if (isTableName(name)) return {table: name as string}
  return {table: undefined, untrusted_table: {name: printable(String(name), {ascii: true}), from}}
}

export interface Leftover {
  kind: 'stage-pod'
  name: string
  table: string
  phase: string
  age_seconds: number
  clean_command: string
}

const terminal = (job: V1Job): {type: 'Complete' | 'Failed'; reason?: string; message?: string} | undefined => {
  for (const c of job.status?.conditions ?? []) if (c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed')) return {type: c.type, reason: c.reason, message: c.message}
  return undefined
}

const ts = (d: Date | string | undefined): string | undefined => (d === undefined ? undefined : isoSeconds(d))

/** The newest pod that ran (Running/Succeeded/Failed), else the newest at all — like the Go CLI's pick. */
export function newestPod(pods: V1Pod[]): V1Pod | undefined {
  const byAge = [...pods].sort((a, b) => new Date(b.metadata?.creationTimestamp ?? 0).getTime() - new Date(a.metadata?.creationTimestamp ?? 0).getTime())
  return byAge.find((p) => ['Running', 'Succeeded', 'Failed'].includes(p.status?.phase ?? '')) ?? byAge[0]
}

/** Status of a run from its Job, its pods and (when finished) the summary banner of its newest pod. */
export function runFromJob(job: V1Job, pods: V1Pod[], summary?: IngestSummary): RunInfo {
  const key = job.metadata?.labels?.[RUN_LABEL] ?? ''
  const end = terminal(job)
  const started = job.status?.startTime ?? job.metadata?.creationTimestamp
  // completionTime is set only on success; a failed Job's end is its Failed condition's transition
  const finished = job.status?.completionTime ?? (end ? job.status?.conditions?.find((c) => c.type === end.type)?.lastTransitionTime : undefined)
  let status: RunStatus
  let reason: string | undefined
  if (end?.type === 'Complete') status = summary?.hasFailures ? 'completed_with_failures' : 'succeeded'
  else if (end?.type === 'Failed') {
    status = 'failed'
    reason = [end.reason, end.message].filter(Boolean).join(': ') || undefined
  } else if (job.metadata?.deletionTimestamp) {
    status = 'cancelled'
    reason = 'the Job is being deleted'
  } else if (pods.some((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp)) status = 'running'
  else if (pods.length === 0 && !job.status?.active && (job.status?.succeeded || job.status?.failed)) status = 'unknown'
  else status = 'pending'
  const pod = newestPod(pods)
  return {
    key,
    namespace: job.metadata?.namespace ?? '',
    job_name: job.metadata?.name,
    status,
    reason,
    started_at: ts(started),
    finished_at: ts(finished),
    duration_seconds: started ? Math.max(0, Math.round(((finished ? new Date(finished).getTime() : Date.now()) - new Date(started).getTime()) / 1000)) : undefined,
    pods: {active: job.status?.active ?? 0, succeeded: job.status?.succeeded ?? 0, failed: job.status?.failed ?? 0},
    summary,
    source: 'job',
    pod: pod?.metadata?.name,
  }
}

/** table / category / intent from the run's ingest.yaml (ConfigMap mounted by the Job); undefined when unreadable. */
export async function readRunConfig(t: ClusterTarget, job: V1Job): Promise<Pick<RunInfo, 'table' | 'untrusted_table' | 'category' | 'intent'> | undefined> {
  const ns = job.metadata?.namespace ?? ''
  const names = (job.spec?.template?.spec?.volumes ?? []).map((v) => v.configMap?.name).filter((n): n is string => Boolean(n))
  for (const name of names) {
    try {
      const cm = await t.core.readNamespacedConfigMap({name, namespace: ns})
      for (const text of Object.values(cm.data ?? {})) {
        const doc = loadYaml(text) as Record<string, unknown> | null
        if (doc && typeof doc === 'object' && typeof doc.table === 'string') {
          return {...trustedTable(doc.table, `ConfigMap ${ns}/${name}`), category: typeof doc.category === 'string' ? doc.category : undefined, intent: typeof doc.intent === 'string' ? doc.intent : undefined}
        }
      }
    } catch {
      // no `get configmaps`, or not a YAML ConfigMap: the table comes from elsewhere
    }
  }
  return undefined
}

/** Parse the summary banner from a finished pod's log; undefined when there is none (or no rights). */
export async function readSummary(t: ClusterTarget, namespace: string, pod: string): Promise<IngestSummary | undefined> {
  try {
    const text = await t.core.readNamespacedPodLog({name: pod, namespace})
    const p = new BannerParser()
    for (const l of String(text).split('\n')) for (const part of l.split('\r')) p.push(part)
    return p.result()
  } catch {
    return undefined
  }
}

export interface ListRunsOptions {
  /** undefined = all namespaces */
  namespace?: string
  table?: string
  cache?: RecentRuns
  context: string
  /** Read the banner of finished runs (one log read each). */
  summaries?: boolean
  signal?: AbortSignal
}

/** Every run the cluster (and this machine) knows of, newest first. */
export async function listRuns(t: ClusterTarget, o: ListRunsOptions): Promise<RunInfo[]> {
  let jobs: V1Job[]
  try {
    const list = await withApiRetry(() => (o.namespace ? t.batch.listNamespacedJob({namespace: o.namespace, labelSelector: RUN_LABEL}) : t.batch.listJobForAllNamespaces({labelSelector: RUN_LABEL})), {signal: o.signal})
    jobs = list.items
  } catch (error) {
    throw listFailure(error, o.namespace)
  }
  const pods = await listJobPods(t, o.namespace, o.signal)
  const runs: RunInfo[] = []
  for (const job of jobs) {
    const mine = pods.filter((p) => p.metadata?.namespace === job.metadata?.namespace && p.metadata?.labels?.['job-name'] === job.metadata?.name)
    let run = runFromJob(job, mine)
    if (o.summaries !== false && terminal(job)?.type === 'Complete' && run.pod) run = runFromJob(job, mine, await readSummary(t, run.namespace, run.pod))
    Object.assign(run, (await readRunConfig(t, job)) ?? fromCache(o, run))
    const src = o.cache?.find(o.context, (r) => r.namespace === run.namespace && r.key === run.key)?.dataset_source
    if (src) run.dataset_source = src
    runs.push(run)
  }
  // Runs whose Job is gone: cancel records in the cluster, then what this machine remembers.
  const known = new Set(runs.map((r) => `${r.namespace}/${r.key}`))
  for (const ev of await listCancelRecords(t, o.namespace)) {
    const key = ev.metadata?.labels?.[RUN_LABEL] ?? ''
    const ns = ev.metadata?.namespace ?? ''
    if (!key || known.has(`${ns}/${key}`)) continue
    known.add(`${ns}/${key}`)
    const at = ts(ev.lastTimestamp ?? ev.eventTime ?? ev.metadata?.creationTimestamp)
    const cached = o.cache?.find(o.context, (r) => r.namespace === ns && r.key === key)
    const a = ev.metadata?.annotations ?? {}
    runs.push({
      key,
      namespace: ns,
      job_name: ev.involvedObject?.name,
      ...(a[TABLE_ANNOTATION] === undefined ? trustedTable(cached?.table, 'the recent-run cache') : trustedTable(a[TABLE_ANNOTATION], `Event ${ns}/${ev.metadata?.name}`)),
      category: a[CATEGORY_ANNOTATION] ?? cached?.category,
      intent: a[INTENT_ANNOTATION] ?? cached?.intent,
      status: 'cancelled',
      reason: `cancelled at ${at}`,
      started_at: a[STARTED_ANNOTATION] ?? cached?.submitted_at,
      finished_at: at,
      duration_seconds: span(a[STARTED_ANNOTATION] ?? cached?.submitted_at, at),
      pods: {active: 0, succeeded: 0, failed: 0},
      source: 'cancel-record',
    })
  }
  for (const c of o.cache?.all() ?? []) {
    if (c.context !== o.context || (o.namespace && c.namespace !== o.namespace) || known.has(`${c.namespace}/${c.key}`)) continue
    known.add(`${c.namespace}/${c.key}`)
    runs.push(fromCacheOnly(c))
  }
  const filtered = o.table ? runs.filter((r) => r.table === o.table) : runs
  return filtered.sort((a, b) => (b.started_at ?? '').localeCompare(a.started_at ?? ''))
}

function fromCache(o: ListRunsOptions, run: RunInfo): Partial<RunInfo> {
  const c = o.cache?.find(o.context, (r) => r.namespace === run.namespace && r.key === run.key)
  return c ? {...trustedTable(c.table, 'the recent-run cache'), category: c.category, intent: c.intent} : {}
}

function span(from: string | undefined, to: string | undefined): number | undefined {
  const d = from && to ? Math.round((Date.parse(to) - Date.parse(from)) / 1000) : NaN
  return Number.isFinite(d) && d >= 0 ? d : undefined
}

export function fromCacheOnly(c: RecentRun): RunInfo {
  return {
    key: c.key,
    namespace: c.namespace,
    job_name: c.job_name,
    ...trustedTable(c.table, 'the recent-run cache'),
    category: c.category,
    intent: c.intent,
    status: c.cancelled_at ? 'cancelled' : 'unknown',
    reason: c.cancelled_at ? `cancelled at ${c.cancelled_at}` : 'its Job is gone (deleted, or removed after its TTL); the dataset may still exist',
    started_at: c.submitted_at,
    finished_at: c.cancelled_at,
    pods: {active: 0, succeeded: 0, failed: 0},
    source: 'cache',
  }
}

async function listJobPods(t: ClusterTarget, namespace: string | undefined, signal?: AbortSignal): Promise<V1Pod[]> {
  try {
    const list = await withApiRetry(() => (namespace ? t.core.listNamespacedPod({namespace, labelSelector: 'job-name'}) : t.core.listPodForAllNamespaces({labelSelector: 'job-name'})), {signal})
    return list.items
  } catch {
    return [] // without `list pods` the status falls back to the Job's counters
  }
}

export async function listCancelRecords(t: ClusterTarget, namespace: string | undefined): Promise<CoreV1Event[]> {
  try {
    const list = namespace ? await t.core.listNamespacedEvent({namespace, labelSelector: RUN_LABEL}) : await t.core.listEventForAllNamespaces({labelSelector: RUN_LABEL})
    return list.items.filter((e) => e.reason === CANCEL_REASON)
  } catch {
    return [] // events are advisory; the local cache still remembers this machine's cancels
  }
}

/** Stage pods a crashed push left (not Running, older than 5 minutes), with the command that removes them. */
export async function findLeftovers(t: ClusterTarget, namespace: string): Promise<Leftover[]> {
  try {
    const {findOrphanStagePods} = await import('../pvc/stage-pod.js')
    return (await findOrphanStagePods(t, namespace)).map((p) => ({
      kind: 'stage-pod' as const,
      name: p.name,
      table: p.table,
      phase: p.phase,
      age_seconds: p.ageSeconds,
      clean_command: `kubectl delete pod -n ${namespace} ${p.name}`,
    }))
  } catch {
    return []
  }
}

function listFailure(error: unknown, namespace: string | undefined): CliError {
  const f = apiFailure(error)
  return new CliError(`listing ingestion Jobs ${namespace ? `in namespace "${namespace}"` : 'in all namespaces'}: ${f.message}`, {
    exitCode: ExitCode.JOB,
    hint: f.code === 403 ? 'your user needs `list` on jobs.batch there' : undefined,
    reason: f.code === 403 ? 'rbac_denied' : 'watch_error',
  })
}

export interface ResolvedRun {
  run: RunInfo
  job?: V1Job
  /** How the argument matched. */
  matched: 'job' | 'key' | 'table' | 'last'
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

/**
 * `<table|key|job>` → one run: a Job by name, else the run with that idempotency key, else the newest
 * run of that table; nothing → the last run this machine submitted in this context.
 */
export async function resolveRun(t: ClusterTarget, namespace: string, arg: string | undefined, cache: RecentRuns, signal?: AbortSignal): Promise<ResolvedRun> {
  const getJob = async (name: string) => {
    try {
      return await withApiRetry(() => t.batch.readNamespacedJob({name, namespace}), {signal})
    } catch (error) {
      const f = apiFailure(error)
      if (f.code === 404) return undefined
      throw new CliError(`reading Job ${namespace}/${name}: ${f.message}`, {exitCode: ExitCode.JOB, reason: f.code === 403 ? 'rbac_denied' : 'watch_error', hint: f.code === 403 ? 'your user needs `get` on jobs.batch' : undefined})
    }
  }
  const byKey = async (key: string) => {
    if (!LABEL_VALUE.test(key) || key.length > 63) return undefined
    try {
      const list = await withApiRetry(() => t.batch.listNamespacedJob({namespace, labelSelector: `${RUN_LABEL}=${key}`}), {signal})
      return list.items.sort((a, b) => new Date(b.metadata?.creationTimestamp ?? 0).getTime() - new Date(a.metadata?.creationTimestamp ?? 0).getTime())[0]
    } catch (error) {
      throw listFailure(error, namespace)
    }
  }
  const full = async (job: V1Job, matched: ResolvedRun['matched']): Promise<ResolvedRun> => {
    const pods = (await listJobPods(t, namespace, signal)).filter((p) => p.metadata?.labels?.['job-name'] === job.metadata?.name)
    const run = runFromJob(job, pods)
    Object.assign(run, (await readRunConfig(t, job)) ?? fromCache({context: t.context, cache}, run))
    return {run, job, matched}
  }
  const gone = async (key: string, matched: ResolvedRun['matched']): Promise<ResolvedRun | undefined> => {
    const ev = (await listCancelRecords(t, namespace)).find((e) => e.metadata?.labels?.[RUN_LABEL] === key)
    const c = cache.find(t.context, (r) => r.namespace === namespace && r.key === key)
    if (!ev && !c) return undefined
    const run = c ? fromCacheOnly(c) : ({key, namespace, status: 'cancelled', pods: {active: 0, succeeded: 0, failed: 0}, source: 'cancel-record'} as RunInfo)
    if (ev) {
      const a = ev.metadata?.annotations ?? {}
      run.status = 'cancelled'
      run.source = 'cancel-record'
      run.job_name ??= ev.involvedObject?.name
      if (run.table === undefined && run.untrusted_table === undefined) Object.assign(run, trustedTable(a[TABLE_ANNOTATION], `Event ${namespace}/${ev.metadata?.name}`))
      run.category ??= a[CATEGORY_ANNOTATION]
      run.intent ??= a[INTENT_ANNOTATION]
      run.started_at ??= a[STARTED_ANNOTATION]
      run.finished_at = ts(ev.lastTimestamp ?? ev.eventTime ?? ev.metadata?.creationTimestamp)
      run.reason = `cancelled at ${run.finished_at}`
    }
    return {run, matched}
  }

  if (arg === undefined) {
    const last = cache.last(t.context, namespace)
    if (!last) {
      throw new CliError(`no recent run recorded on this machine for context "${t.context}", namespace "${namespace}"`, {
        exitCode: ExitCode.BAD_INPUT,
        hint: 'name the run: a table, an idempotency key or a Job name (`tracebloc dataset runs` lists them)',
        reason: 'no_recent_run',
      })
    }
    const job = await byKey(last.key)
    if (job) return full(job, 'last')
    return (await gone(last.key, 'last'))!
  }
  if (DNS_LABEL.test(arg) && arg.length <= 63) {
    const job = await getJob(arg)
    if (job?.metadata?.labels?.[RUN_LABEL] !== undefined) return full(job, 'job')
  }
  const job = await byKey(arg)
  if (job) return full(job, 'key')
  const runs = await listRuns(t, {namespace, table: arg, cache, context: t.context, summaries: false, signal})
  if (runs.length > 0) {
    const r = runs[0]
    const j = r.job_name && r.source === 'job' ? await getJob(r.job_name) : undefined
    return j ? full(j, 'table') : {run: r, matched: 'table'}
  }
  const rec = await gone(arg, 'key')
  if (rec) return rec
  throw new CliError(`no ingestion run matches "${arg}" in namespace "${namespace}" (not a Job name, idempotency key or table with a run)`, {
    exitCode: ExitCode.NO_DATASET,
    hint: '`tracebloc dataset runs` lists the runs this cluster knows of',
    reason: 'run_not_found',
  })
}

/** The command that re-attaches to a run; printed whenever the CLI stops watching one. */
export function followCommand(key: string, namespace: string): string {
  return `tracebloc dataset logs ${key} -n ${namespace}`
}
