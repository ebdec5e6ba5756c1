// The push's stage pod, as the local stage step and the remote pull step start it (and start it again when a
// stream needs a new one): named on the context, so the push's cleanup deletes c.stagePod; its creation and
// wait shown on the task line; a signal point right after it is created.
import {signalPoint, throwIfInterrupted} from '../../process/signals.js'
import {startStagePod} from '../../pvc/pod.js'
import type {PushContext, PushOptions} from '../context.js'

/** Starts a stage pod for the push's table; returns its name. `extraLabels`: e.g. the store-egress label. */
export async function startPushStagePod(c: PushContext, o: PushOptions, task: {output?: string}, extraLabels?: Record<string, string>): Promise<string> {
  const pod = await startStagePod(c.target!, {
    namespace: c.release!.namespace,
    table: c.plan!.table,
    serviceAccount: c.release!.ingestorSA,
    image: o.stageImage,
    runId: c.idempotencyKey.slice(0, 63),
    timeoutMs: o.podReadyTimeoutMs,
    signal: o.signal,
    ...(extraLabels ? {extraLabels} : {}),
    onName: (name) => {
      c.stagePod = name
      task.output = `creating stage pod ${name}`
    },
    afterCreate: async () => {
      await signalPoint('stage-pod')
      throwIfInterrupted(o.signal)
    },
    onWaiting: (s) => (task.output = `waiting for stage pod: ${s}`),
  })
  return pod.name
}
