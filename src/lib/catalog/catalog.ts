// What the client holds: the tables of training_test_datasets (docs/protocol.md#dataset-tables,
// #bookkeeping-tables; the Go CLI's queries: #mysql-access), their files on client-pvc, and for per-ingestion `ds_<hex>` tables the dataset name
// each belongs to (docs/protocol.md#per-ingestion-tables). That mapping is not stored in MySQL: it is read from the cluster's ingestion Jobs
// (the `table:` of each run's ingest config, the `Destination table:` / `Ingestor ID:` of its banner).
import {load as loadYaml} from 'js-yaml'

import {apiFailure, ClusterTarget, withApiRetry} from '../cluster/kube.js'
import {CliError, ExitCode} from '../output/errors.js'
import {isoSeconds} from '../output/format.js'
import {DATABASE, isTableName, nearestNames, PHYSICAL_RE, printable, qualifiedTable, RUNS_TABLE, sameName, sqlString, SYSTEM_TABLES} from './names.js'
import {findMysqlPod, MysqlTarget, query} from './mysql.js'
import {PARTIAL_SUFFIX_RE, SHARED_MOUNT, STAGING_DIR} from '../pvc/paths.js'

/** The 11 columns the ingestor puts in every dataset table (docs/protocol.md#dataset-tables). */
export const FRAMEWORK_COLUMNS = new Set(['id', 'created_at', 'updated_at', 'status', 'label', 'data_intent', 'data_id', 'filename', 'extension', 'annotation', 'ingestor_id'])

export interface Column {
  name: string
  type: string
}

export interface TableInfo {
  table: string
  createdEpoch: number
  dataLength: number
  columns: Column[]
  /** A dataset table: has data_id, a manageable name, not a bookkeeping table. */
  dataset: boolean
  system: boolean
  intent?: string
  records?: number
  classes?: number
  extension?: string
}

export interface JournalRun {
  ingestorId: string
  table: string
  registered: boolean
  task?: string
  startedEpoch: number
}

export interface IngestionJob {
  job: string
  key?: string
  /** The dataset name from the run's ingest config (only when it passes the table-name rule). */
  label?: string
  /** A `table:` in the run's ingest config that fails the table-name rule: never used, only reported. */
  badLabel?: {name: string; from: string}
  /** ds_<hex> from the banner (per-ingestion runs), when the logs still exist. */
  physical?: string
  ingestorId?: string
  status: 'running' | 'succeeded' | 'failed'
  startTime?: string
  completionTime?: string
}

export interface PvcEntry {
  kib: number
  files: number
}

export interface Dataset {
  /** The dataset name: the table in legacy mode, the label for per-ingestion tables (or ds_… when unknown). */
  name: string
  /** Physical tables, newest first (one in legacy mode; one per run under per-ingestion tables). */
  tables: string[]
  perIngestion: boolean
  /** For per-ingestion tables: false when no ingestion Job names the label any more. */
  labelKnown: boolean
  system: boolean
  task?: string
  intent?: string
  records: number
  classes?: number
  extension?: string
  columns: Column[]
  ingestedEpoch?: number
  sizeBytes?: number
  sizeKnown: boolean
  /** Files under /data/shared/<table>/ (undefined = could not look). */
  files?: PvcEntry
  /** The staged copy under /data/shared/.tracebloc-staging/<name>/. */
  staged?: PvcEntry
  /** Partial staged copies interrupted pushes left next to it (`<name>.staging-resume`, `<name>.old-…`), by suffix. */
  partials: Array<PvcEntry & {suffix: string}>
  /** Only staged copies on client-pvc: no table, no files under /data/shared/<name>. */
  stagedOnly?: boolean
  /** The ingestion Job that names this ds_ table's dataset gives a name that fails the table-name rule. */
  untrusted?: {name: string; from: string}
  /** Whether the PVC could be inspected at all. */
  pvcKnown: boolean
}

export interface Catalog {
  namespace: string
  mysqlPod: string
  databaseExists: boolean
  tables: TableInfo[]
  journal: JournalRun[]
  jobs: IngestionJob[]
  datasets: Dataset[]
  notes: string[]
}

const TABLES_SQL = `SELECT table_name, COALESCE(UNIX_TIMESTAMP(create_time), 0), COALESCE(data_length, 0) FROM information_schema.tables WHERE table_schema = ${sqlString(DATABASE)} ORDER BY table_name`
const COLUMNS_SQL = `SELECT table_name, column_name, column_type FROM information_schema.columns WHERE table_schema = ${sqlString(DATABASE)} ORDER BY table_name, ordinal_position`
const SCHEMA_SQL = `SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ${sqlString(DATABASE)}`

