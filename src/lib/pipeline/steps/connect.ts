// Step 2: find the client release and check everything the push needs from it (PVC, permissions,
// jobs-manager, the ingestor token, the schema jobs-manager validates with) and whether the
// destination dataset already exists. Reads only, except what --overwrite removes.
import type {ListrTask} from 'listr2'

import {checkSharedPvc, discoverRelease, pickJobsManagerPod} from '../../cluster/discovery.js'
import {loadClusterTarget} from '../../cluster/kube.js'
import {checkPermissions, PUSH_PERMISSIONS, requirePermissions, TOKEN_PERMISSIONS} from '../../cluster/rbac.js'
import {mintIngestorToken} from '../../cluster/token.js'
import {raceAbort, signalPoint, throwIfInterrupted} from '../../command/signals.js'
import {SCHEMA_SHA256} from '../../schema/index.js'
import {fetchServerSchema} from '../../submit/submit.js'
import {PushContext, PushOptions, StepEnv, timed} from '../context.js'
import {withJobsManager} from '../jobs-manager.js'
import {noClusterForDryRun} from '../plan.js'

type Output = {output: string}

export function connectStep(o: PushOptions, env: StepEnv): ListrTask<PushContext> {
  return {
    title: 'Connect to the tracebloc client',
    task: async (c, task) =>
      timed(c, 'connect', async () => {
        await signalPoint('connect')
        // API reads do not all take the signal: stop waiting for them at once (they change nothing);
        // the destination check started inside runs alongside them and is awaited with them
        let destination
        try {
          destination = await raceAbort(o.signal, checkCluster(o, c, task, env.warn))
        } catch (error) {
          // a dry run without a cluster still shows the local half of the plan (plan.ts)
          if (!o.dryRun || !noClusterForDryRun(error)) throw error
          c.clusterUnreachable = {error: (error as Error).message, hint: (error as {hint?: string}).hint}
          c.target = undefined
          task.title = 'No cluster reachable: the dry run shows the local half of the plan'
          return
        }
        // before any byte is uploaded: an existing dataset stops the push (exit 6) or, with --overwrite, goes.
        // Not raced: a teardown under way finishes its current removal and honours the signal itself.
        task.output = 'checking whether the dataset already exists'
        const {applyDestination} = await import('../../catalog/guard.js')
        c.destination = await applyDestination(c.target!, destination, {
          overwrite: Boolean(o.overwrite),
          dryRun: o.dryRun,
          serviceAccount: c.release!.ingestorSA,
          stageImage: o.stageImage,
          podReadyTimeoutMs: o.podReadyTimeoutMs,
          signal: o.signal,
          onStatus: (s) => (task.output = s),
          warn: env.warn,
        })
        task.title = `Connected to release ${c.release!.release} (chart ${c.release!.chartVersion}) in ${c.release!.namespace}`
      }),
  }
}

/** The cluster reads, in order; returns the destination check (started here, applied by the caller). */
async function checkCluster(o: PushOptions, c: PushContext, task: Output, warn: (s: string) => void) {
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
  if (o.guardTarget) c.identity = await o.guardTarget(c.target, ns)
  // the destination check (MySQL, client-pvc) runs alongside the remaining checks; it is applied after them
  const {checkDestination} = await import('../../catalog/guard.js')
  const destination = checkDestination(c.target, ns, c.plan!.table, o.signal, o.idempotencyKey)
  destination.catch(() => undefined) // awaited by the caller; an early failure must not go unhandled meanwhile
  c.jobsManagerPod = await pickJobsManagerPod(c.target, c.release, o.signal)
  if (!o.dryRun) {
    task.output = 'minting the ingestor token'
    c.token = await mintIngestorToken(c.target, ns, c.release.ingestorSA, undefined, o.signal)
    c.serverSchema = await withJobsManager(c, o.signal, (baseUrl) => fetchServerSchema(baseUrl, o.signal))
    if (c.serverSchema?.schema_sha256 && c.serverSchema.schema_sha256 !== SCHEMA_SHA256) {
      warn(
        `jobs-manager validates with schema ${c.serverSchema.schema_version ?? '?'} (sha256 ${c.serverSchema.schema_sha256.slice(0, 12)}…), this CLI embeds ${SCHEMA_SHA256.slice(0, 12)}…; if the cluster rejects the config, its errors are shown verbatim`,
      )
    }
  }
  return destination
}
