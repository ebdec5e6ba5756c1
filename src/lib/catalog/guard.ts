// The destination check of `dataset push` (docs/protocol.md#destination-guard): before any byte is
// uploaded, a dataset of that name must not exist (a table in MySQL, or files in /data/shared/<table>/),
// unless --overwrite asks to replace it, in which case it is removed exactly as `dataset delete` does.
// Unlike the Go CLI the check fails closed: if MySQL cannot be read the push stops, because going on
// would append to or duplicate a table the user meant to replace.
import {ClusterTarget} from '../cluster/kube.js'
import {CliError, ExitCode} from '../output/errors.js'
import {Catalog, Dataset, ingestionJobs, readCatalog} from './catalog.js'
import {PHYSICAL_RE, sameName, SYSTEM_TABLES} from './names.js'
import {planTeardown, teardown, TeardownResult} from './teardown.js'

export interface GuardOptions {
  overwrite: boolean
  dryRun: boolean
  serviceAccount: string
  stageImage: string
  podReadyTimeoutMs: number
  signal?: AbortSignal
  onStatus?: (s: string) => void
  warn: (s: string) => void
}

export interface GuardResult {
  existed: boolean
  /** What the push removes before its upload: the dataset (--overwrite), or the empty table a failed run left. */
  removal?: Removal
  replaced?: TeardownResult
}

export interface Removal {
  name: string
  /** `table training_test_datasets.x, 12 records` / `3 files in /data/shared/x`. */
  what: string
  why: 'overwrite' | 'failed-run'
}

/** The existing dataset a push of `table` would collide with (ASCII case-insensitive, as MySQL on most installs). */
export function existingDataset(cat: Catalog, table: string): Dataset | undefined {
  return cat.datasets.find((d) => !d.system && d.labelKnown && sameName(d.name, table) && (d.tables.length > 0 || (d.files?.files ?? 0) > 0))
}

export interface Destination {
  table: string
  namespace: string
  cat: Catalog
  existing?: Dataset
  /** --idempotency-key names a run the cluster already has: the push attaches to it, loading nothing new. */
  replay?: boolean
  /** An ingestion of this dataset is under way (checked only for an empty table). */
  running?: boolean
}

/** Read what exists under that name. Fails closed: MySQL unreadable → exit 7, never "absent". */
export async function checkDestination(t: ClusterTarget, namespace: string, table: string, signal?: AbortSignal, idempotencyKey?: string): Promise<Destination> {
  if (PHYSICAL_RE.test(table) || SYSTEM_TABLES.has(table)) {
    throw new CliError(`--table "${table}" is reserved: ${SYSTEM_TABLES.has(table) ? 'the ingestor keeps its bookkeeping there' : 'ds_<32 hex> names are the physical tables of per-ingestion runs'}`, {
      exitCode: ExitCode.BAD_INPUT,
      hint: 'pick another --table name',
      reason: 'reserved_name',
    })
  }
  let cat: Catalog
  try {
    cat = await readCatalog(t, namespace, {pvc: true, signal})
  } catch (error) {
    if (!(error instanceof CliError) || error.exitCode === ExitCode.INTERRUPTED) throw error
    throw new CliError(`cannot check whether "${table}" already exists: ${error.message}`, {
      exitCode: ExitCode.STAGING,
      hint: `${error.hint ? `${error.hint}. ` : ''}The push stops here rather than risk appending to or duplicating an existing table; nothing was uploaded`,
      reason: error.reason ?? 'exists_check_failed',
      cause: error,
    })
  }
  const existing = existingDataset(cat, table)
  // Re-attaching to an earlier run (same key) is not a second ingestion: jobs-manager replays the run.
  let replay = false
  if (existing && idempotencyKey) {
    try {
      const jobs = await t.batch.listNamespacedJob({namespace, labelSelector: `tracebloc.io/ingestion-run=${idempotencyKey}`})
      replay = jobs.items.length > 0
    } catch {
      // cannot tell: treat it as a new ingestion (exit 6 below)
    }
  }
  // an empty table may be what a failed run left: whether a run of it is still going decides (applyDestination)
  let running = false
  if (existing && !replay && existing.tables.length > 0 && existing.records === 0) {
    try {
      running = (await ingestionJobs(t, namespace, {logs: false, signal})).some((j) => j.status === 'running' && j.label !== undefined && sameName(j.label, existing.name))
    } catch {
      running = true // cannot tell: treated as in use (exit 6 names the way out)
    }
  }
  return {table, namespace, cat, existing, replay, running}
}