async function readTables(m: MysqlTarget): Promise<{exists: boolean; tables: TableInfo[]}> {
  const [schema, tables, columns] = await query(m, [
    {sql: SCHEMA_SQL, columns: 1},
    {sql: TABLES_SQL, columns: 3},
    {sql: COLUMNS_SQL, columns: 3},
  ])
  const cols = new Map<string, Column[]>()
  for (const [t, name, type] of columns) cols.set(t, [...(cols.get(t) ?? []), {name, type}])
  const infos = tables.map(([table, created, length]) => {
    const c = cols.get(table) ?? []
    const system = SYSTEM_TABLES.has(table)
    return {table, createdEpoch: Number(created) || 0, dataLength: Number(length) || 0, columns: c, system, dataset: !system && isTableName(table) && c.some((x) => x.name === 'data_id')}
  })
  return {exists: schema[0]?.[0] === '1', tables: infos}
}

/** Counts per dataset table and the journal, in one exec (retried once by the caller: a table may vanish). */
async function readCounts(m: MysqlTarget, infos: TableInfo[]): Promise<JournalRun[]> {
  const data = infos.filter((i) => i.dataset)
  const hasCol = (i: TableInfo, c: string) => i.columns.some((x) => x.name === c)
  const counts = data.map(
    (i) =>
      `SELECT ${sqlString(i.table)}, ${hasCol(i, 'data_intent') ? 'COALESCE(MAX(`data_intent`), \'\')' : "''"}, COUNT(*), ${hasCol(i, 'label') ? 'COUNT(DISTINCT `label`)' : '0'}, ${hasCol(i, 'extension') ? 'COALESCE(MAX(`extension`), \'\')' : "''"} FROM ${qualifiedTable(i.table)}`,
  )
  const journal = infos.find((i) => i.table === RUNS_TABLE)
  const journalSql = journal
    ? `SELECT ingestor_id, table_name, registered, ${hasCol(journal, 'task') ? "COALESCE(task, '')" : "''"}, COALESCE(UNIX_TIMESTAMP(started_at), 0) FROM ${qualifiedTable(RUNS_TABLE)} ORDER BY started_at, ingestor_id`
    : undefined
  const sections = [...(counts.length ? [{sql: counts.join('\nUNION ALL\n'), columns: 5}] : []), ...(journalSql ? [{sql: journalSql, columns: 5}] : [])]
  if (sections.length === 0) return []
  const res = await query(m, sections)
  if (counts.length) {
    for (const [table, intent, records, classes, ext] of res[0]) {
      const i = data.find((x) => x.table === table)
      if (!i) continue
      i.intent = intent || undefined
      i.records = Number(records)
      i.classes = Number(classes)
      i.extension = ext.replace(/^\./, '') || undefined
    }
  }
  const jrows = journalSql ? res[counts.length ? 1 : 0] : []
  return jrows.map(([ingestorId, table, registered, task, started]) => ({ingestorId, table, registered: registered === '1', task: task || undefined, startedEpoch: Number(started) || 0}))
}

/**
 * Sizes and file counts of /data/shared/* and everything in the staging root, from a pod that mounts
 * client-pvc. Records end in NUL, not newline: a directory name holding a newline cannot forge a record.
 * Symlinks are skipped (a link to / would have du walk the whole node).
 */
export const PVC_SCAN_SCRIPT = [
  `cd ${SHARED_MOUNT} 2>/dev/null || exit 0`,
  `for d in * ${STAGING_DIR}/*; do`,
  '  [ -d "$d" ] && [ ! -L "$d" ] || continue',
  '  k=$(du -sk "$d" 2>/dev/null | cut -f1); n=$(find "$d" -type f 2>/dev/null | wc -l)',
  '  printf "%s\\t%s\\t%s\\000" "${k:-0}" "$n" "$d"',
  'done',
].join('\n')

/** A scan entry's name: `<table>`, `.tracebloc-staging/<table>` or `.tracebloc-staging/<table>.staging-…|.old-…`; else undefined. */
function scanName(name: string): string | undefined {
  const staged = name.startsWith(`${STAGING_DIR}/`) ? name.slice(`${STAGING_DIR}/`.length) : undefined
  if (staged === undefined) return isTableName(name) ? name : undefined
  const dot = staged.indexOf('.')
  const table = dot === -1 ? staged : staged.slice(0, dot)
  if (!isTableName(table) || (dot !== -1 && !PARTIAL_SUFFIX_RE.test(staged.slice(dot)))) return undefined
  return name
}

