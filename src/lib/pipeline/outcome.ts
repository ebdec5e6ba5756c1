// How a push that ran to its end came out: a dry run and a detached run end at the submit; a
// watched one as its ingestion did (the same classifier `dataset logs` uses).
import {ExitCode} from '../output/errors.js'
import {classifyWatch, type Outcome} from '../watch/outcome.js'
import type {PushContext, PushOptions, PushStatus} from './context.js'

export function pushOutcome(ctx: PushContext, o: Pick<PushOptions, 'dryRun' | 'detach'>): Outcome<PushStatus> {
  if (o.dryRun) return {status: 'dry-run', exitCode: ExitCode.OK}
  if (o.detach) return {status: 'detached', exitCode: ExitCode.OK}
  return classifyWatch(ctx.watch)
}
