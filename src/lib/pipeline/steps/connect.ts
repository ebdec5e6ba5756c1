// Step 2: find the client release and check everything the push needs from it (PVC, permissions,
// jobs-manager, the ingestor token, the schema jobs-manager validates with) and whether the
// destination dataset already exists. Reads only. Then the plan (what will be dropped, inferred,
// skipped or removed) and, when the plan says so, the removal of the existing dataset.
import type {ListrTask} from 'listr2'

import {humanRate} from '../../output/rate.js'
import {PUSH_PERMISSIONS, requirePermissions, TOKEN_PERMISSIONS} from '../../cluster/rbac.js'
import {humanBytes, plural} from '../../output/format.js'
import {raceAbort, signalPoint, throwIfInterrupted} from '../../process/signals.js'
import {Probe} from '../../probe/probe.js'
import {SCHEMA_SHA256} from '../../schema/index.js'
import {fetchServerSchema} from '../../submit/submit.js'
import {PushContext, PushOptions, StepEnv, timed} from '../context.js'
import {planLines} from '../panel.js'
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
        // before any byte is uploaded: an existing dataset stops the push (exit 6), or is removed by the
        // replace step after the plan has said so (--overwrite, or the empty table a failed run left)
        const {applyDestination} = await import('../../catalog/guard.js')
        c.destinationCheck = destination
        c.destination = applyDestination(destination, {overwrite: Boolean(o.overwrite), warn: env.warn})
        task.title = `Connected to release ${c.release!.release} (chart ${c.release!.chartVersion}) in ${c.release!.namespace}`
      }),
  }
}

/**
 * The cluster reads, in order, through the connect probe `cluster info` and `doctor` use (the same
 * steps, the same errors); returns the destination check (started here, applied by the caller).
 */
async function checkCluster(o: PushOptions, c: PushContext, task: Output, warn: (s: string) => void) {
  // prompts off: the task list owns the terminal, so a namespace switch is an error naming -n
  const probe = new Probe(o.cluster, {prompts: false, signal: o.signal})
  c.target = await probe.target()
  throwIfInterrupted(o.signal)
  task.output = `context ${c.target.context}, namespace ${c.target.namespace}`
  c.release = await probe.release()
  if (c.release.note) warn(c.release.note)
  const ns = c.release.namespace
  c.pvc = await probe.pvc()
  task.output = 'checking permissions'
  c.permissions = await probe.permissions('push', [...PUSH_PERMISSIONS, ...TOKEN_PERMISSIONS])
  requirePermissions(ns, c.permissions)
  if (o.guardTarget) c.identity = await o.guardTarget(c.target, ns)
  // the destination check (MySQL, client-pvc) runs alongside the remaining checks; it is applied after them
  const {checkDestination} = await import('../../catalog/guard.js')
  const destination = checkDestination(c.target, ns, c.plan!.table, o.signal, o.idempotencyKey)
  destination.catch(() => undefined) // awaited by the caller; an early failure must not go unhandled meanwhile
  c.jobsManagerPod = await probe.jobsManagerPod()
  if (!o.dryRun) {
    task.output = 'minting the ingestor token'
    c.token = await probe.mintToken()
    // push opens its own port-forward, only around this exchange and the submit (pipeline/jobs-manager.ts)
    c.serverSchema = await withJobsManager(c, o.signal, (baseUrl) => fetchServerSchema(baseUrl, o.signal))
    if (c.serverSchema?.schema_sha256 && c.serverSchema.schema_sha256 !== SCHEMA_SHA256) {
      warn(
        `jobs-manager validates with schema ${c.serverSchema.schema_version ?? '?'} (sha256 ${c.serverSchema.schema_sha256.slice(0, 12)}…), this CLI embeds ${SCHEMA_SHA256.slice(0, 12)}…; if the cluster rejects the config, its errors are shown verbatim`,
      )
    }
  }
  return destination
}

/** The plan, shown before any byte moves: one line per thing dropped, inferred, skipped, merged or removed. */
export function pushPlanStep(o: PushOptions): ListrTask<PushContext> {
  return {
    title: 'Plan',
    enabled: !o.dryRun, // a dry run prints the plan at its end
    rendererOptions: {outputBar: Infinity, persistentOutput: true},
    task: async (c, task) => {
      task.title = `Plan: ${planSummary(c, o.bwlimit)}`
      const lines = planLines(c, o)
      if (lines.length > 0) task.output = lines.join('\n')
    },
  }
}

/** One line: what goes where. */
export function planSummary(c: PushContext, bwlimit?: number): string {
  const p = c.plan!
  return `${plural(p.files.length, 'file')} (${humanBytes(p.totalBytes)}), ${plural(p.rows, 'row')} → table ${p.table} in namespace ${c.release?.namespace ?? '?'}${bwlimit ? `, sent at most ${humanRate(bwlimit)} (--bwlimit)` : ''}`
}

/** --overwrite (or the empty table a failed run left): the removal, a step of its own after the plan. */
export function replaceStep(o: PushOptions, env: StepEnv): ListrTask<PushContext> {
  return {
    title: 'Remove the existing dataset',
    enabled: (c) => !o.dryRun && Boolean(c.destination?.removal),
    task: async (c, task) => {
      const r = c.destination!.removal!
      task.title = `Remove ${r.why === 'overwrite' ? 'the existing dataset' : 'the empty table'} "${r.name}" (${r.what})`
      const {removeDestination, removedTitle} = await import('../../catalog/guard.js')
      c.destination!.replaced = await removeDestination(c.target!, c.destinationCheck!, r, {
        overwrite: Boolean(o.overwrite),
        dryRun: o.dryRun,
        serviceAccount: c.release!.ingestorSA,
        stageImage: o.stageImage,
        podReadyTimeoutMs: o.podReadyTimeoutMs,
        signal: o.signal,
        onStatus: (s) => (task.output = s),
        warn: env.warn,
      })
      task.title = removedTitle(r, c.destination!.replaced)
      // on screen as this step; kept for the --json document too
      c.warnings.push(`${r.why === 'overwrite' ? '--overwrite: ' : ''}${task.title.charAt(0).toLowerCase()}${task.title.slice(1)}`)
    },
  }
}
