// Steps 1 and 3 for a dataset in an object store (s3://, gs://, https://): validate it on this machine
// without its bytes, then have the stage pod pull it straight from the store into client-pvc.
import {readFileSync} from 'node:fs'

import type {ListrTask} from 'listr2'

import {raceAbort, signalPoint, throwIfInterrupted} from '../../process/signals.js'
import {CliError, ExitCode} from '../../output/errors.js'
import {humanBytes, humanDuration} from '../../output/format.js'
import {dropSkeleton, openRemoteDataset, remoteLayoutHook, remoteObjects, showSource} from '../../remote/plan.js'
import {EGRESS_LABEL, EGRESS_OBJECT_STORE} from '../../remote/pod-pull.js'
import {stageRemote} from '../../remote/stage.js'
import {TokenBucket} from '../../staging/bandwidth.js'
import {parseSourceUrl} from '../../remote/url.js'
import {stagingPaths} from '../../pvc/paths.js'
import {deletePod} from '../../pvc/stage-pod.js'
import {PushContext, PushOptions, StepEnv, timed} from '../context.js'
import {startPushStagePod} from './stage-pod.js'

/** Lists the source and writes the skeleton the local planner reads; the prompt for a category needs it first. */
export async function openRemote(o: PushOptions, ctx: PushContext, onProgress?: (p: {phase: string; files?: number; bytes?: number}) => void): Promise<void> {
  if (ctx.remote || !o.remote) return
  const src = parseSourceUrl(o.plan.path)
  ctx.remote = await openRemoteDataset(src, o.remote, o.signal, onProgress)
  ctx.remoteSkeletonPath = ctx.remote.source.kind === 'https' && !ctx.remote.archive ? `${ctx.remote.skeleton}/${[...ctx.remote.listed.keys()][0]}` : ctx.remote.skeleton
}

export function remoteValidateStep(o: PushOptions, env: StepEnv): ListrTask<PushContext> {
  return {
    title: 'Validate the dataset in the store (its CSV and a sample of image headers)',
    task: async (c, task) =>
      timed(c, 'validate', async () => {
        await signalPoint('validate')
        throwIfInterrupted(o.signal)
        const progress = (p: {phase: string; files?: number; bytes?: number}) => env.throttle(() => (task.output = `${p.phase}${p.files !== undefined ? ` · ${p.files} files` : ''}${p.bytes !== undefined ? ` · ${humanBytes(p.bytes)}` : ''}`))
        try {
          await raceAbort(o.signal, openRemote(o, c, progress))
          const ds = c.remote!
          const {planDataset} = await import('../../local/index.js')
          c.plan = await raceAbort(
            o.signal,
            planDataset({...o.plan, path: c.remoteSkeletonPath!, adjustLayout: remoteLayoutHook(ds, o.signal), onDetected: (_category, why) => (env.detected = why), onProgress: progress}),
          )
          c.plan.details = {...c.plan.details, root: ds.display, source: ds.display}
          c.remoteObjects = remoteObjects(ds, c.plan)
        } catch (error) {
          throw c.remote ? showSource(error, c.remote) : error
        } finally {
          if (c.remote) dropSkeleton(c.remote)
        }
        for (const w of c.plan.warnings) env.warn(w)
        const ck = c.remote!.checks
        task.title = `Validated ${c.plan.rows} rows, ${c.plan.files.length} objects (${humanBytes(c.plan.totalBytes)}) in ${c.remote!.display} as ${c.plan.category}${env.detected ? ` (detected: ${env.detected})` : ''}; read ${humanBytes(c.remote!.bytesRead)} here${ck.images > 0 ? `, image headers of ${ck.sampleSize} of ${ck.images}` : ''}`
      }),
  }
}

