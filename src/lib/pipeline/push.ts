// `dataset push` as a pipeline of listr2 tasks: validate → connect → stage → submit → watch.
// Each step is a function of the shared context; the command only parses flags and renders the result.
import {LISTR_LOGGER_STDERR_LEVELS, Listr, ListrLogger, ListrLogLevels, ListrTask} from 'listr2'

import {checkSharedPvc, ClientRelease, discoverRelease, pickJobsManagerPod, SharedPvc} from '../cluster/discovery.js'
import {ClusterFlags, ClusterTarget, loadClusterTarget} from '../cluster/kube.js'
import {raceAbort, signalPoint, throwIfInterrupted} from '../command/signals.js'
import {openPortForward, PortForward} from '../cluster/portforward.js'
import {checkPermissions, PermissionCheck, PUSH_PERMISSIONS, requirePermissions, TOKEN_PERMISSIONS} from '../cluster/rbac.js'
import {freshIngestorToken, IngestorToken, mintIngestorToken} from '../cluster/token.js'
import type {DatasetPlan, PlanOptions} from '../dataset/index.js'
import {ExitCode} from '../output/errors.js'
import {redact} from '../output/redact.js'
import {SCHEMA_SHA256} from '../schema/index.js'
import {buildStagePod, createStagePod, deletePod, findOrphanStagePods, stagePodName, waitPodReady} from '../staging/stage-pod.js'
import {HashCache} from '../staging/hash-cache.js'
import {abandonStaging, CompressMode, stageFiles, StagingPaths, stagingPaths, StreamResult} from '../staging/stream.js'
import {buildSubmitBody, fetchServerSchema, newIdempotencyKey, submitIngestion, SubmitResult} from '../submit/submit.js'
import {type IngestSummary, stripAnsi} from '../watch/banner.js'
import {colorEnabled} from '../output/style.js'
import {watchIngestionJob, WatchOutcome} from '../watch/follow.js'
import {LogView} from '../watch/log-view.js'
import {humanBytes, humanDuration} from './format.js'

export interface PushOptions {
  plan: PlanOptions
  cluster: ClusterFlags
  idempotencyKey?: string
  imageDigest?: string
  stageImage: string
  detach: boolean
  dryRun: boolean
  /** Replace an existing dataset of that name (removed as `dataset delete` does, after the cluster checks). */
  overwrite?: boolean
  json: boolean
  cleanOrphans: boolean
  signal: AbortSignal
  /** TTY → listr2's live renderer; otherwise plain lines. */
  tty: boolean
  podReadyTimeoutMs: number
  podStartTimeoutMs: number
  /** Parallel exec streams for staging (default: measured, StreamGovernor). */
  parallel?: number
  compress?: CompressMode
  /** The wrong-cluster guard: called once connected, before anything is written; throws to refuse. */
  guardTarget?: (t: ClusterTarget, namespace: string) => Promise<void>
}

export type PushStatus =
  | 'dry-run'
  | 'detached'
  | 'succeeded'
  | 'completed_with_failures'
  | 'failed'
  | 'not_started'
  | 'unknown'
  | 'interrupted'
  | 'error'

/** Everything the run learned; the command turns it into the final panel or the --json document. */
export interface PushContext {
  plan?: DatasetPlan
  target?: ClusterTarget
  release?: ClientRelease
  pvc?: SharedPvc
  permissions?: PermissionCheck[]
  jobsManagerPod?: string
  token?: IngestorToken
  stagePod?: string
  paths?: StagingPaths
  staged?: StreamResult
  swapped?: boolean
  portForward?: PortForward
  idempotencyKey: string
  serverSchema?: {schema_version?: string; schema_sha256?: string}
  submit?: SubmitResult
  watch?: WatchOutcome
  warnings: string[]
  timings: Record<string, number>
  reclaimed?: boolean
  /** The destination check: whether the dataset existed, and what --overwrite removed. */
  destination?: import('../datasets/guard.js').GuardResult
  /** The step running (or last run): says where an interrupted run stands. */
  phase?: 'validate' | 'connect' | 'stage' | 'submit' | 'watch'
}

