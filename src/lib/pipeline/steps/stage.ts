// Step 3: copy the files into client-pvc through a short-lived stage pod, every file verified there,
// then swap the staged copy into the place the ingestor reads from.
import type {ListrTask} from 'listr2'

import type {ClusterTarget} from '../../cluster/kube.js'
import {signalPoint, throwIfInterrupted} from '../../process/signals.js'
import {count, humanBytes, humanDuration, plural} from '../../output/format.js'
import {humanRate} from '../../output/rate.js'
import {TokenBucket} from '../../staging/bandwidth.js'
import {HashCache} from '../../staging/hash-cache.js'
import {deletePod, findOrphanStagePods} from '../../pvc/stage-pod.js'
import {stageFiles, stagingPaths, type StageProgress, type StreamResult} from '../../staging/stage-files.js'
import {PushContext, PushOptions, StepEnv, timed} from '../context.js'
import {startPushStagePod} from './stage-pod.js'

export function stageStep(o: PushOptions, env: StepEnv): ListrTask<PushContext> {
  return {
    title: 'Stage files into client-pvc',
    skip: () => (o.dryRun ? 'dry run: nothing is copied' : false),
    task: async (c, task) =>
      timed(c, 'stage', async () => {
        await signalPoint('stage')
        throwIfInterrupted(o.signal)
        const t = c.target!
        const ns = c.release!.namespace
        const plan = c.plan!
        await reportOrphans(t, ns, o.cleanOrphans, env.warn)
        // A stage pod that disappears mid-copy (deleted, evicted) is replaced; the work dir on the PVC carries on.
        // the pod lives as long as the step (and a replacement's); the push's cleanup deletes c.stagePod on every path
        const startPod = () => startPushStagePod(c, o, task)
        const first = await startPod()
        let shownPhase: StageProgress['phase'] | undefined
        c.paths = stagingPaths(plan.table)
        c.staged = await stageFiles({
          t,
          namespace: ns,
          pod: first,
          table: plan.table,
          entries: plan.files.map((f) => ({localPath: f.localPath, name: f.stagedPath, size: f.size, mtimeMs: f.mtimeMs, dev: f.dev, ino: f.ino})),
          paths: c.paths,
          recreatePod: async () => {
            if (c.stagePod) await deletePod(t, ns, c.stagePod).catch(() => undefined)
            return startPod()
          },
          parallel: o.parallel,
          compress: o.compress,
          bandwidth: o.bwlimit ? new TokenBucket(o.bwlimit) : undefined,
          cache: HashCache.load(o.plan.path),
          // tuning/test knobs: batch limits (files per tar stream, file bytes per tar stream), the size from
          // which a file alone in its batch is sent without tar, the range size such files travel in, and
          // how many consecutive ranges share an exec
          batch: {files: envInt('TRACEBLOC_STAGE_BATCH_FILES'), bytes: envInt('TRACEBLOC_STAGE_BATCH_BYTES')},
          streamHashMinBytes: envInt('TRACEBLOC_STAGE_STREAM_HASH_MIN'),
          rangeBytes: envInt('TRACEBLOC_STAGE_RANGE_BYTES'),
          rangeGroup: envInt('TRACEBLOC_STAGE_RANGE_GROUP'),
          signal: o.signal,
          onNote: (l) => env.warn(l),
          onProgress: (p) => {
            if (p.phase !== 'hashing') c.staging = p
            if (p.phase === 'copying' && p.sentBytes > 0) void signalPoint('transfer')
            // a new phase shows at once (the throttle would hide a short one)
            if (p.phase === shownPhase) env.throttle(() => (task.output = progressLine(p, o.bwlimit)))
            else task.output = progressLine(p, o.bwlimit)
            shownPhase = p.phase
          },
        })
        c.swapped = true
        await deletePod(t, ns, c.stagePod!)
        c.stagePod = undefined
        task.title = stagedTitle(c.staged, o.bwlimit)
      }),
  }
}

/**
 * One line for the terminal and the plain-line output alike. Bytes and rate are what the pod acknowledged
 * (extracted and checked); "sent" counts what left this machine; no ETA until the rate means something.
 */
export function progressLine(p: StageProgress, bwlimit?: number): string {
  const tail = `${p.skippedFiles ? ` · ${count(p.skippedFiles)} kept or unchanged` : ''}${p.retries ? ` · ${plural(p.retries, 'retry', 'retries')}` : ''}`
  if (p.phase === 'hashing') return `hashing changed files: ${humanBytes(p.bytes)} / ${humanBytes(p.totalBytes)}`
  if (p.phase === 'verifying') return `verifying in the pod: ${count(p.files)} of ${plural(p.totalFiles, 'file')} verified (${humanBytes(p.bytes)} / ${humanBytes(p.totalBytes)}), all sent${tail}`
  const eta = p.etaSeconds === undefined ? 'measuring' : `ETA ${humanDuration(p.etaSeconds)}`
  return `${humanBytes(p.bytes)} / ${humanBytes(p.totalBytes)} acknowledged · ${count(p.sentFiles)}/${count(p.totalFiles)} files sent, ${count(p.files)} verified · ${humanBytes(p.bytesPerSecond)}/s${bwlimit ? ` (cap ${humanRate(bwlimit)})` : ''} · ${eta}${tail}`
}

function stagedTitle(st: StreamResult, bwlimit?: number): string {
  const rate = st.seconds > 0 ? st.sentBytes / st.seconds : 0
  return !st.swapped
    ? `Staged copy already up to date: ${plural(st.files, 'file')} (${humanBytes(st.bytes)}) unchanged, nothing sent`
    : `Staged ${plural(st.files, 'file')} (${humanBytes(st.bytes)}) in ${humanDuration(st.seconds)}: sent ${count(st.files - st.skippedFiles)} (${humanBytes(st.sentBytes)}, ${humanBytes(rate)}/s${bwlimit ? `, capped at ${humanRate(bwlimit)}` : ''})${st.skippedFiles ? `, ${count(st.skippedFiles)} ${st.keptFiles ? `kept (${count(st.keptFiles)} already on client-pvc from an interrupted run, ${humanBytes(st.keptBytes ?? 0)})` : 'unchanged'}` : ''}${st.retries ? `, ${plural(st.retries, 'retry', 'retries')}` : ''}; ${st.parallel > 1 ? `${st.parallel} streams, ` : ''}every file verified in the pod (${st.check ?? 'md5'})`
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

function envInt(name: string): number | undefined {
  const v = Number(process.env[name])
  return Number.isInteger(v) && v > 0 ? v : undefined
}
