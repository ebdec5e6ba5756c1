// `dataset push` as a pipeline of listr2 tasks, in run order: validate → connect → stage → submit → watch.
// Each step (steps/) is a function of the options and the shared context; run.ts wraps this with the
// interruption handling and cleanup, and the command only parses flags and renders the result.
import {LISTR_LOGGER_STDERR_LEVELS, Listr, ListrLogger, ListrLogLevels} from 'listr2'

import {PushContext, PushOptions, StepEnv} from './context.js'
import {planStep} from './plan.js'
import {connectStep, pushPlanStep, replaceStep} from './steps/connect.js'
import {openRemote, remoteStageStep, remoteValidateStep} from './steps/remote.js'
import {stageStep} from './steps/stage.js'
import {submitStep} from './steps/submit.js'
import {validateStep} from './steps/validate.js'
import {watchStep} from './steps/watch.js'

export async function runPush(o: PushOptions, ctx: PushContext, log: {warn: (s: string) => void}): Promise<void> {
  const env: StepEnv = {
    warn: (s) => {
      ctx.warnings.push(s)
      log.warn(s)
    },
    throttle: throttled(o.tty ? 100 : 2000),
  }
  // Ask for a missing --category before the task list renders (it buffers stderr, hiding the prompt).
  if (o.plan.category === undefined && o.plan.interactive) {
    const {chooseCategory} = await import('../local/index.js')
    // a remote source is listed first: the question is asked about its skeleton
    if (o.remote) await openRemote(o, ctx)
    o.plan.category = await chooseCategory({...o.plan, path: ctx.remoteSkeletonPath ?? o.plan.path, onDetected: (_category, why) => (env.detected = why)})
  }
  const steps = o.remote
    ? // the dry-run plan of a remote push is the validate step's (source, checks); nothing is hashed here
      [remoteValidateStep(o, env), connectStep(o, env), pushPlanStep(o), replaceStep(o, env), remoteStageStep(o, env), submitStep(o), watchStep(o)]
    : [validateStep(o, env), connectStep(o, env), planStep(o), pushPlanStep(o), replaceStep(o, env), stageStep(o, env), submitStep(o), watchStep(o)]
  const list = new Listr<PushContext>(steps, {
    ctx,
    concurrent: false,
    exitOnError: true,
    registerSignalListeners: false, // listr2 would process.exit(127) on SIGINT and skip our cleanup
    renderer: 'default',
    fallbackRenderer: 'simple',
    fallbackRendererCondition: () => !o.tty,
    silentRendererCondition: () => o.json,
    // The failed task shows only its title (✖); the command prints the error once, with its hint.
    rendererOptions: {collapseSubtasks: false, showErrorMessage: false},
    fallbackRendererOptions: {logger: new TitleOnlyFailures({useIcons: true, toStderr: LISTR_LOGGER_STDERR_LEVELS})},
  })
  await list.run()
}

/** The plain-line renderer's logger without the `[FAILED: <message>]` suffix (the message follows as `Error:`). */
class TitleOnlyFailures extends ListrLogger {
  override log(level: ListrLogLevels, message: string, options?: Parameters<ListrLogger['log']>[2]): void {
    super.log(level, message, level === ListrLogLevels.FAILED ? {...options, suffix: undefined} : options)
  }
}

function throttled(ms: number) {
  let last = 0
  return (fn: () => void) => {
    const now = Date.now()
    if (now - last >= ms) {
      last = now
      fn()
    }
  }
}