const nowMs = () => performance.now()

async function timed<T>(ctx: PushContext, key: string, fn: () => Promise<T>): Promise<T> {
  ctx.phase = key.replace(/_ms$/, '') as PushContext['phase']
  const t0 = nowMs()
  try {
    return await fn()
  } finally {
    ctx.timings[key] = Math.round(nowMs() - t0)
  }
}

/** Thrown by the watch task only to mark a non-clean outcome in the task list; not a failure of the CLI. */
export class WatchOutcomeShown extends Error {}

export function initialContext(o: PushOptions): PushContext {
  return {idempotencyKey: o.idempotencyKey ?? newIdempotencyKey(), warnings: [], timings: {}}
}

export async function runPush(o: PushOptions, ctx: PushContext, log: {line: (s: string) => void; warn: (s: string) => void}): Promise<void> {
  const throttle = throttled(o.tty ? 100 : 2000)
  // Ask for a missing --category before the task list renders (it buffers stderr, hiding the prompt).
  let detected: string | undefined
  const onDetected = (_category: string, why: string) => (detected = why)
  if (o.plan.category === undefined && o.plan.interactive) o.plan.category = await (await import('../dataset/index.js')).chooseCategory({...o.plan, onDetected})
  // Every warning is shown to humans and kept for the --json document.
  const warn = (s: string) => {
    ctx.warnings.push(s)
    log.warn(s)
  }
  // The connect step's reads; the port-forward it opens ends up in ctx for the submit (and for cleanup).
  const connect = async (c: PushContext, task: {output: string}) => {
    c.target = await loadClusterTarget(o.cluster)
    c.target.prompts = false // the task list owns the terminal: a namespace switch is an error naming -n
    throwIfInterrupted(o.signal)
    task.output = `context ${c.target.context}, namespace ${c.target.namespace}`
    c.release = await discoverRelease(c.target, o.signal)
    if (c.release.note) warn(c.release.note)
    const ns = c.release.namespace
    c.pvc = await checkSharedPvc(c.target, o.signal)
    task.output = 'checking permissions'
    c.permissions = await checkPermissions(c.target, ns, [...PUSH_PERMISSIONS, ...TOKEN_PERMISSIONS], o.signal)
    requirePermissions(ns, c.permissions)
    await o.guardTarget?.(c.target, ns)
    // the destination check (MySQL, client-pvc) runs alongside the remaining checks; it is applied after them
    const {checkDestination} = await import('../datasets/guard.js')
    const destination = checkDestination(c.target, ns, c.plan!.table, o.signal, o.idempotencyKey)
    destination.catch(() => undefined) // awaited by the caller; an early failure must not go unhandled meanwhile
    c.jobsManagerPod = await pickJobsManagerPod(c.target, c.release, o.signal)
    if (!o.dryRun) {
      task.output = 'minting the ingestor token'
      c.token = await mintIngestorToken(c.target, ns, c.release.ingestorSA, undefined, o.signal)
      // One port-forward serves the schema check now and the submit later.
      const pf = await openPortForward(c.target, ns, c.jobsManagerPod, 8080)
      if (o.signal.aborted) {
        // interrupted while it opened: cleanup may already have run, so close it here
        await pf.close()
        throw o.signal.reason
      }
      c.portForward = pf
      await signalPoint('port-forward')
      throwIfInterrupted(o.signal)
      c.serverSchema = await fetchServerSchema(c.portForward.baseUrl, o.signal)
      if (c.serverSchema?.schema_sha256 && c.serverSchema.schema_sha256 !== SCHEMA_SHA256) {
        warn(
          `jobs-manager validates with schema ${c.serverSchema.schema_version ?? '?'} (sha256 ${c.serverSchema.schema_sha256.slice(0, 12)}…), this CLI embeds ${SCHEMA_SHA256.slice(0, 12)}…; if the cluster rejects the config, its errors are shown verbatim`,
        )
      }
    }
    return destination
  }
  const tasks: ListrTask<PushContext>[] = [
    {
      title: 'Validate the dataset locally',
      task: async (c, task) =>
        timed(c, 'validate_ms', async () => {
          await signalPoint('validate')
          throwIfInterrupted(o.signal)
          const {planDataset} = await import('../dataset/index.js')
          // local reads take no signal: stop waiting for them at once (nothing in the cluster to undo yet)
          c.plan = await raceAbort(o.signal, planDataset({
            ...o.plan,
            onDetected,
            onProgress: (p) => throttle(() => (task.output = `${p.phase}${p.files !== undefined ? ` · ${p.files} files` : ''}${p.bytes !== undefined ? ` · ${humanBytes(p.bytes)}` : ''}`)),
          }))
          for (const w of c.plan.warnings) warn(w)
          task.title = `Validated ${c.plan.rows} rows, ${c.plan.files.length} files (${humanBytes(c.plan.totalBytes)}) as ${c.plan.category}${detected ? ` (detected: ${detected})` : ''}`
        }),
    },
    {
      title: 'Connect to the tracebloc client',
      task: async (c, task) =>
        timed(c, 'connect_ms', async () => {
          await signalPoint('connect')
          // API reads do not all take the signal: stop waiting for them at once (they change nothing);
          // the destination check started inside runs alongside them and is awaited with them
          const destination = await raceAbort(o.signal, connect(c, task))
          // before any byte is uploaded: an existing dataset stops the push (exit 6) or, with --overwrite, goes.
          // Not raced: a teardown under way finishes its current removal and honours the signal itself.
          task.output = 'checking whether the dataset already exists'
          const {applyDestination} = await import('../datasets/guard.js')
          c.destination = await applyDestination(c.target!, destination, {
            overwrite: Boolean(o.overwrite), dryRun: o.dryRun, serviceAccount: c.release!.ingestorSA, stageImage: o.stageImage,
            podReadyTimeoutMs: o.podReadyTimeoutMs, signal: o.signal, onStatus: (s) => (task.output = s), warn,
          })
          task.title = `Connected to release ${c.release!.release} (chart ${c.release!.chartVersion}) in ${c.release!.namespace}`
        }),
    },
    {
      title: 'Stage files into client-pvc',
      skip: () => (o.dryRun ? 'dry run: nothing is copied' : false),
      task: async (c, task) =>
        timed(c, 'stage_ms', async () => {
          await signalPoint('stage')
          throwIfInterrupted(o.signal)
          const t = c.target!
          const ns = c.release!.namespace
          const plan = c.plan!
          await reportOrphans(t, ns, o.cleanOrphans, warn)
          // A stage pod that disappears mid-copy (deleted, evicted) is replaced; the work dir on the PVC carries on.
          const startPod = async () => {
            const name = stagePodName(plan.table)
            c.stagePod = name
            task.output = `creating stage pod ${name}`
            await createStagePod(t, buildStagePod({name, namespace: ns, table: plan.table, serviceAccount: c.release!.ingestorSA, image: o.stageImage, runId: c.idempotencyKey.slice(0, 63)}), o.signal)
            await signalPoint('stage-pod')
            throwIfInterrupted(o.signal)
            await waitPodReady(t, ns, name, {timeoutMs: o.podReadyTimeoutMs, signal: o.signal, onStatus: (s) => (task.output = `waiting for stage pod: ${s}`)})
            return name
          }
          const first = await startPod()
          c.paths = stagingPaths(plan.table)
          const entries = plan.files.map((f) => ({localPath: f.localPath, name: f.stagedPath, size: f.size, mtimeMs: f.mtimeMs}))
          const cache = HashCache.load(o.plan.path)
          c.staged = await stageFiles({
            t,
            namespace: ns,
            pod: first,
            table: plan.table,
            entries,
            paths: c.paths,
            recreatePod: async () => {
              if (c.stagePod) await deletePod(t, ns, c.stagePod).catch(() => undefined)
              return startPod()
            },
            parallel: o.parallel,
            compress: o.compress,
            cache,
            // tuning/test knobs: batch limits (files per tar stream, file bytes per tar stream), the size from
            // which a file alone in its batch is sent without tar, the range size such files travel in, and
            // how many consecutive ranges share an exec
            batch: {files: envInt('TRACEBLOC_STAGE_BATCH_FILES'), bytes: envInt('TRACEBLOC_STAGE_BATCH_BYTES')},
            streamHashMinBytes: envInt('TRACEBLOC_STAGE_STREAM_HASH_MIN'),
            rangeBytes: envInt('TRACEBLOC_STAGE_RANGE_BYTES'),
            rangeGroup: envInt('TRACEBLOC_STAGE_RANGE_GROUP'),
            signal: o.signal,
            onNote: (l) => warn(l),
            onProgress: (p) => {
              if (p.phase === 'copying' && p.bytes > 0) void signalPoint('transfer')
              throttle(
                () =>
                  (task.output =
                    p.phase === 'hashing'
                      ? `hashing changed files: ${humanBytes(p.bytes)} / ${humanBytes(p.totalBytes)}`
                      : `${humanBytes(p.bytes)} / ${humanBytes(p.totalBytes)} · ${p.sentFiles}/${p.totalFiles} files sent, ${p.files} verified · ${humanBytes(p.bytesPerSecond)}/s · ETA ${p.etaSeconds === undefined ? '?' : humanDuration(p.etaSeconds)}${p.skippedFiles ? ` · ${p.skippedFiles} unchanged` : ''}${p.retries ? ` · ${p.retries} retries` : ''}`),
              )
            },
          })
          c.swapped = true
          await deletePod(t, ns, c.stagePod!)
          c.stagePod = undefined
          const st = c.staged
          const rate = st.seconds > 0 ? st.sentBytes / st.seconds : 0
          task.title = !st.swapped
            ? `Staged copy already up to date: ${st.files} files (${humanBytes(st.bytes)}) unchanged, nothing sent`
            : `Staged ${st.files} files (${humanBytes(st.bytes)}) in ${humanDuration(st.seconds)}: sent ${st.files - st.skippedFiles} (${humanBytes(st.sentBytes)}, ${humanBytes(rate)}/s)${st.skippedFiles ? `, ${st.skippedFiles} unchanged` : ''}${st.retries ? `, ${st.retries} retries` : ''}; ${st.parallel > 1 ? `${st.parallel} streams, ` : ''}every file verified in the pod (${st.check ?? 'md5'})`
        }),
    },
    {
      title: 'Submit to jobs-manager',
      skip: () => (o.dryRun ? 'dry run: nothing is submitted' : false),
      task: async (c, task) =>
        timed(c, 'submit_ms', async () => {
          await signalPoint('submit')
          throwIfInterrupted(o.signal)
          const body = buildSubmitBody(c.plan!.configYaml, c.idempotencyKey, o.imageDigest)
          c.submit = await submitIngestion({
            baseUrl: c.portForward!.baseUrl,
            token: (c.token = await freshIngestorToken(c.target!, c.token!, o.signal)).token,
            body,
            signal: o.signal,
            onRetry: (why, n) => {
              task.output = `attempt ${n} failed (${why}); retrying with the same idempotency key`
              void signalPoint('submit-retry')
            },
          })
          task.title = c.submit.replay
            ? `Attached to the existing run ${c.submit.jobName} (same idempotency key)`
            : `Submitted: Job ${c.submit.jobName}`
        }),
    },
    {
      title: 'Watch the ingestion',
      skip: () => (o.dryRun ? 'dry run' : o.detach ? 'detached: the ingestion runs on in the cluster' : false),
      // On a terminal LogView re-emits the whole log each time (the progress bar updated in place), so one entry is the view.
      rendererOptions: {outputBar: o.tty ? 1 : Infinity, persistentOutput: true},
      task: async (c, task) =>
        timed(c, 'watch_ms', async () => {
          await signalPoint('watch')
          throwIfInterrupted(o.signal)
          await c.portForward?.close()
          c.portForward = undefined
          const view = new LogView((text) => (task.output = text), o.tty)
          c.watch = await watchIngestionJob(c.target!, {
            namespace: c.submit!.namespace,
            jobName: c.submit!.jobName,
            signal: o.signal,
            podStartTimeoutMs: o.podStartTimeoutMs,
            // The ingestor colours its own output; honour NO_COLOR / non-TTY by stripping it.
            onLine: (l) => {
              view.push(redact(colorEnabled(process.stdout) ? l : stripAnsi(l)))
              void signalPoint('logs')
            },
            onStatus: (s) => view.push(s),
          })
          // The task list shows the outcome truthfully (✖ for anything but a clean run); the command then
          // renders the panel and picks the exit code from ctx.watch, as for a clean run.
          const w = c.watch
          if (w.job === 'Complete' && !w.summary?.hasFailures) task.title = 'Ingestion finished'
          else {
            // The failed task shows its title only: say the outcome there.
            task.title = w.notStarted ? `Ingestion pod never started: ${w.notStarted}` : w.job === 'Complete' ? 'Ingestion finished with failures or skipped rows' : w.job === 'Failed' ? 'Ingestion Job failed' : 'Ingestion outcome unknown'
            throw new WatchOutcomeShown(task.title)
          }
        }),
    },
  ]

  const list = new Listr<PushContext>(tasks, {
    ctx,
    concurrent: false,
    exitOnError: true,
    registerSignalListeners: false, // listr2 would process.exit(127) on SIGINT and skip our cleanup
    renderer: 'default',
    fallbackRenderer: 'simple',
    fallbackRendererCondition: () => !o.tty,
    silentRendererCondition: () => o.json,
    // The failed task shows only its title (✖); the command prints the error once, with its hint.
    rendererOptions: {collapseSubtasks: false, showErrorMessage: false},
    fallbackRendererOptions: {logger: new TitleOnlyFailures({useIcons: true, toStderr: LISTR_LOGGER_STDERR_LEVELS})},
  })
  await list.run()
}

