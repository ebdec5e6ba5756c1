// A whole `dataset push`: the steps, then cleanup on every path, the recent-run record, the
// interruption report (where the run stands and how to resume it) and the exit code. The command
// gets back the --json document and, for a run that reached its end, the panel to print.
import {exitWhenDone, type Interruption, signalPoint} from '../process/signals.js'
import {isCliError} from '../output/errors.js'
import {style} from '../output/style.js'
import {rememberRun} from '../runs/remember.js'
import {followCommand} from '../runs/jobs.js'
import {cleanupPush, reclaimStaging, removeStagePodNow} from './cleanup.js'
import {initialContext, PushContext, PushOptions} from './context.js'
import {PushJson, pushDocument} from './document.js'
import {interruptedReport} from './interrupted.js'
import {pushOutcome, recordsInTable} from './outcome.js'
import {pushPanel} from './panel.js'
import {runPush} from './push.js'
import {WatchOutcomeShown} from './steps/watch.js'

export interface PushIo {
  /** Human notes and warnings (stderr; silent under --json). */
  note: (s: string) => void
  warn: (s: string) => void
  /** Where the recent-run cache lives. */
  cacheDir: string
}

export interface PushResult {
  doc: PushJson
  /** The lines that end a run reaching its end (empty when interrupted or failed). */
  panel: string[]
}

/**
 * Runs the push and sets process.exitCode. A failure the user can act on comes back as the error
 * document under --json and is thrown otherwise; anything else is a bug and is thrown.
 */
export async function pushDataset(o: PushOptions, sig: Interruption, io: PushIo): Promise<PushResult> {
  // SIGINT/SIGTERM stop the current step; cleanup and the report of where things stand happen below
  sig.cooperate()
  const ctx = initialContext(o)
  // a second signal (or an unexpected error) leaves no time for the full cleanup below
  const dropUrgent = sig.onUrgent(() => removeStagePodNow(ctx))
  const dropCleanup = sig.onCleanup(() => cleanupPush(ctx))
  let failure: unknown
  try {
    await runPush(o, ctx, io)
  } catch (error) {
    if (!(error instanceof WatchOutcomeShown) || sig.signal.aborted) failure = sig.signal.aborted ? sig.signal.reason : error
  } finally {
    await signalPoint('cleanup')
    await cleanupPush(ctx)
    dropCleanup()
    if (ctx.submit) remember(io.cacheDir, ctx)
  }

  // (a run that had already failed keeps its own exit code if a signal comes during its cleanup)
  if (failure && failure === sig.signal.reason) {
    // a step stopped by the signal may leave a socket or timer behind: do not wait for it
    exitWhenDone()
    dropUrgent()
    const exitCode = sig.exitCode()
    process.exitCode = exitCode
    // Interrupted after the submit: the run continues in the cluster — we only stopped watching.
    if (ctx.submit) {
      io.note(`\nStopped watching — the ingestion keeps running in your cluster.\n  Re-attach: ${followCommand(ctx.idempotencyKey, ctx.submit.namespace)}\n  or: kubectl logs -f -n ${ctx.submit.namespace} job/${ctx.submit.jobName}`)
      return {doc: pushDocument(ctx, o, {status: 'detached', exitCode, error: 'stopped watching; the ingestion keeps running in the cluster'}), panel: []}
    }
    const r = interruptedReport(ctx, sig.interruptedBy()!)
    io.note(`\n${r.message}\n  ${style.dim('→')} ${r.hint}`)
    return {doc: pushDocument(ctx, o, {status: 'interrupted', exitCode, error: r.message, reason: 'interrupted', hint: r.hint}), panel: []}
  }

  if (failure) {
    dropUrgent()
    if (sig.interruptedBy()) exitWhenDone()
    // anything but a CliError is a bug: BaseCommand reports it as one
    if (!isCliError(failure) || !o.json) throw failure
    process.exitCode = failure.exitCode
    return {doc: pushDocument(ctx, o, {status: 'error', exitCode: failure.exitCode, error: failure.message, reason: failure.reason, hint: failure.hint}), panel: []}
  }

  const outcome = pushOutcome(ctx, o)
  if (outcome.status === 'succeeded' || outcome.status === 'completed_with_failures') ctx.recordsInTable = await recordsInTable(ctx, sig.signal)
  if (outcome.status === 'succeeded') {
    // A signal now cannot undo the run: reclaiming is skipped or cut short (its pod is removed), exit stays 0.
    ctx.reclaimed = sig.signal.aborted ? false : await reclaimStaging(ctx, o.stageImage, o.podReadyTimeoutMs, sig.signal)
    if (!ctx.reclaimed) io.warn(`${sig.interruptedBy() ? `interrupted (${sig.interruptedBy()}) after the run succeeded: kept` : "couldn't reclaim"} the staged copy; it is harmless and the next push of "${ctx.plan!.table}" replaces it`)
  }
  dropUrgent()
  if (sig.interruptedBy()) exitWhenDone()
  const doc = pushDocument(ctx, o, outcome)
  process.exitCode = outcome.exitCode
  return {doc, panel: pushPanel(ctx, o, doc)}
}

function remember(cacheDir: string, ctx: PushContext): void {
  if (!ctx.submit || !ctx.target) return
  rememberRun(cacheDir, {
    key: ctx.idempotencyKey,
    table: ctx.plan?.table ?? '',
    namespace: ctx.submit.namespace,
    context: ctx.target.context,
    cluster: ctx.identity?.uid,
    job_name: ctx.submit.jobName,
    category: ctx.plan?.category,
    intent: ctx.plan?.intent,
    ...(ctx.remote ? {dataset_source: ctx.remote.display} : {}),
  })
}
