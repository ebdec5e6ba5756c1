import {Args} from '@oclif/core'

import {BaseCommand} from '../../lib/command/base.js'
import {clusterFlags} from '../../lib/command/cluster-flags.js'
import {readCatalog, readTableDetail, resolveDataset} from '../../lib/catalog/catalog.js'
import {connectForDatasets} from '../../lib/catalog/connect.js'
import {sanitize, validateDatasetName} from '../../lib/catalog/names.js'
import {READ_PERMISSIONS} from '../../lib/catalog/permissions.js'
import {formatCell, iso, modality, state, table} from '../../lib/catalog/view.js'
import {style} from '../../lib/output/style.js'
import {ago, count, humanBytes, plural} from '../../lib/output/format.js'
import {SHARED_MOUNT, STAGING_ROOT} from '../../lib/pvc/paths.js'
import {RecentRuns} from '../../lib/runs/cache.js'

export default class DatasetShow extends BaseCommand<typeof DatasetShow> {
  static summary = 'Show one dataset in depth'
  static description =
    'Its columns and SQL types, records, the most frequent labels, category and intent, files on client-pvc, its ingestion runs ' +
    '(the ingestor’s journal and the cluster’s Jobs) and the staged copy if one is left. Exit 5 when no dataset has that name.'
  static examples = ['<%= config.bin %> dataset show cats_dogs_train', '<%= config.bin %> dataset show cats_dogs_train --json']
  static args = {name: Args.string({description: 'Dataset name (a ds_<hex> name shows that one per-ingestion table)', required: true})}
  static flags = {...clusterFlags}

  async run() {
    const f = this.flags
    const name = validateDatasetName(this.args.name)
    const conn = await connectForDatasets({kubeconfig: f.kubeconfig, context: f.context, namespace: f.namespace}, {permissions: READ_PERMISSIONS, pvc: false})
    const cat = await readCatalog(conn.target, conn.namespace, {pvc: true, jobs: true})
    const {dataset: d, tables} = resolveDataset(cat, name)
    const labels: Array<{label: string | null; count: number}> = []
    for (const tb of tables) {
      const info = cat.tables.find((x) => x.table === tb)
      for (const l of await readTableDetail(conn.target, conn.namespace, cat.mysqlPod, tb, Boolean(info?.columns.some((c) => c.name === 'label')))) {
        const have = labels.find((x) => x.label === l.label)
        if (have) have.count += l.count
        else labels.push({...l})
      }
    }
    labels.sort((a, b) => b.count - a.count)
    const runs = cat.journal.filter((r) => tables.includes(r.table)).map((r) => ({ingestor_id: r.ingestorId, table: r.table, registered: r.registered, task: r.task ?? null, started: iso(r.startedEpoch) ?? null}))
    const jobs = cat.jobs
      .filter((j) => (j.label !== undefined && j.label === d.name) || (j.physical !== undefined && tables.includes(j.physical)))
      .map((j) => ({job: j.job, idempotency_key: j.key ?? null, status: j.status, started: j.startTime ?? null, finished: j.completionTime ?? null, table: j.physical ?? null}))
    // a push from a store records its URL (no query string) in this machine's recent-run cache
    const recent = RecentRuns.load(this.config.cacheDir)
    const sources = [...new Set(jobs.map((j) => (j.idempotency_key ? recent.find(conn.target.context, (r) => r.key === j.idempotency_key)?.dataset_source : undefined)).filter((x): x is string => Boolean(x)))]
    const doc = {
      name: d.name,
      source: sources[0] ?? null,
      namespace: conn.namespace,
      release: conn.release.release,
      database: 'training_test_datasets',
      tables,
      per_ingestion: d.perIngestion,
      category: d.task ?? null,
      modality: modality(d),
      intent: d.intent ?? null,
      records: d.records,
      classes: d.classes ?? null,
      format: formatCell(d),
      columns: d.columns.map((c) => ({name: c.name, type: c.type})),
      labels: labels.slice(0, 20),
      files: d.files ? {path: tables.length ? tables.map((t) => `${SHARED_MOUNT}/${t}`) : [`${SHARED_MOUNT}/${d.name}`], count: d.files.files, bytes: d.files.kib * 1024} : null,
      staged: d.staged ? {path: `${STAGING_ROOT}/${d.name}`, count: d.staged.files, bytes: d.staged.kib * 1024} : null,
      partial_staged: d.partials.map((p) => ({path: `${STAGING_ROOT}/${d.name}${p.suffix}`, count: p.files, bytes: p.kib * 1024})),
      size_bytes: d.sizeKnown ? (d.sizeBytes ?? 0) : null,
      ingested: iso(d.ingestedEpoch) ?? null,
      state: state(d),
      runs,
      jobs,
      notes: [...conn.notes, ...cat.notes],
    }
    for (const n of doc.notes) this.note(style.dim(`note: ${n}`))
    this.out(style.bold(sanitize(d.name)) + (d.perIngestion ? style.dim(`  (per-ingestion: ${tables.join(', ')})`) : ''))
    const kv = (k: string, v: string) => this.out(`  ${k.padEnd(10)} ${v}`)
    kv('category', `${d.task ?? '—'} (${modality(d)})`)
    kv('intent', d.intent ?? '—')
    kv('records', `${count(d.records)}${d.classes ? ` · ${plural(d.classes, 'label value')}` : ''}`)
    kv('state', state(d))
    kv('table', tables.length ? tables.map((t) => `training_test_datasets.${t}`).join(', ') : '— (files only)')
    kv('files', d.files ? `${plural(d.files.files, 'file')}, ${humanBytes(d.files.kib * 1024)} in ${doc.files!.path.join(', ')}` : d.pvcKnown ? 'none' : 'unknown (client-pvc could not be inspected)')
    kv('staged', d.staged ? `${plural(d.staged.files, 'file')}, ${humanBytes(d.staged.kib * 1024)} in ${doc.staged!.path}` : d.pvcKnown ? 'none' : 'unknown')
    for (const p of doc.partial_staged) kv('partial', `${plural(p.count, 'file')}, ${humanBytes(p.bytes)} in ${p.path} (left by an interrupted push; dataset delete removes it)`)
    if (sources.length) kv('source', sources.map(sanitize).join(', '))
    kv('ingested', d.ingestedEpoch ? `${doc.ingested} (${ago(d.ingestedEpoch)})` : '—')
    if (d.columns.length) {
      this.out('')
      this.out(style.bold('Columns'))
      for (const l of table(['NAME', 'TYPE'], d.columns.map((c) => [c.name, c.type]))) this.out(`  ${l}`)
    }
    if (labels.length) {
      this.out('')
      this.out(style.bold(`Labels${labels.length >= 20 ? ' (top 20)' : ''}`))
      for (const l of table(['LABEL', 'RECORDS'], labels.slice(0, 20).map((x) => [x.label ?? '(null)', count(x.count)]))) this.out(`  ${l}`)
    }
    if (runs.length || jobs.length) {
      this.out('')
      this.out(style.bold('Ingestion runs'))
      if (runs.length) for (const l of table(['INGESTOR ID', 'TABLE', 'REGISTERED', 'STARTED'], runs.map((r) => [r.ingestor_id, r.table, r.registered ? 'yes' : 'no', r.started ?? '—']))) this.out(`  ${l}`)
      if (jobs.length) for (const l of table(['JOB', 'STATUS', 'STARTED', 'FINISHED'], jobs.map((j) => [j.job, j.status, j.started ?? '—', j.finished ?? '—']))) this.out(`  ${l}`)
    }
    return doc
  }
}
