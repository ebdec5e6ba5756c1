// What a push leaves in the cluster, removed on every path (success, failure, a signal), and the
// staged copy reclaimed after a clean success.
import {signalPoint, throwIfInterrupted} from '../process/signals.js'
import {withStagePod} from '../pvc/pod.js'
import {deletePod} from '../pvc/stage-pod.js'
import {abandonStaging, stagingPaths} from '../staging/stage-files.js'
import type {PushContext} from './context.js'

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
  try {
    throwIfInterrupted(signal)
    const pod = {
      namespace: ns,
      table,
      serviceAccount: ctx.release!.ingestorSA,
      image: stageImage,
      runId: ctx.idempotencyKey.slice(0, 63),
      timeoutMs,
      signal,
      onName: (name: string) => (ctx.stagePod = name),
      afterCreate: () => signalPoint('reclaim'),
    }
    return await withStagePod(t, pod, async (p) => {
      const {shQuote} = await import('../cluster/exec.js')
      return (await p.exec(`rm -rf ${shQuote(stagingPaths(table).dest)}`)).exitCode === 0
    })
  } catch {
    return false
  } finally {
    ctx.stagePod = undefined
  }
}