export function parsePvcScan(out: string): Map<string, PvcEntry> {
  const m = new Map<string, PvcEntry>()
  for (const rec of out.split('\0')) {
    const r = /^(\d+)\t *(\d+) *\t([^\t]+)$/.exec(rec)
    const name = r ? scanName(r[3]) : undefined
    if (r && name) m.set(name, {kib: Number(r[1]), files: Number(r[2])})
  }
  return m
}

/** The jobs-manager pod mounts client-pvc: `du` there, like the Go CLI. Best effort (undefined = unknown). */
async function scanPvc(t: ClusterTarget, namespace: string, signal?: AbortSignal): Promise<Map<string, PvcEntry> | undefined> {
  try {
    const pods = await withApiRetry(() => t.core.listNamespacedPod({namespace, labelSelector: 'app=manager'}), {signal})
    const pod = pods.items.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp)
    if (!pod) return undefined
    const {execInPod} = await import('../cluster/exec.js')
    const r = await execInPod(t, {namespace, pod: pod.metadata!.name!, container: pod.spec?.containers?.[0]?.name, command: ['sh', '-c', PVC_SCAN_SCRIPT], signal})
    return r.exitCode === 0 ? parsePvcScan(r.stdout) : undefined
  } catch {
    return undefined
  }
}

