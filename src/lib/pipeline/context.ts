// What `dataset push` is asked to do (PushOptions) and what it learns on the way (PushContext): the
// steps read the one and fill in the other; the outcome, the --json document and the panel read both.
import type {ClientRelease, SharedPvc} from '../cluster/discovery.js'
import type {ClusterFlags, ClusterTarget} from '../cluster/kube.js'
import type {PortForward} from '../cluster/portforward.js'
import type {PermissionCheck} from '../cluster/rbac.js'
import type {IngestorToken} from '../cluster/token.js'
import type {DatasetPlan, PlanOptions} from '../local/index.js'
import type {Destination, GuardResult} from '../catalog/guard.js'
import type {RemoteDataset, RemoteObject, RemoteOptions} from '../remote/plan.js'
import type {ClusterIdentity} from '../guard/identity.js'
import type {CompressMode, StageProgress, StagingPaths, StreamResult} from '../staging/stage-files.js'
import {newIdempotencyKey, type SubmitResult} from '../submit/submit.js'
import type {WatchOutcome, WatchStatus} from '../watch/outcome.js'
import type {DryRunPlan} from './plan.js'

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
  /** `--bwlimit`: bytes per second for everything the push sends from this machine, all streams together. */
  bwlimit?: number
  /** The `dataset push` command for the whole dataset, shown after a --sample push. */
  fullPushCommand?: string
  /** The wrong-cluster guard: called once connected, before anything is written; throws to refuse. */
  guardTarget?: (t: ClusterTarget, namespace: string) => Promise<ClusterIdentity>
  /** Set when plan.path is an s3://, gs:// or https:// URL: the store's options. */
  remote?: RemoteOptions
}

export type PushStatus = WatchStatus | 'dry-run' | 'detached' | 'interrupted' | 'error'

export type PushPhase = 'validate' | 'connect' | 'stage' | 'submit' | 'watch'

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
  /** The staging step's latest figures while it runs (the interruption report states them). */
  staging?: StageProgress
  swapped?: boolean
  /** Open only while jobs-manager is being talked to (the schema check, the submit). */
  portForward?: PortForward
  idempotencyKey: string
  serverSchema?: {schema_version?: string; schema_sha256?: string}
  submit?: SubmitResult
  watch?: WatchOutcome
  warnings: string[]
  timings: Record<string, number>
  reclaimed?: boolean
  /** The destination check: whether the dataset existed, and what --overwrite removed. */
  destination?: GuardResult
  /** What the destination check read (the removal step removes from it). */
  destinationCheck?: Destination
  /** Records the destination table holds after the run (read back from MySQL; undefined when unreadable). */
  recordsInTable?: number
  /** The target cluster's identity (kube-system UID), as the wrong-cluster guard saw it. */
  identity?: ClusterIdentity
  /** The step running (or last run): says where an interrupted run stands. */
  phase?: PushPhase
  /** A remote source: its listing, and the object behind each planned file. */
  remote?: RemoteDataset
  remoteSkeletonPath?: string
  remoteObjects?: RemoteObject[]
  /** A dry run without a reachable cluster: why (it goes on with the local half of the plan). */
  clusterUnreachable?: {error: string; hint?: string}
  /** The dry run's plan (plan.ts). */
  dryRunPlan?: DryRunPlan
}

export function initialContext(o: PushOptions): PushContext {
  return {idempotencyKey: o.idempotencyKey ?? newIdempotencyKey(), warnings: [], timings: {}}
}

/** What every step shares besides the context: where warnings go, and the progress-line throttle. */
export interface StepEnv {
  /** Shown to humans and kept for the --json document. */
  warn: (s: string) => void
  throttle: (fn: () => void) => void
  /** Why the category was detected from the data, when it was. */
  detected?: string
}

/** Runs one step: marks it as the current phase and records its duration as `<phase>_ms`. */
export async function timed<T>(ctx: PushContext, phase: PushPhase, fn: () => Promise<T>): Promise<T> {
  ctx.phase = phase
  const t0 = performance.now()
  try {
    return await fn()
  } finally {
    ctx.timings[`${phase}_ms`] = Math.round(performance.now() - t0)
  }
}
