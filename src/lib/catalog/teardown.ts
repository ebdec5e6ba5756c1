// Removing a dataset (docs/protocol.md#delete), shared by `dataset delete` and `dataset push --overwrite`:
// its table(s), its bookkeeping rows, its files on client-pvc, its staged copy, the partial staged copies
// interrupted pushes left (`<name>.staging-resume`, `<name>.old-…`) and a stale table lock. Every path
// is built by pvc/paths.ts from a checked name; a dataset whose name the cluster gives wrongly is refused.
// Order differs from the Go CLI on purpose: the short-lived pod that removes the files starts first, so
// when it cannot start nothing has been dropped; a lock held by a live ingestion stops the delete.
import {randomBytes} from 'node:crypto'

import {ClusterTarget} from '../cluster/kube.js'
import {CliError, ExitCode} from '../output/errors.js'
import type {Catalog, Dataset} from './catalog.js'
import {DATABASE, META_TABLE, printable, qualifiedTable, RUNS_TABLE, sanitize, sqlString, untrustedName} from './names.js'
import {execute, MysqlTarget} from './mysql.js'
import {datasetDir, ingestLockPath, partialCopyDir, RESUME_SUFFIX, SHARED, stagedCopyDir} from '../pvc/paths.js'
import {withStagePod} from '../pvc/pod.js'

export {SHARED}
export const LOCK_STALE_MS = 12 * 3600 * 1000

export interface TeardownPlan {
  namespace: string
  dataset: string
  database: string
  /** Physical tables to drop. */
  tables: string[]
  /** Directories to remove: /data/shared/<table> per table, the staged copy when the whole dataset goes, partial staged copies. */
  pvcPaths: string[]
  /** The ingestor's lock for this dataset name, removed when stale. */
  lockPath: string
  bookkeeping: {runs: boolean; meta: boolean}
}

export interface TeardownResult {
  droppedTables: string[]
  removedPaths: string[]
  bookkeepingCleaned: boolean
  staleLock?: string
  warnings: string[]
}

/**
 * What removing `tables` of `ds` takes. With keepStaged (push --overwrite) the staged copy and the resumable
 * work dir stay: that push prunes them to its own files and swaps them into place; other partial copies
 * (swap backups, other work dirs) of the old dataset go. Refused (exit 7) when the cluster names the
 * dataset with a name that fails the table-name rule, and (by pvc/paths.ts) for any path that would leave
 * its parent.
 */
export function planTeardown(cat: Catalog, ds: Dataset, tables: string[], o: {keepStaged?: boolean} = {}): TeardownPlan {
  if (ds.untrusted) {
    throw untrustedName(ds.untrusted.name, ds.untrusted.from, `fix the table name there or delete that Job (kubectl delete job -n ${cat.namespace} …), then run the delete again`)
  }
  const whole = tables.length === ds.tables.length
  const pvcPaths = tables.map((t) => datasetDir(t))
  // files left without a table (a failed ingest) are part of the dataset too
  if (ds.tables.length === 0) pvcPaths.push(datasetDir(ds.name))
  if (whole && ds.labelKnown) {
    if (!o.keepStaged) pvcPaths.push(stagedCopyDir(ds.name))
    for (const p of ds.partials ?? []) if (!(o.keepStaged && p.suffix === RESUME_SUFFIX)) pvcPaths.push(partialCopyDir(ds.name, p.suffix))
  }
  return {
    namespace: cat.namespace,
    dataset: ds.name,
    database: DATABASE,
    tables,
    pvcPaths,
    lockPath: ingestLockPath(ds.name),
    bookkeeping: {runs: cat.tables.some((x) => x.table === RUNS_TABLE), meta: cat.tables.some((x) => x.table === META_TABLE)},
  }
}

export interface TeardownOptions {
  mysqlPod: string
  serviceAccount: string
  image: string
  podReadyTimeoutMs: number
  signal?: AbortSignal
  onStatus?: (s: string) => void
}

