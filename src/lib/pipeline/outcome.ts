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

/**
 * The records the destination table holds after the run, read back as `dataset list` reads them (so
 * both say the same number); undefined when MySQL cannot be read (the ingestor's counts still show).
 */
export async function recordsInTable(ctx: PushContext, signal: AbortSignal): Promise<number | undefined> {
  if (!ctx.target || !ctx.submit || !ctx.plan || signal.aborted) return undefined
  try {
    const {readCatalog} = await import('../catalog/catalog.js')
    const {existingDataset} = await import('../catalog/guard.js')
    const cat = await readCatalog(ctx.target, ctx.submit.namespace, {signal})
    return existingDataset(cat, ctx.plan.table)?.records ?? 0
  } catch {
    return undefined
  }
}
