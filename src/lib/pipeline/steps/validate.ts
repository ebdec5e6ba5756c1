// Step 1: read and check the dataset on this machine; nothing touches the cluster yet.
import type {ListrTask} from 'listr2'

import {raceAbort, signalPoint, throwIfInterrupted} from '../../process/signals.js'
import {humanBytes} from '../../output/format.js'
import {PushContext, PushOptions, StepEnv, timed} from '../context.js'

export function validateStep(o: PushOptions, env: StepEnv): ListrTask<PushContext> {
  return {
    title: 'Validate the dataset locally',
    task: async (c, task) =>
      timed(c, 'validate', async () => {
        await signalPoint('validate')
        throwIfInterrupted(o.signal)
        const {planDataset} = await import('../../local/index.js')
        // local reads take no signal: stop waiting for them at once (nothing in the cluster to undo yet)
        c.plan = await raceAbort(
          o.signal,
          planDataset({
            ...o.plan,
            onDetected: (_category, why) => (env.detected = why),
            onProgress: (p) => env.throttle(() => (task.output = `${p.phase}${p.files !== undefined ? ` · ${p.files} files` : ''}${p.bytes !== undefined ? ` · ${humanBytes(p.bytes)}` : ''}`)),
          }),
        )
        for (const w of c.plan.warnings) env.warn(w)
        task.title = `Validated ${c.plan.rows} rows, ${c.plan.files.length} files (${humanBytes(c.plan.totalBytes)}) as ${c.plan.category}${env.detected ? ` (detected: ${env.detected})` : ''}`
      }),
  }
}