export async function teardown(t: ClusterTarget, plan: TeardownPlan, o: TeardownOptions): Promise<TeardownResult> {
  const ns = plan.namespace
  const result: TeardownResult = {droppedTables: [], removedPaths: [], bookkeepingCleaned: true, warnings: []}
  const pod = {
    namespace: ns,
    table: plan.dataset,
    serviceAccount: o.serviceAccount,
    image: o.image,
    runId: `delete-${randomBytes(4).toString('hex')}`,
    timeoutMs: o.podReadyTimeoutMs,
    signal: o.signal,
    onName: (name: string) => o.onStatus?.(`starting pod ${name} to remove the files`),
  }
  return withStagePod(t, pod, async (p) => {
    const inPod = (command: string[]) => p.exec(command)

    // A lock held by a live ingestion: deleting under it would race the ingestor.
    const lock = await inPod(['cat', plan.lockPath])
    let removeLock = false
    if (lock.exitCode === 0) {
      const holder = await lockHolderAlive(t, ns, lock.stdout)
      if (holder) {
        throw new CliError(`an ingestion of ${printable(plan.dataset)} is running (pod ${holder}); nothing was removed`, {
          exitCode: ExitCode.STAGING,
          hint: `wait for it to finish (kubectl get pod -n ${ns} ${holder}) or cancel it, then run the delete again`,
          reason: 'ingest_running',
        })
      }
      removeLock = true
    }

    const m: MysqlTarget = {t, namespace: ns, pod: o.mysqlPod, signal: o.signal}
    if (plan.tables.length) {
      o.onStatus?.(`dropping ${plan.tables.join(', ')}`)
      try {
        await execute(m, plan.tables.map((tb) => `DROP TABLE IF EXISTS ${qualifiedTable(tb)};`).join('\n') + '\n')
      } catch (error) {
        const e = error as CliError
        throw new CliError(`teardown failed, nothing was removed: ${e.message}`, {exitCode: ExitCode.STAGING, hint: e.hint, reason: e.reason ?? 'teardown_failed', cause: error})
      }
      result.droppedTables = [...plan.tables]
      // bookkeeping rows: best effort, each table on its own so one missing table does not stop the other
      const list = plan.tables.map(sqlString).join(', ')
      for (const [has, table] of [[plan.bookkeeping.runs, RUNS_TABLE], [plan.bookkeeping.meta, META_TABLE]] as const) {
        if (!has) continue
        try {
          await execute(m, `DELETE FROM ${qualifiedTable(table)} WHERE table_name IN (${list});\n`)
        } catch (error) {
          result.bookkeepingCleaned = false
          result.warnings.push(`could not remove the ${table} rows of ${plan.tables.join(', ')}: ${(error as Error).message}`)
        }
      }
    }

    const paths = [...plan.pvcPaths, ...(removeLock ? [plan.lockPath] : [])]
    o.onStatus?.(`removing ${paths.join(', ')}`)
    const rm = await inPod(['rm', '-rf', '--', ...paths])
    if (rm.exitCode !== 0) {
      const dropped = result.droppedTables.length ? `the table${result.droppedTables.length > 1 ? 's' : ''} ${result.droppedTables.join(', ')} ${result.droppedTables.length > 1 ? 'were' : 'was'} dropped, but ` : ''
      throw new CliError(`teardown incomplete: ${dropped}removing the files failed (${sanitize(rm.stderr.trim().split('\n')[0] ?? `exit ${rm.exitCode}`)})`, {
        exitCode: ExitCode.STAGING,
        hint: `run \`tracebloc dataset delete ${sanitize(plan.dataset)}\` again (it removes files left without a table), or remove ${paths.join(' ')} from a pod that mounts client-pvc`,
        reason: 'teardown_incomplete',
      })
    }
    result.removedPaths = paths
    if (removeLock) result.staleLock = plan.lockPath
    return result
  })
}

/** The pod named in a lock file when it is still running and the lock is younger than 12 h; else undefined. */
async function lockHolderAlive(t: ClusterTarget, ns: string, body: string): Promise<string | undefined> {
  let lock: {hostname?: unknown; started_at?: unknown}
  try {
    lock = JSON.parse(body)
  } catch {
    return undefined // corrupt: the ingestor itself treats it as stale
  }
  const started = Date.parse(String(lock.started_at ?? ''))
  if (Number.isFinite(started) && Date.now() - started > LOCK_STALE_MS) return undefined
  const host = typeof lock.hostname === 'string' ? lock.hostname : undefined
  if (!host || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(host)) return undefined
  try {
    const pod = await t.core.readNamespacedPod({name: host, namespace: ns})
    return pod.status?.phase === 'Running' || pod.status?.phase === 'Pending' ? host : undefined
  } catch {
    return undefined
  }
}
