// Step 1: read and check the dataset on this machine; nothing touches the cluster yet.
import type {ListrTask} from 'listr2'

import {raceAbort, signalPoint, throwIfInterrupted} from '../../process/signals.js'
import {humanBytes, plural} from '../../output/format.js'
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
        // what the data loses or gains (skipped entries, dropped columns, inferred types) is shown in the
        // plan, before anything is uploaded; the --json document keeps it under warnings
        c.warnings.push(...c.plan.warnings)
        const p = c.plan
        const merged = p.distinctRows !== undefined && p.distinctRows < p.rows ? ` (${plural(p.distinctRows, 'distinct record')})` : ''
        task.title = `Validated ${plural(p.rows, 'row')}${merged}, ${plural(p.files.length, 'file')} (${humanBytes(p.totalBytes)}) as ${p.category}${env.detected ? ` (detected: ${env.detected})` : ''}`
      }),
  }
}
