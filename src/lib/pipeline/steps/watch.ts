// Step 5: follow the ingestion Job to its end, its log shown live.
import type {ListrTask} from 'listr2'

import {signalPoint, throwIfInterrupted} from '../../process/signals.js'
import {redact} from '../../output/redact.js'
import {colorEnabled} from '../../output/style.js'
import {stripAnsi} from '../../watch/banner.js'
import {watchIngestionJob} from '../../watch/follow.js'
import {LogView} from '../../watch/log-view.js'
import {PushContext, PushOptions, timed} from '../context.js'

/** Thrown by the watch task only to mark a non-clean outcome in the task list; not a failure of the CLI. */
export class WatchOutcomeShown extends Error {}

export function watchStep(o: PushOptions): ListrTask<PushContext> {
  return {
    title: 'Watch the ingestion',
    skip: () => (o.dryRun ? 'dry run' : o.detach ? 'detached: the ingestion runs on in the cluster' : false),
    // On a terminal LogView re-emits the whole log each time (the progress bar updated in place), so one entry is the view.
    rendererOptions: {outputBar: o.tty ? 1 : Infinity, persistentOutput: true},
    task: async (c, task) =>
      timed(c, 'watch', async () => {
        await signalPoint('watch')
        throwIfInterrupted(o.signal)
        const view = new LogView((text) => (task.output = text), o.tty)
        c.watch = await watchIngestionJob(c.target!, {
          namespace: c.submit!.namespace,
          jobName: c.submit!.jobName,
          signal: o.signal,
          podStartTimeoutMs: o.podStartTimeoutMs,
          // The ingestor colours its own output; honour NO_COLOR / non-TTY by stripping it.
          onLine: (l) => {
            view.push(redact(colorEnabled(process.stdout) ? l : stripAnsi(l)))
            void signalPoint('logs')
          },
          onStatus: (s) => view.push(s),
        })
        // The task list shows the outcome truthfully (✖ for anything but a clean run); the command then
        // renders the panel and picks the exit code from ctx.watch, as for a clean run.
        const w = c.watch
        if (w.job === 'Complete' && !w.summary?.hasFailures) task.title = 'Ingestion finished'
        else {
          // The failed task shows its title only: say the outcome there.
          task.title = w.notStarted ? `Ingestion pod never started: ${w.notStarted}` : w.job === 'Complete' ? 'Ingestion finished with failures or skipped rows' : w.job === 'Failed' ? 'Ingestion Job failed' : 'Ingestion outcome unknown'
          throw new WatchOutcomeShown(task.title)
        }
      }),
  }
}