/**
 * Decides what happens to an existing dataset, removing nothing: exit 6 when it exists and --overwrite
 * is not given; with it, or when all it is is the empty table a failed run of the same table left
 * (no records, no files, no run under way), the push removes it first (removeDestination, a step of its own).
 */
export function applyDestination(d: Destination, o: Pick<GuardOptions, 'overwrite' | 'warn'>): GuardResult {
  for (const n of d.cat.notes) o.warn(n)
  const ds = d.existing
  if (!ds || d.replay) return {existed: Boolean(ds)}
  const what = ds.tables.length ? `table ${ds.tables.map((x) => `training_test_datasets.${x}`).join(', ')}, ${ds.records.toLocaleString('en-US')} record${ds.records === 1 ? '' : 's'}` : `${ds.files?.files ?? 0} file${ds.files?.files === 1 ? '' : 's'} in /data/shared/${ds.name}`
  if (o.overwrite) return {existed: true, removal: {name: ds.name, what, why: 'overwrite'}}
  if (leftByFailedRun(d, ds)) return {existed: true, removal: {name: ds.name, what, why: 'failed-run'}}
  throw new CliError(`dataset "${ds.name}" already exists in namespace "${d.namespace}" (${what}); pushing again would not merge or replace it`, {
    exitCode: ExitCode.TABLE_EXISTS,
    hint: `re-run with --overwrite to replace it, remove it first with \`tracebloc dataset delete ${ds.name}\`, or pick another --table`,
    reason: 'table_exists',
  })
}

/** An empty table, no files under /data/shared/<name>, and no ingestion of it running: what a failed run leaves. */
function leftByFailedRun(d: Destination, ds: Dataset): boolean {
  return ds.tables.length > 0 && ds.records === 0 && ds.files !== undefined && ds.files.files === 0 && !d.running
}

/** The plan's line for a removal (shown before anything is removed or uploaded). */
export function removalLine(r: Removal, dryRun: boolean): string {
  const verb = dryRun ? 'would be removed (dry run: nothing removed)' : 'is removed before the upload'
  return r.why === 'overwrite'
    ? `--overwrite: the existing dataset "${r.name}" (${r.what}) ${verb}`
    : `"${r.name}" is an empty table a failed run left (${r.what}): it ${verb} and this push loads the data`
}

/** Removes the dataset as `dataset delete` does, keeping the staged copy (this push swaps its own files into it). */
export async function removeDestination(t: ClusterTarget, d: Destination, r: Removal, o: GuardOptions): Promise<TeardownResult> {
  const ds = d.existing!
  o.onStatus?.(`removing ${r.what}`)
  const replaced = await teardown(t, planTeardown(d.cat, ds, ds.tables, {keepStaged: true}), {
    mysqlPod: d.cat.mysqlPod,
    serviceAccount: o.serviceAccount,
    image: o.stageImage,
    podReadyTimeoutMs: o.podReadyTimeoutMs,
    signal: o.signal,
    onStatus: o.onStatus,
  }).catch((error: unknown) => {
    if (!(error instanceof CliError)) throw error
    throw new CliError(`${r.why === 'overwrite' ? '--overwrite: ' : ''}${error.message}; nothing new was uploaded`, {exitCode: error.exitCode, hint: error.hint ?? `remove it with \`tracebloc dataset delete ${ds.name}\`, then push again`, reason: error.reason, cause: error})
  })
  for (const w of replaced.warnings) o.warn(w)
  return replaced
}

/** What the removal step's title says once done. */
export function removedTitle(r: Removal, replaced: TeardownResult): string {
  const partial = replaced.removedPaths.filter((p) => /\.(?:staging|old)-[^/]*$/.test(p))
  return `Removed ${r.why === 'overwrite' ? 'the existing dataset' : 'the empty table'} "${r.name}" (${r.what})${partial.length ? `, with the partial staged cop${partial.length > 1 ? 'ies' : 'y'} ${partial.join(', ')}` : ''}`
}