const BANNER_ID = /Ingestor ID:\S*\s+([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/
const BANNER_DEST = /Destination table:\S*\s+(ds_[0-9a-f]{32})/

/** Ingestion Jobs (label tracebloc.io/ingestion-run), with the dataset name and, from the logs, the physical table. */
export async function ingestionJobs(t: ClusterTarget, namespace: string, opts: {logs: boolean; signal?: AbortSignal}): Promise<IngestionJob[]> {
  const jobs = await withApiRetry(() => t.batch.listNamespacedJob({namespace, labelSelector: 'tracebloc.io/ingestion-run'}), {signal: opts.signal})
  return Promise.all(
    jobs.items.map(async (j) => {
      const name = j.metadata!.name!
      const conds = j.status?.conditions ?? []
      const status: IngestionJob['status'] = conds.some((c) => c.type === 'Complete' && c.status === 'True') ? 'succeeded' : conds.some((c) => c.type === 'Failed' && c.status === 'True') ? 'failed' : 'running'
      const out: IngestionJob = {job: name, key: j.metadata?.labels?.['tracebloc.io/ingestion-run'], status, startTime: toIso(j.status?.startTime), completionTime: toIso(j.status?.completionTime)}
      const cm = j.spec?.template?.spec?.volumes?.find((v) => v.configMap?.name?.startsWith('ingest-config-'))?.configMap?.name
      if (cm) {
        try {
          const c = await t.core.readNamespacedConfigMap({name: cm, namespace})
          const doc = loadYaml(Object.values(c.data ?? {})[0] ?? '') as {table?: unknown} | null
          if (isTableName(doc?.table)) out.label = doc!.table as string
          else if (typeof doc?.table === 'string') out.badLabel = {name: doc.table, from: `ConfigMap ${namespace}/${cm} (the ingest config of Job ${name})`}
        } catch {
          // the per-run ConfigMap may be gone or unreadable: the label stays unknown
        }
      }
      if (opts.logs) {
        try {
          const pods = await t.core.listNamespacedPod({namespace, labelSelector: `job-name=${name}`})
          for (const p of pods.items) {
            const log = await t.core.readNamespacedPodLog({name: p.metadata!.name!, namespace, container: p.spec?.containers?.[0]?.name})
            const text = typeof log === 'string' ? log.replace(/\u001B\[[0-9;]*m/g, '') : '' // eslint-disable-line no-control-regex
            out.physical ??= BANNER_DEST.exec(text)?.[1]
            out.ingestorId ??= BANNER_ID.exec(text)?.[1]
          }
        } catch {
          // logs gone (pod deleted) or forbidden: the physical table stays unknown
        }
      }
      return out
    }),
  )
}

const toIso = (d: Date | string | undefined) => (d === undefined ? undefined : isoSeconds(d))

export interface CatalogOptions {
  signal?: AbortSignal
  /** Also scan client-pvc (sizes, files, staged copies). */
  pvc?: boolean
  /** Read ingestion Jobs even without ds_ tables (show: runs of the dataset). */
  jobs?: boolean
}

export async function readCatalog(t: ClusterTarget, namespace: string, o: CatalogOptions = {}): Promise<Catalog> {
  const pod = await findMysqlPod(t, namespace, o.signal)
  const m: MysqlTarget = {t, namespace, pod, signal: o.signal}
  const pvcScan = o.pvc ? scanPvc(t, namespace, o.signal) : Promise.resolve(undefined)
  let read = await readTables(m)
  let journal: JournalRun[]
  try {
    journal = await readCounts(m, read.tables)
  } catch (error) {
    // a table dropped between the two queries (a concurrent delete): read both again, once
    if (!(error instanceof CliError) || error.reason !== 'mysql_query_failed') throw error
    read = await readTables(m)
    journal = await readCounts(m, read.tables)
  }
  const notes: string[] = []
  const hasPhysical = read.tables.some((x) => PHYSICAL_RE.test(x.table))
  let jobs: IngestionJob[] = []
  if (hasPhysical || o.jobs) {
    try {
      jobs = await ingestionJobs(t, namespace, {logs: hasPhysical, signal: o.signal})
    } catch (error) {
      notes.push(`could not read the ingestion Jobs (${apiFailure(error).message}); per-ingestion tables are shown by their physical names`)
    }
  }
  const pvc = await pvcScan
  if (o.pvc && !pvc) notes.push('could not inspect client-pvc (no Running jobs-manager pod to run du in): file counts and sizes are unknown')
  for (const j of jobs) if (j.badLabel) notes.push(`ignoring the table name ${printable(j.badLabel.name)} in ${j.badLabel.from}: it is not a valid table name`)
  return {namespace, mysqlPod: pod, databaseExists: read.exists, tables: read.tables, journal, jobs, datasets: group(read.tables, journal, jobs, pvc), notes}
}

function group(tables: TableInfo[], journal: JournalRun[], jobs: IngestionJob[], pvc: Map<string, PvcEntry> | undefined): Dataset[] {
  // physical ds_ table → dataset name, from the Jobs' banners (Destination table, or ds_ + the ingestor id)
  const labelOf = new Map<string, string>()
  const untrustedOf = new Map<string, {name: string; from: string}>()
  for (const j of jobs) {
    const phys = j.physical ?? (j.ingestorId ? `ds_${j.ingestorId.replace(/-/g, '')}` : undefined)
    if (phys && j.label) labelOf.set(phys, j.label)
    if (phys && j.badLabel) untrustedOf.set(phys, j.badLabel)
  }
  const byName = new Map<string, Dataset>()
  for (const ti of tables) {
    const perIngestion = PHYSICAL_RE.test(ti.table)
    const label = perIngestion ? labelOf.get(ti.table) : undefined
    const name = label ?? ti.table
    const runs = journal.filter((r) => r.table === ti.table)
    const task = runs.filter((r) => r.task).at(-1)?.task
    const started = runs.at(-1)?.startedEpoch
    const ds: Dataset = byName.get(name) ?? {
      name,
      tables: [],
      perIngestion,
      labelKnown: !perIngestion || label !== undefined,
      system: !ti.dataset,
      records: 0,
      columns: ti.columns,
      sizeKnown: false,
      pvcKnown: pvc !== undefined,
      partials: [],
    }
    ds.tables.push(ti.table)
    if (perIngestion && untrustedOf.has(ti.table)) ds.untrusted ??= untrustedOf.get(ti.table)
    ds.records += ti.records ?? 0
    ds.task ??= task
    ds.intent ??= ti.intent
    ds.extension ??= ti.extension
    if (ti.classes !== undefined) ds.classes = Math.max(ds.classes ?? 0, ti.classes)
    const when = started || ti.createdEpoch || undefined
    if (when && (!ds.ingestedEpoch || when > ds.ingestedEpoch)) ds.ingestedEpoch = when
    const files = pvc?.get(ti.table)
    if (files) ds.files = {kib: (ds.files?.kib ?? 0) + files.kib, files: (ds.files?.files ?? 0) + files.files}
    else if (pvc && !ds.files) ds.files = {kib: 0, files: 0}
    // size: the files for a file dataset (du), the table's data_length for rows (as the Go CLI)
    if (ds.extension) {
      if (files) {
        ds.sizeBytes = (ds.sizeBytes ?? 0) + files.kib * 1024
        ds.sizeKnown = true
      }
    } else if ((ti.records ?? 0) > 0) {
      ds.sizeBytes = (ds.sizeBytes ?? 0) + ti.dataLength
      ds.sizeKnown = true
    }
    byName.set(name, ds)
  }
  // files without a table (an ingest that failed after copying, a dropped table): a dataset too, so
  // delete can remove them and push does not ingest on top of them
  const owned = new Set([...byName.values()].flatMap((d) => d.tables))
  for (const [dir, e] of pvc ?? []) {
    if (dir.startsWith('.') || owned.has(dir) || byName.has(dir) || !isTableName(dir) || e.files === 0) continue
    const physical = PHYSICAL_RE.test(dir)
    byName.set(dir, {name: dir, tables: [], perIngestion: physical, labelKnown: !physical, system: false, records: 0, columns: [], sizeBytes: e.kib * 1024, sizeKnown: true, files: e, pvcKnown: true, partials: []})
  }
  // staged copies, whole or partial, of a name with neither table nor files: shown so they can be deleted
  for (const key of pvc?.keys() ?? []) {
    if (!key.startsWith(`${STAGING_DIR}/`)) continue
    const name = key.slice(`${STAGING_DIR}/`.length).split('.')[0]
    if (byName.has(name)) continue
    byName.set(name, {name, tables: [], perIngestion: false, labelKnown: true, system: false, records: 0, columns: [], sizeBytes: 0, sizeKnown: true, files: {kib: 0, files: 0}, pvcKnown: true, partials: [], stagedOnly: true})
  }
  for (const ds of byName.values()) {
    const st = pvc?.get(`${STAGING_DIR}/${ds.name}`)
    if (st) ds.staged = st
    for (const [key, e] of pvc ?? []) {
      const prefix = `${STAGING_DIR}/${ds.name}.`
      if (key.startsWith(prefix)) ds.partials.push({...e, suffix: key.slice(prefix.length - 1)})
    }
    if (ds.stagedOnly) ds.sizeBytes = ((ds.staged?.kib ?? 0) + ds.partials.reduce((a, p) => a + p.kib, 0)) * 1024
    // newest physical table first
    ds.tables.sort((a, b) => (tables.find((x) => x.table === b)?.createdEpoch ?? 0) - (tables.find((x) => x.table === a)?.createdEpoch ?? 0))
  }
  return [...byName.values()].sort((a, b) => Number(a.system) - Number(b.system) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/**
 * The dataset a user-supplied (already validated) name means. A ds_<hex> name means that one physical
 * table; any other name means the dataset of that name (ASCII case-insensitive; the exact spelling wins
 * when two tables differ only in case). Unknown → exit 5 with the nearest existing names.
 */
export function resolveDataset(cat: Catalog, name: string): {dataset: Dataset; tables: string[]} {
  if (PHYSICAL_RE.test(name)) {
    const ds = cat.datasets.find((d) => d.tables.includes(name))
    if (ds && !ds.system) return {dataset: ds, tables: [name]}
    const orphan = cat.datasets.find((d) => d.name === name && d.tables.length === 0)
    if (orphan) return {dataset: orphan, tables: []}
  } else {
    const hits = cat.datasets.filter((d) => !d.system && d.labelKnown && sameName(d.name, name))
    const exact = hits.find((d) => d.name === name)
    if (exact) return {dataset: exact, tables: exact.tables}
    if (hits.length === 1) return {dataset: hits[0], tables: hits[0].tables}
    if (hits.length > 1) {
      throw new CliError(`${printable(name)} matches ${hits.length} datasets that differ only in case: ${hits.map((d) => d.name).join(', ')}`, {
        exitCode: ExitCode.BAD_INPUT,
        hint: 'give the exact spelling',
        reason: 'ambiguous_name',
      })
    }
  }
  throw notFound(cat, name)
}

export function notFound(cat: Catalog, name: string): CliError {
  const names = cat.datasets.filter((d) => !d.system).map((d) => d.name)
  const near = nearestNames(name, names)
  return new CliError(`no dataset named ${printable(name)} in namespace "${cat.namespace}"`, {
    exitCode: ExitCode.NO_DATASET,
    hint:
      names.length === 0
        ? 'this client has no datasets yet; push one with: tracebloc dataset push <folder> --table <name>'
        : near.length
          ? `did you mean ${near.map((n) => `"${n}"`).join(' or ')}? (all datasets: tracebloc dataset list)`
          : `datasets on this client: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}`,
    reason: 'dataset_not_found',
  })
}

/** Columns (name, type) and the 20 most frequent labels of one table, for `dataset show`. */
export async function readTableDetail(t: ClusterTarget, namespace: string, pod: string, table: string, hasLabel: boolean, signal?: AbortSignal): Promise<Array<{label: string | null; count: number}>> {
  if (!hasLabel) return []
  const [rows] = await query({t, namespace, pod, signal}, [
    {sql: `SELECT IF(\`label\` IS NULL, 1, 0), COALESCE(\`label\`, ''), COUNT(*) FROM ${qualifiedTable(table)} GROUP BY \`label\` ORDER BY 3 DESC, 2 LIMIT 20`, columns: 3},
  ])
  return rows.map(([isNull, label, n]) => ({label: isNull === '1' ? null : label, count: Number(n)}))
}
