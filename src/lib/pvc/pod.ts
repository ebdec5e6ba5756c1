// "With a short-lived pod on client-pvc, run …": the one way the CLI reads or changes the volume. The pod
// is the stage pod (stage-pod.ts: the labels and spec both CLIs' orphan scans rely on), created, waited
// for until Ready, used through exec, and deleted on every path, a signal included.
import type {ExecResult} from '../cluster/exec.js'
import type {ClusterTarget} from '../cluster/kube.js'
import {interruption} from '../process/signals.js'
import {buildStagePod, createStagePod, deletePod, stagePodName, STAGE_CONTAINER, waitPodReady} from './stage-pod.js'


export interface StagePodRequest {
  namespace: string
  /** Names and labels the pod (`tracebloc.io/table`). */
  table: string
  serviceAccount: string
  image: string
  /** The `tracebloc.io/run` label. */
  runId: string
  /** How long the pod may take to become Ready. */
  timeoutMs: number
  /** Passed to the create, the wait and every exec. */
  signal?: AbortSignal
  /** Called with the pod's name before it is created, so a cleanup running meanwhile can remove it. */
  onName?: (name: string) => void
  /** Between the create and the wait for Ready. */
  afterCreate?: () => Promise<void>
  /** What the pod waits on (image pull, scheduling) while it is not Ready. */
  onWaiting?: (s: string) => void
  /** Labels added to the stage pod's own (e.g. the object-store egress label of a pulling pod). */
  extraLabels?: Record<string, string>
}

export interface StagePod {
  name: string
  namespace: string
  /** Runs a command in the pod's container (argv, or one string run by /bin/sh -c). */
  exec(command: string[] | string): Promise<ExecResult>
  /** Best effort, NotFound is fine. */
  delete(): Promise<void>
}

/** Creates the pod and waits until it is Ready. The caller deletes it (a failed start leaves it to the caller too). */
export async function startStagePod(t: ClusterTarget, r: StagePodRequest): Promise<StagePod> {
  const name = stagePodName(r.table)
  r.onName?.(name)
  const pod = buildStagePod({name, namespace: r.namespace, table: r.table, serviceAccount: r.serviceAccount, image: r.image, runId: r.runId})
  if (r.extraLabels) pod.metadata!.labels = {...pod.metadata!.labels, ...r.extraLabels}
  await createStagePod(t, pod, r.signal)
  await r.afterCreate?.()
  await waitPodReady(t, r.namespace, name, {timeoutMs: r.timeoutMs, signal: r.signal, onStatus: r.onWaiting})
  return stagePodHandle(t, r.namespace, name, r.signal)
}

export function stagePodHandle(t: ClusterTarget, namespace: string, name: string, signal?: AbortSignal): StagePod {
  return {
    name,
    namespace,
    async exec(command) {
      const {execInPod} = await import('../cluster/exec.js')
      return execInPod(t, {namespace, pod: name, container: STAGE_CONTAINER, command: typeof command === 'string' ? ['/bin/sh', '-c', command] : command, signal})
    },
    delete: () => deletePod(t, namespace, name).catch(() => undefined),
  }
}

/** Runs `fn` with a Ready stage pod on client-pvc; the pod is deleted afterwards, on failure, and on a signal. */
export async function withStagePod<T>(t: ClusterTarget, r: StagePodRequest, fn: (pod: StagePod) => Promise<T>): Promise<T> {
  let name: string | undefined
  const remove = async () => {
    if (name) await deletePod(t, r.namespace, name).catch(() => undefined)
  }
  // a command that exits at once on a signal runs these; so does a second signal
  const dropCleanup = interruption()?.onCleanup(remove)
  const dropUrgent = interruption()?.onUrgent(remove)
  try {
    const pod = await startStagePod(t, {
      ...r,
      onName: (n) => {
        name = n
        r.onName?.(n)
      },
    })
    return await fn(pod)
  } finally {
    await remove()
    dropCleanup?.()
    dropUrgent?.()
  }
}