/** The plain-line renderer's logger without the `[FAILED: <message>]` suffix (the message follows as `Error:`). */
class TitleOnlyFailures extends ListrLogger {
  override log(level: ListrLogLevels, message: string, options?: Parameters<ListrLogger['log']>[2]): void {
    super.log(level, message, level === ListrLogLevels.FAILED ? {...options, suffix: undefined} : options)
  }
}

async function reportOrphans(t: ClusterTarget, ns: string, clean: boolean, warn: (s: string) => void) {
  try {
    const orphans = await findOrphanStagePods(t, ns)
    if (orphans.length === 0) return
    if (clean) {
      for (const p of orphans) await deletePod(t, ns, p.name)
      warn(`removed ${orphans.length} stage pod(s) left by crashed runs: ${orphans.map((p) => p.name).join(', ')}`)
    } else {
      warn(
        `${orphans.length} stage pod(s) left by crashed runs: ${orphans.map((p) => `${p.name} (${p.phase}, table ${p.table})`).join(', ')}; remove them with --clean-orphans or: kubectl delete pod -n ${ns} ${orphans.map((p) => p.name).join(' ')}`,
      )
    }
  } catch {
    // orphan scan is advisory
  }
}

/** Cleanup on every path (success, failure, SIGINT/SIGTERM): scratch dir, stage pod, port-forward. */
export async function cleanupPush(ctx: PushContext): Promise<void> {
  await ctx.portForward?.close().catch(() => undefined)
  ctx.portForward = undefined
  const t = ctx.target
  const ns = ctx.release?.namespace
  if (t && ns && ctx.stagePod) {
    // the resumable work dir (<table>.staging-resume) stays for the next run; only the lock and a swap backup go
    if (ctx.paths && !ctx.swapped) await abandonStaging(t, ns, ctx.stagePod, ctx.paths)
    await deletePod(t, ns, ctx.stagePod).catch(() => undefined)
    ctx.stagePod = undefined
  }
}

