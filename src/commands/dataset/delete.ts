import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../lib/command/base.js'
import {clusterFlags, envMs, writeFlags} from '../../lib/command/cluster-flags.js'
import {canPrompt} from '../../lib/process/input.js'
import {readCatalog, resolveDataset} from '../../lib/catalog/catalog.js'
import {connectForDatasets} from '../../lib/catalog/connect.js'
import {printable, validateDatasetName} from '../../lib/catalog/names.js'
import {DELETE_PERMISSIONS} from '../../lib/catalog/permissions.js'
import {planTeardown, teardown} from '../../lib/catalog/teardown.js'
import {CliError, ExitCode} from '../../lib/output/errors.js'
import {style} from '../../lib/output/style.js'
import {DEFAULT_STAGE_IMAGE} from '../../lib/pvc/stage-pod.js'

export default class DatasetDelete extends BaseCommand<typeof DatasetDelete> {
  static summary = 'Delete a dataset: its table, bookkeeping rows, files and staged copy'
  static description =
    'Drops the dataset’s table(s) from training_test_datasets, removes its rows from the ingestor’s bookkeeping tables, and removes ' +
    '/data/shared/<table>/, the staged copy, partial staged copies left by interrupted pushes and a stale ingestion lock from a short-lived PSS-restricted pod. Asks first on a terminal; ' +
    'elsewhere pass --yes. The tracebloc backend’s catalog entry is not touched.'
  static aliases = ['data:delete', 'data:rm']
  static hiddenAliases = ['data:delete', 'data:rm']
  static examples = ['<%= config.bin %> dataset delete cats_dogs_train', '<%= config.bin %> dataset delete cats_dogs_train --dry-run', '<%= config.bin %> dataset delete cats_dogs_train --yes --json']
  static args = {name: Args.string({description: 'Dataset name (a ds_<hex> name deletes that one per-ingestion table)', required: true})}
  static flags = {
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation'}),
    'dry-run': Flags.boolean({description: 'Print exactly what would be removed, remove nothing'}),
    'stage-image': Flags.string({description: 'Image for the short-lived pod that removes the files (needs rm and cat)', default: DEFAULT_STAGE_IMAGE}),
    ...clusterFlags,
    ...writeFlags,
  }

  async run() {
    const f = this.flags
    const name = validateDatasetName(this.args.name)
    // off a terminal, a delete needs --yes (or --dry-run): say so before touching the cluster
    if (!f.yes && !f['dry-run'] && (!canPrompt() || this.jsonEnabled())) {
      throw new CliError(`refusing to delete ${printable(name)} without confirmation (no terminal to ask on)`, {exitCode: ExitCode.LOCAL_ENV, hint: 'pass --yes to delete it (or --dry-run to see what would go)', reason: 'confirmation_required'})
    }
    const sig = this.interruption
    sig.cooperate()
    try {
      const conn = await connectForDatasets({kubeconfig: f.kubeconfig, context: f.context, namespace: f.namespace}, {permissions: DELETE_PERMISSIONS, pvc: true, signal: sig.signal})
      const identity = await this.guardTarget(conn.target, conn.namespace, {dryRun: f['dry-run'], signal: sig.signal})
      const cat = await readCatalog(conn.target, conn.namespace, {pvc: true, signal: sig.signal})
      const {dataset, tables} = resolveDataset(cat, name)
      const plan = planTeardown(cat, dataset, tables)
      const base = {cluster: {uid: identity.uid, server: identity.server, context: identity.context}, namespace: conn.namespace, release: conn.release.release, database: plan.database, table: dataset.name, tables: plan.tables, pvc_paths: plan.pvcPaths}
      for (const n of [...conn.notes, ...cat.notes]) this.note(style.dim(`note: ${n}`))
      this.out(style.bold('Target'))
      this.out(`  context ${conn.target.context}, namespace ${conn.namespace}, release ${conn.release.release}, shared PVC client-pvc`)
      this.out(`  cluster ${identity.server}, kube-system UID ${identity.uid}`)
      this.out(style.bold(f['dry-run'] ? 'Would delete' : 'Will delete'))
      for (const t of plan.tables) this.out(`  mysql table  training_test_datasets.${t} (${cat.tables.find((x) => x.table === t)?.records ?? 0} records) and its bookkeeping rows`)
      for (const p of plan.pvcPaths) this.out(`  pvc path     ${p}`)
      this.out(`  stale lock   ${plan.lockPath} (only if one is left and its ingestion is gone)`)
      if (f['dry-run']) return {status: 'dry-run', ...base, removed_paths: [], bookkeeping_cleaned: false, warnings: []}

      if (!f.yes) {
        const {createInterface} = await import('node:readline/promises')
        const rl = createInterface({input: process.stdin, output: process.stderr})
        const answer = await rl.question(`Delete dataset ${printable(dataset.name)} and its files? [y/N] `, {signal: sig.signal}).catch(() => '')
        rl.close()
        if (!/^y(es)?$/i.test(answer.trim())) {
          this.note('Cancelled — nothing was deleted.')
          return {status: 'declined', ...base, removed_paths: [], bookkeeping_cleaned: false, warnings: []}
        }
      }
      const r = await teardown(conn.target, plan, {
        mysqlPod: cat.mysqlPod,
        serviceAccount: conn.release.ingestorSA,
        image: f['stage-image'],
        podReadyTimeoutMs: envMs('TRACEBLOC_STAGE_POD_TIMEOUT', 60),
        signal: sig.signal,
        onStatus: (s) => this.trace(s),
      })
      for (const w of r.warnings) this.warnLine(w)
      this.out(`${style.green('✔')} Deleted ${printable(dataset.name)}${r.droppedTables.length ? `: dropped ${r.droppedTables.join(', ')}` : ''}, removed ${r.removedPaths.length} path${r.removedPaths.length === 1 ? '' : 's'} from client-pvc${r.staleLock ? ' (including a stale lock)' : ''}`)
      return {status: 'deleted', ...base, removed_paths: r.removedPaths, bookkeeping_cleaned: r.bookkeepingCleaned, ...(r.staleLock ? {stale_lock: r.staleLock} : {}), warnings: r.warnings}
    } finally {
      sig.release()
    }
  }
}
