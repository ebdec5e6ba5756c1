// Step 4: hand the run to jobs-manager (retried with the same idempotency key, so at most one run starts).
import type {ListrTask} from 'listr2'

import {freshIngestorToken} from '../../cluster/token.js'
import {signalPoint, throwIfInterrupted} from '../../process/signals.js'
import {buildSubmitBody, submitIngestion} from '../../submit/submit.js'
import {PushContext, PushOptions, timed} from '../context.js'
import {withJobsManager} from '../jobs-manager.js'

export function submitStep(o: PushOptions): ListrTask<PushContext> {
  return {
    title: 'Submit to jobs-manager',
    skip: () => (o.dryRun ? 'dry run: nothing is submitted' : false),
    task: async (c, task) =>
      timed(c, 'submit', async () => {
        await signalPoint('submit')
        throwIfInterrupted(o.signal)
        const body = buildSubmitBody(c.plan!.configYaml, c.idempotencyKey, o.imageDigest)
        // the token lives 10 minutes: minted again here when the upload used most of it
        c.token = await freshIngestorToken(c.target!, c.token!, o.signal)
        const token = c.token.token
        c.submit = await withJobsManager(c, o.signal, (baseUrl) =>
          submitIngestion({
            baseUrl,
            token,
            body,
            signal: o.signal,
            onRetry: (why, n) => {
              task.output = `attempt ${n} failed (${why}); retrying with the same idempotency key`
              void signalPoint('submit-retry')
            },
          }),
        )
        task.title = c.submit.replay ? `Attached to the existing run ${c.submit.jobName} (same idempotency key)` : `Submitted: Job ${c.submit.jobName}`
      }),
  }
}