/** On a second signal there is no time for a full cleanup: only what must not stay in the cluster goes. */
export async function removeStagePodNow(ctx: PushContext): Promise<void> {
  await ctx.portForward?.close().catch(() => undefined)
  if (ctx.target && ctx.release && ctx.stagePod) await deletePod(ctx.target, ctx.release.namespace, ctx.stagePod).catch(() => undefined)
}

/** After a clean success the staged copy is no longer needed (the ingestor copied it): reclaim the PVC space. */
export async function reclaimStaging(ctx: PushContext, stageImage: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const t = ctx.target!
  const ns = ctx.release!.namespace
  const table = ctx.plan!.table
  const name = stagePodName(table)
  ctx.stagePod = name
  try {
    throwIfInterrupted(signal)
    await createStagePod(t, buildStagePod({name, namespace: ns, table, serviceAccount: ctx.release!.ingestorSA, image: stageImage, runId: ctx.idempotencyKey.slice(0, 63)}), signal)
    await signalPoint('reclaim')
    await waitPodReady(t, ns, name, {timeoutMs, signal})
    const {execInPod, shQuote} = await import('../cluster/exec.js')
    const r = await execInPod(t, {namespace: ns, pod: name, container: 'stage', command: ['/bin/sh', '-c', `rm -rf ${shQuote(stagingPaths(table).dest)}`], signal})
    return r.exitCode === 0
  } catch {
    return false
  } finally {
    await deletePod(t, ns, name).catch(() => undefined)
    ctx.stagePod = undefined
  }
}

