import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/command/base.js'
import {clusterFlags, envMs, writeFlags} from '../../lib/command/cluster-flags.js'
import {canPrompt} from '../../lib/process/input.js'
import {CliError, ExitCode} from '../../lib/output/errors.js'
import {printable} from '../../lib/output/printable.js'
import {cancelReport, cancelRun, clearTableLock, type CancelJson} from '../../lib/runs/cancel.js'
import {CANCEL_PERMISSIONS, requireRunPermissions} from '../../lib/runs/permissions.js'
import {resolveRun, type RunInfo} from '../../lib/runs/jobs.js'
import {runTarget} from '../../lib/runs/target.js'
import {isTableName} from '../../lib/schema/table-name.js'
import {DEFAULT_STAGE_IMAGE} from '../../lib/pvc/stage-pod.js'

export type {CancelJson} from '../../lib/runs/cancel.js'

export default class DatasetCancel extends BaseCommand<typeof DatasetCancel> {
  static summary = 'Cancel an ingestion run: delete its Job and pods, and say what it leaves behind'
  static description =
    'Deletes the run’s Job with Foreground propagation (its pods go too), waits until they are gone, records the cancel in the cluster ' +
    '(so `dataset runs` keeps showing it) and reports what the stopped ingestor left: rows already inserted, files copied, the table lock. ' +
    'Asks for confirmation on a terminal; needs --yes otherwise (exit 3 without it). The run is a table, an idempotency key or a Job name; ' +
    'without one, the last run you pushed from this machine.'
  static examples = ['<%= config.bin %> dataset cancel', '<%= config.bin %> dataset cancel cats_dogs_train --yes', '<%= config.bin %> dataset cancel 3f9a… --clear-lock --yes']
  static args = {run: Args.string({description: 'Table, idempotency key or Job name (default: your last run)', required: false})}
  static flags = {
    ...clusterFlags,
    ...writeFlags,
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation (required off a terminal)'}),
    'clear-lock': Flags.boolean({description: 'Also remove the table lock the stopped ingestor left, when no live pod holds it'}),
    'stage-image': Flags.string({description: 'Image of the short-lived pod that inspects client-pvc', default: DEFAULT_STAGE_IMAGE}),
  }

  async run(): Promise<CancelJson> {
    const f = this.flags
    const interactive = canPrompt() && !this.jsonEnabled()
    if (!f.yes && !interactive) {
      throw new CliError('cancelling a run needs confirmation: pass --yes (no terminal to ask on)', {exitCode: ExitCode.LOCAL_ENV, hint: `tracebloc dataset cancel ${this.args.run ?? ''} --yes`.replace('  ', ' '), reason: 'confirmation_required'})
    }
    const sig = this.interruption
    sig.cooperate()
    try {
      const {t, namespace, cache, release} = await runTarget(f, this.config.cacheDir, {arg: this.args.run, needRelease: true, signal: sig.signal})
      await requireRunPermissions(t, namespace, CANCEL_PERMISSIONS, sig.signal)
      await this.guardTarget(t, namespace, {signal: sig.signal})
      // --clear-lock for a table no run names: the lock alone (what doctor suggests for a stale lock)
      const resolved = await resolveRun(t, namespace, this.args.run, cache, sig.signal).catch((error: unknown) => {
        if (f['clear-lock'] && error instanceof CliError && error.reason === 'run_not_found' && isTableName(this.args.run)) return undefined
        throw error
      })
      const options = {
        namespace,
        cache,
        serviceAccount: release!.ingestorSA,
        stageImage: f['stage-image'],
        clearLock: f['clear-lock'],
        confirm: async (run: RunInfo) => f.yes || this.confirm(run, sig.signal),
        cancelTimeoutMs: envMs('TRACEBLOC_CANCEL_TIMEOUT', 90),
        podReadyTimeoutMs: envMs('TRACEBLOC_STAGE_POD_TIMEOUT', 120),
        signal: sig.signal,
        note: (s: string) => this.note(s),
        trace: (s: string) => this.trace(s),
      }
      const doc = resolved ? await cancelRun(t, resolved, options) : await clearTableLock(t, this.args.run!, options)
      if (!this.jsonEnabled() && doc.status !== 'declined' && doc.status !== 'already_finished') for (const l of cancelReport(doc)) this.out(l)
      return doc
    } finally {
      sig.release()
    }
  }

  /** y/N on the terminal; Ctrl-C at the prompt declines (exit 0, like the Go CLI's prompts). */
  private async confirm(run: RunInfo, signal: AbortSignal): Promise<boolean> {
    const {createInterface} = await import('node:readline/promises')
    const rl = createInterface({input: process.stdin, output: process.stderr})
    rl.on('SIGINT', () => rl.close())
    try {
      const a = await rl.question(`Cancel run ${printable(run.key)} (table ${run.table ?? '?'}, Job ${printable(run.job_name ?? '?')}, ${run.status})? Rows already inserted stay. [y/N] `, {signal})
      return /^y(es)?$/i.test(a.trim())
    } catch {
      return false
    } finally {
      rl.close()
    }
  }
}
