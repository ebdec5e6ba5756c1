import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/command/base.js'
import {clusterFlags, envMs, writeFlags} from '../../lib/command/cluster-flags.js'
import {canPrompt} from '../../lib/command/input.js'
import {CliError, ExitCode} from '../../lib/output/errors.js'
import {printable} from '../../lib/output/printable.js'
import {isoSeconds} from '../../lib/output/format.js'
import {style} from '../../lib/output/style.js'
import {type CancelProgress, deleteRunJob, inspectPvc, type PvcLeftovers, readProgress, recordCancelEvent} from '../../lib/runs/cancel.js'
import {CANCEL_PERMISSIONS, requireRunPermissions} from '../../lib/runs/permissions.js'
import {resolveRun, type RunInfo} from '../../lib/runs/runs.js'
import {runTarget} from '../../lib/runs/target.js'
import {DEFAULT_STAGE_IMAGE} from '../../lib/staging/stage-pod.js'

export interface CancelJson {
  status: 'cancelled' | 'already_cancelled' | 'already_finished' | 'declined'
  key: string
  namespace: string
  table?: string
  job_name?: string
  /** The run's status before the cancel. */
  run_status: string
  deleted_pods: string[]
  progress?: CancelProgress
  leftovers?: PvcLeftovers
  /** Why client-pvc could not be inspected (permissions, stage pod start). */
  leftovers_error?: string
  follow_up: string[]
  exit_code: number
}

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
      const {run, job} = await resolveRun(t, namespace, this.args.run, cache, sig.signal)
      // A table name the cluster or the cache gives wrongly: nothing is deleted or cleaned up for that run.
      if (run.untrusted_table) {
        const u = run.untrusted_table
        // exit 7 as for any name the cluster gives wrongly (untrustedName): the user's input is fine, the cluster state is not
        throw new CliError(`refusing to cancel run ${printable(run.key, {ascii: true})}: its table name "${u.name}" read from ${u.from} is not a valid table name; nothing was deleted`, {
          exitCode: ExitCode.STAGING,
          hint: `check ${u.from}; to stop the run anyway: kubectl delete job -n ${namespace} ${printable(run.job_name ?? '<job>')}`,
          reason: 'untrusted_name',
        })
      }
      const doc: CancelJson = {status: 'cancelled', key: run.key, namespace, table: run.table, job_name: run.job_name, run_status: run.status, deleted_pods: [], follow_up: [], exit_code: ExitCode.OK}

      if (job && (run.status === 'succeeded' || run.status === 'failed' || run.status === 'completed_with_failures')) {
        this.note(`Run ${printable(run.key)} already finished (${run.status.replace(/_/g, ' ')}); nothing to cancel.`)
        return {...doc, status: 'already_finished'}
      }
      if (job) {
        if (!f.yes && !(await this.confirm(run, sig.signal))) {
          this.note('Not cancelled.')
          return {...doc, status: 'declined'}
        }
        // Read how far it got before the pod (and its log) goes.
        doc.progress = await readProgress(t, namespace, run.pod)
        const pods = (await t.core.listNamespacedPod({namespace, labelSelector: `job-name=${run.job_name}`})).items.map((p) => p.metadata!.name!)
        this.note(`Deleting Job ${printable(run.job_name ?? '?')} and its pod(s) ${pods.join(', ') || '(none)'} …`)
        const left = await deleteRunJob(t, job, {timeoutMs: envMs('TRACEBLOC_CANCEL_TIMEOUT', 90), signal: sig.signal, onStatus: (s) => this.trace(s)})
        cache.markCancelled(t.context, namespace, run.key, isoSeconds(), {table: run.table ?? '', job_name: run.job_name, category: run.category, intent: run.intent})
        cache.save()
        await recordCancelEvent(t, job, run)
        if (left.length > 0) {
          throw new CliError(`Job ${printable(run.job_name ?? '?')} was deleted but pod(s) ${left.join(', ')} are still terminating`, {
            exitCode: ExitCode.JOB,
            hint: `check again shortly: kubectl get pods -n ${namespace} -l job-name=${run.job_name}`,
            reason: 'cancel_incomplete',
          })
        }
        doc.deleted_pods = pods
      } else {
        doc.status = 'already_cancelled'
        this.note(`Run ${printable(run.key)} has no Job any more (${run.status}${run.reason ? `: ${run.reason}` : ''}); checking what it left.`)
      }

      if (run.table) {
        try {
          doc.leftovers = await inspectPvc(t, {
            namespace,
            table: run.table,
            serviceAccount: release!.ingestorSA,
            image: f['stage-image'],
            runId: run.key.slice(0, 63),
            clearLock: f['clear-lock'],
            timeoutMs: envMs('TRACEBLOC_STAGE_POD_TIMEOUT', 120),
          })
        } catch (error) {
          doc.leftovers_error = `${(error as Error).message.split('\n')[0]} (inspecting client-pvc needs create on pods and pods/exec)`
        }
      }
      doc.follow_up = this.followUps(doc)
      this.render(doc)
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

  private followUps(d: CancelJson): string[] {
    const out: string[] = []
    const l = d.leftovers
    if (d.table && (d.status === 'cancelled' || (l?.files ?? 0) > 0)) out.push(`tracebloc dataset delete ${d.table}`)
    if (l?.lock && !l.lock_cleared) {
      out.push(l.lock.holder_alive ? `kubectl get pod -n ${d.namespace} ${printable(l.lock.holder ?? '')}`.trimEnd() : `tracebloc dataset cancel ${printable(d.key)} -n ${d.namespace} --clear-lock --yes`)
    }
    return out
  }

  private render(d: CancelJson): void {
    if (this.jsonEnabled()) return
    if (d.status === 'cancelled') this.out(`${style.green('✔')} Cancelled run ${printable(d.key)} (table ${d.table ?? '?'}): Job ${printable(d.job_name ?? '?')} and its pod(s) are gone.`)
    const p = d.progress
    const l = d.leftovers
    const row = (k: string, v: string) => this.out(`  ${k.padEnd(12)} ${v}`)
    this.out(style.bold('What it leaves'))
    if (d.status === 'cancelled') {
      const how = p?.processed === undefined ? 'an unknown number of records had been processed' : `${p.processed} of ${p.total} records had been processed`
      row('rows', `${how}; rows inserted before the cancel stay in table ${d.table ?? '?'} → remove them: tracebloc dataset delete ${d.table ?? '<table>'}`)
    }
    if (d.leftovers_error) row('client-pvc', `not inspected: ${d.leftovers_error}`)
    if (l) {
      row('files', l.files ? `${l.files} file(s) copied into /data/shared/${d.table} (dataset delete removes them too)` : 'none copied')
      if (!l.lock) row('lock', 'none')
      else if (l.lock_cleared) row('lock', `${l.lock.path} removed`)
      else if (l.lock.holder_alive) row('lock', `${l.lock.path} is held by pod ${printable(l.lock.holder ?? '?')}, which is still there — another ingest may be running`)
      else {
        row('lock', `${l.lock.path} (left by pod ${printable(l.lock.holder ?? '?')}, now gone) blocks the next push of ${d.table} for up to 12 h`)
        row('', `→ clear it: tracebloc dataset cancel ${printable(d.key)} -n ${d.namespace} --clear-lock --yes`)
      }
      if (l.staged_copy) row('staged copy', `/data/shared/.tracebloc-staging/${d.table} (harmless; the next push of ${d.table} reuses it)`)
    }
  }
}