export function classify(ctx: PushContext, o: Pick<PushOptions, 'dryRun' | 'detach'>): {status: PushStatus; exitCode: number; error?: string; reason?: string; details?: string[]} {
  if (o.dryRun) return {status: 'dry-run', exitCode: ExitCode.OK}
  if (o.detach) return {status: 'detached', exitCode: ExitCode.OK}
  const w = ctx.watch
  if (!w) return {status: 'unknown', exitCode: ExitCode.JOB, error: 'the run was not watched to the end', reason: 'job_outcome_unknown'}
  // The ingestor's own failure lines, the first (with its joined cause) as the reason.
  const details = w.failureLines.length > 0 ? w.failureLines : undefined
  const because = details ? `: ${details.find((l) => /Ingestion failed:|Validator failed:|validation failed:/.test(l)) ?? details[0]}` : ''
  if (w.notStarted) return {status: 'not_started', exitCode: ExitCode.JOB, error: `the ingestion pod never started: ${w.notStarted}`, reason: 'job_not_started', details}
  if (w.job === 'Failed') return {status: 'failed', exitCode: ExitCode.JOB, error: `the ingestion Job failed${because || ' (the ingestor printed no reason; see its logs)'}`, reason: 'job_failed', details}
  if (w.job === 'Complete') {
    if (w.summary?.hasFailures) return {status: 'completed_with_failures', exitCode: ExitCode.JOB, error: 'the ingestion finished but its summary reports failures or skipped rows', reason: 'job_completed_with_failures', details}
    return {status: 'succeeded', exitCode: ExitCode.OK}
  }
  return {status: 'unknown', exitCode: ExitCode.JOB, error: 'the ingestion outcome could not be determined', reason: 'job_outcome_unknown', details}
}

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

function envInt(name: string): number | undefined {
  const v = Number(process.env[name])
  return Number.isInteger(v) && v > 0 ? v : undefined
}

function throttled(ms: number) {
  let last = 0
  return (fn: () => void) => {
    const now = Date.now()
    if (now - last >= ms) {
      last = now
      fn()
    }
  }
}

