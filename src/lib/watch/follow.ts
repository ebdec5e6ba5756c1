// Following the ingestion Job: find its pod(s) by job-name, stream logs live (following a replacement
// pod when the Job retries), surface pod events while waiting, and decide the outcome from the Job's
// conditions — never from log text alone.
import {StringDecoder} from 'node:string_decoder'

import {apiFailure, ClusterTarget, sleep, withApiRetry} from '../cluster/kube.js'
import {streamPodLog} from '../cluster/logs.js'
import {CliError, ExitCode} from '../output/errors.js'
import {BannerParser} from './banner.js'
import {FailureLines, type WatchOutcome} from './outcome.js'

type V1Pod = import('@kubernetes/client-node').V1Pod

export interface WatchOptions {
  namespace: string
  jobName: string
  signal?: AbortSignal
  onLine?: (line: string, pod: string) => void
  onStatus?: (line: string) => void
  /** How long a pod may stay unstarted (image pull, scheduling) before we call it "never started". */
  podStartTimeoutMs?: number
  pollMs?: number
  /** Only log lines from this time on (RFC 3339; `dataset logs --since`). */
  sinceTime?: string
}

const BAD_WAITING = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError'])

function jobCondition(job: import('@kubernetes/client-node').V1Job): 'Complete' | 'Failed' | undefined {
  for (const c of job.status?.conditions ?? []) {
    if (c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed')) return c.type
  }
  return undefined
}

export async function watchIngestionJob(t: ClusterTarget, o: WatchOptions): Promise<WatchOutcome> {
  const parser = new BannerParser()
  const followed = new Set<string>()
  const seenEvents = new Set<string>()
  const podStartTimeout = o.podStartTimeoutMs ?? 5 * 60_000
  const poll = o.pollMs ?? 1000
  let waitingSince = Date.now()
  let lastWaitReason = ''
  let podExitCode: number | undefined

  const failures = new FailureLines()
  const failureLines = failures.lines
  const onLine = (line: string, pod: string) => {
    parser.push(line)
    failures.push(line)
    o.onLine?.(line, pod)
  }

  for (;;) {
    if (o.signal?.aborted) throw o.signal.reason
    let job
    try {
      job = await withApiRetry(() => t.batch.readNamespacedJob({name: o.jobName, namespace: o.namespace}), {signal: o.signal})
    } catch (error) {
      if (o.signal?.aborted) throw o.signal.reason
      const f = apiFailure(error)
      throw new CliError(`reading Job ${o.namespace}/${o.jobName}: ${f.message}`, {
        exitCode: ExitCode.JOB,
        hint: f.code === 403 ? 'your user needs `get` on jobs.batch' : f.code === 404 ? 'the Job was deleted (cancelled?)' : undefined,
        reason: 'watch_error',
      })
    }
    const pods = await listJobPods(t, o)
    // Follow every pod that has started, oldest first (a Job retry creates a new pod).
    const startable = pods.filter((p) => !followed.has(p.metadata!.name!) && ['Running', 'Succeeded', 'Failed'].includes(p.status?.phase ?? ''))
    for (const p of startable) {
      const name = p.metadata!.name!
      followed.add(name)
      waitingSince = Date.now()
      o.onStatus?.(`following logs of pod ${name}`)
      await followLogs(t, o, p, onLine)
      podExitCode = await podExit(t, o.namespace, name)
    }
    if (startable.length > 0) continue

    const cond = jobCondition(job)
    const active = pods.some((p) => ['Pending', 'Running'].includes(p.status?.phase ?? '') && !p.metadata?.deletionTimestamp)
    if (cond && !active) {
      const ranAny = followed.size > 0
      return {
        job: cond,
        notStarted: !ranAny && cond === 'Failed' ? (lastWaitReason || job.status?.conditions?.find((c) => c.type === 'Failed')?.reason || 'pod never started') : undefined,
        pods: [...followed],
        summary: parser.result(),
        failureLines,
        podExitCode,
      }
    }

    // Nothing running yet: surface why (image pull, scheduling) and give up after the start timeout.
    const pending = pods.find((p) => (p.status?.phase ?? 'Pending') === 'Pending')
    if (pending) {
      const reason = await describeWaiting(t, o.namespace, pending, seenEvents, o.onStatus)
      if (reason) lastWaitReason = reason
      if (Date.now() - waitingSince > podStartTimeout) {
        return {job: 'Unknown', notStarted: lastWaitReason || 'pod did not start', pods: [...followed], summary: parser.result(), failureLines, podExitCode}
      }
    } else if (pods.length === 0 && Date.now() - waitingSince > podStartTimeout) {
      return {job: 'Unknown', notStarted: 'the Job created no pod', pods: [], summary: parser.result(), failureLines, podExitCode}
    }
    await sleep(poll, o.signal)
  }
}

async function listJobPods(t: ClusterTarget, o: WatchOptions): Promise<V1Pod[]> {
  try {
    const list = await withApiRetry(() => t.core.listNamespacedPod({namespace: o.namespace, labelSelector: `job-name=${o.jobName}`}), {signal: o.signal})
    return list.items.sort((a, b) => new Date(a.metadata?.creationTimestamp ?? 0).getTime() - new Date(b.metadata?.creationTimestamp ?? 0).getTime())
  } catch (error) {
    if (o.signal?.aborted) throw o.signal.reason
    const f = apiFailure(error)
    throw new CliError(`listing pods of Job ${o.jobName}: ${f.message}`, {exitCode: ExitCode.JOB, reason: 'watch_error', hint: f.code === 403 ? 'your user needs `list` on pods' : undefined})
  }
}

async function describeWaiting(t: ClusterTarget, namespace: string, pod: V1Pod, seen: Set<string>, onStatus?: (l: string) => void): Promise<string | undefined> {
  let reason: string | undefined
  const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting
  if (waiting?.reason && BAD_WAITING.has(waiting.reason)) reason = `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`
  const sched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')
  if (!reason && sched) reason = `${sched.reason ?? 'Unschedulable'}: ${sched.message ?? ''}`.trim()
  try {
    const ev = await t.core.listNamespacedEvent({namespace, fieldSelector: `involvedObject.name=${pod.metadata!.name}`})
    for (const e of ev.items) {
      const key = `${e.metadata?.uid}/${e.count ?? 1}`
      if (seen.has(key)) continue
      seen.add(key)
      if (e.type === 'Warning') {
        onStatus?.(`pod ${pod.metadata!.name}: ${e.reason}: ${e.message}`)
        reason ??= `${e.reason}: ${e.message}`
      }
    }
  } catch {
    // events are advisory
  }
  return reason
}

async function podExit(t: ClusterTarget, namespace: string, name: string): Promise<number | undefined> {
  try {
    const p = await t.core.readNamespacedPod({name, namespace})
    return p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode
  } catch {
    return undefined
  }
}

/** Stream one pod's logs to the end; reconnect (from the last timestamp) if the stream is cut while it still runs. */
async function followLogs(t: ClusterTarget, o: WatchOptions, pod: V1Pod, onLine: (l: string, pod: string) => void): Promise<void> {
  const name = pod.metadata!.name!
  const container = pod.spec?.containers?.[0]?.name ?? ''
  // Resume point after a cut stream: sinceTime is inclusive, so lines at exactly `lastTs` that were
  // already shown are skipped by count (many lines share one timestamp).
  let lastTs = ''
  let shownAtLastTs = 0
  for (let attempt = 0; attempt < 20; attempt++) {
    let partial = ''
    const resumeTs = lastTs
    let skipAtResume = shownAtLastTs
    const emit = (raw: string) => {
      const sp = raw.indexOf(' ')
      const hasTs = sp > 0 && /^\d{4}-\d\d-\d\dT/.test(raw)
      const ts = hasTs ? raw.slice(0, sp) : ''
      const text = hasTs ? raw.slice(sp + 1) : raw
      if (resumeTs && ts) {
        if (ts < resumeTs) return
        if (ts === resumeTs && skipAtResume > 0) {
          skipAtResume--
          return
        }
      }
      if (ts) {
        if (ts === lastTs) shownAtLastTs++
        else {
          lastTs = ts
          shownAtLastTs = 1
        }
      }
      for (const part of text.split('\r')) if (part !== '') onLine(part, name)
    }
    const utf8 = new StringDecoder('utf8')
    const onChunk = (chunk: Buffer) => {
      partial += utf8.write(chunk)
      let i
      while ((i = partial.indexOf('\n')) >= 0) {
        emit(partial.slice(0, i))
        partial = partial.slice(i + 1)
      }
      if (partial.length > 1 << 20) {
        emit(partial)
        partial = ''
      }
    }
    try {
      await streamPodLog(t, {namespace: o.namespace, pod: name, container, follow: true, timestamps: true, sinceTime: lastTs || o.sinceTime || undefined, signal: o.signal}, onChunk)
    } catch {
      // the pod may not be ready for logs yet; fall through to the phase check
    }
    if (partial) emit(partial)
    if (o.signal?.aborted) throw o.signal.reason
    // Stream ended: done if the container terminated, otherwise it was cut — resume.
    let phase: string
    try {
      phase = (await t.core.readNamespacedPod({name, namespace: o.namespace})).status?.phase ?? ''
    } catch {
      return
    }
    if (phase !== 'Running' && phase !== 'Pending') return
    o.onStatus?.(`log stream of ${name} was interrupted; reconnecting`)
    await sleep(500, o.signal)
  }
}