export function remoteStageStep(o: PushOptions, env: StepEnv): ListrTask<PushContext> {
  return {
    title: 'Pull the files from the store into client-pvc',
    skip: () => (o.dryRun ? 'dry run: nothing is pulled' : false),
    task: async (c, task) =>
      timed(c, 'stage', async () => {
        await signalPoint('stage')
        throwIfInterrupted(o.signal)
        const t = c.target!
        const ns = c.release!.namespace
        const plan = c.plan!
        // the stage pod, labelled so the cluster lets it reach the store; the push's cleanup deletes c.stagePod
        const startPod = () => startPushStagePod(c, o, task, {[EGRESS_LABEL]: EGRESS_OBJECT_STORE})
        const first = await startPod()
        c.paths = stagingPaths(plan.table)
        const r = await stageRemote({
          t,
          namespace: ns,
          pod: first,
          table: plan.table,
          paths: c.paths,
          ds: c.remote!,
          objects: c.remoteObjects!,
          caPem: caPem(o),
          clusterEndpointUrl: o.remote?.clusterEndpointUrl,
          proxy: o.remote?.forwardProxy ? proxyEnv() : undefined,
          parallel: o.parallel,
          bandwidth: o.bwlimit ? new TokenBucket(o.bwlimit) : undefined,
          signal: o.signal,
          expiresSeconds: Number(process.env.TRACEBLOC_TEST_PRESIGN_SECONDS) || undefined,
          recreatePod: async () => {
            if (c.stagePod) await deletePod(t, ns, c.stagePod).catch(() => undefined)
            return startPod()
          },
          onNote: (l) => env.warn(l),
          onProgress: (p) => {
            if (p.bytes > 0) void signalPoint('transfer')
            env.throttle(() => (task.output = `${humanBytes(p.bytes)} / ${humanBytes(p.totalBytes)} · ${p.files}/${p.totalFiles} files pulled and verified · ${humanBytes(p.bytesPerSecond)}/s · ETA ${p.etaSeconds === undefined ? '?' : humanDuration(p.etaSeconds)}${p.skippedFiles ? ` · ${p.skippedFiles} unchanged or resumed` : ''}${p.retries ? ` · ${p.retries} retries` : ''}`))
          },
        })
        c.staged = {files: r.files, bytes: r.bytes, skippedFiles: r.skippedFiles, skippedBytes: 0, sentBytes: r.pulledBytes, wireBytes: 0, sentFiles: r.pulledFiles, resentFiles: 0, resumedBytes: 0, batches: 0, retries: r.retries, parallel: o.parallel ?? 4, compressed: false, swapped: r.swapped, seconds: r.seconds, check: 'sha256'}
        c.swapped = true
        await deletePod(t, ns, c.stagePod!)
        c.stagePod = undefined
        const rate = r.seconds > 0 ? r.pulledBytes / r.seconds : 0
        task.title = !r.swapped
          ? `Staged copy already up to date: ${r.files} objects unchanged in the store, nothing pulled`
          : `Pulled ${r.pulledFiles} objects (${humanBytes(r.pulledBytes)}) from the store in ${humanDuration(r.seconds)} (${humanBytes(rate)}/s)${r.skippedFiles ? `, ${r.skippedFiles} unchanged` : ''}${r.resumedFiles ? `, ${r.resumedFiles} kept from an interrupted run` : ''}${r.retries ? `, ${r.retries} retries` : ''}${r.resigned ? `, ${r.resigned} URLs signed again` : ''}; every object verified in the pod`
      }),
  }
}

function caPem(o: PushOptions): string | undefined {
  const file = o.remote?.caBundle ?? process.env.AWS_CA_BUNDLE
  if (!file) return undefined
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new CliError(`cannot read the CA bundle ${file} (${(error as NodeJS.ErrnoException).code})`, {exitCode: ExitCode.LOCAL_ENV, reason: 'ca_bundle', hint: 'pass a readable PEM file with --ca-bundle'})
  }
}

function proxyEnv(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k of ['https_proxy', 'http_proxy', 'no_proxy']) {
    const v = process.env[k] ?? process.env[k.toUpperCase()]
    if (v) out[k] = v
  }
  return out
}
