// Names the CLI reads from the cluster, client-pvc or its own cache are not trusted: against the sandbox,
// a run's ingest-config ConfigMap, a cancel Event and the recent-run cache are edited to name a table that
// steps out of its directory, and delete / cancel must refuse without removing anything. Also: the partial
// staged copies interrupted pushes leave are shown, listed and removed, and names are printed escaped.
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {CATS_DOGS, runCli, SAMPLES, sandboxPerFile} from './push-cli.js'

const sandbox = sandboxPerFile()
const TABULAR = `${SAMPLES}/tabular_classification/tabular_classification_sample_in_csv_format.csv`
const JOBS = {group: 'batch', version: 'v1', resource: 'jobs'}
const CONFIGMAPS = {group: '', version: 'v1', resource: 'configmaps'}
const EVENTS = {group: '', version: 'v1', resource: 'events'}
const homes: string[] = []
after(() => {
  for (const h of homes) rmSync(h, {recursive: true, force: true})
})

function cacheHome(): string {
  const home = mkdtempSync(path.join(os.tmpdir(), 'tb-planted-cache-'))
  homes.push(home)
  return home
}

const env = (home = cacheHome()) => ({XDG_CACHE_HOME: home, TRACEBLOC_STAGE_POD_TIMEOUT: '30', TRACEBLOC_POD_START_TIMEOUT: '30'})
const cli = (args: string[], e: Record<string, string> = env()) => runCli([...args, '--kubeconfig', sandbox().kubeconfigPath], {env: e})
const pushTabular = (table: string, extra: string[] = []) => cli(['dataset', 'push', TABULAR, '--table', table, '--category', 'tabular_classification', '--json', ...extra])
const pushImages = (table: string, extra: string[] = []) => cli(['dataset', 'push', CATS_DOGS, '--table', table, '--category', 'image_classification', '--label-column', 'label', '--json', ...extra])

/** Every file under client-pvc, relative: what a planted name must not take away. */
function pvcFiles(): string[] {
  const dir = sandbox().pvcDir
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort()
}

/** Rewrite `table:` in the ingest-config ConfigMap of the run with this key. */
function plantConfigMapTable(key: string, table: string): string {
  const sb = sandbox()
  const job = sb.store.list(JOBS, {namespace: sb.namespace, labelSelector: `tracebloc.io/ingestion-run=${key}`}).items[0]
  assert.ok(job, `no Job for run ${key}`)
  const cm = job.spec.template.spec.volumes.find((v: any) => v.configMap?.name?.startsWith('ingest-config-')).configMap.name
  sb.store.update(CONFIGMAPS, sb.namespace, cm, (o) => {
    o.data['ingest.yaml'] = o.data['ingest.yaml'].replace(/^table:.*$/m, `table: ${JSON.stringify(table)}`)
  })
  return job.metadata.name
}

/**
 * A victim file where the old lock path of the planted table `x/../victim/data` lands
 * (/data/shared/.tracebloc-ingest-x/../victim/data.lock), written as a lock whose holder pod is gone:
 * `cancel --clear-lock` on a name taken on trust would remove it.
 */
const PLANTED = 'x/../victim/data'
function plantVictim(): string {
  const dir = sandbox().pvcDir
  mkdirSync(path.join(dir, '.tracebloc-ingest-x'), {recursive: true})
  mkdirSync(path.join(dir, 'victim'), {recursive: true})
  const file = path.join(dir, 'victim', 'data.lock')
  writeFileSync(file, JSON.stringify({hostname: 'long-gone-pod', started_at: new Date().toISOString()}))
  return file
}

describe('a planted table name is refused before it reaches a path', () => {
  test('delete: a ds_ table whose ConfigMap names "../../shared" → exit 7, nothing removed, every other file on client-pvc untouched', async () => {
    const sb = sandbox()
    const other = await pushImages('pets')
    assert.equal(other.code, 0, other.stderr)
    sb.faults.set({perIngestionTables: true})
    try {
      const p = await pushTabular('sales')
      assert.equal(p.code, 0, p.stderr)
      const tables = (await sb.mysql.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'training_test_datasets'")).split('\n').filter((t) => /^ds_[0-9a-f]{32}$/.test(t))
      assert.equal(tables.length, 1)
      const ds = tables[0]
      // ../pets is the other dataset's folder; ../../shared the whole volume where `..` leaves the mount
      for (const planted of ['../pets', '../../shared']) {
        plantConfigMapTable(p.json.idempotency_key, planted)
        const before = pvcFiles()
        assert.ok(before.some((f) => f.startsWith('pets/')), 'the other dataset has files')
        const del = await cli(['dataset', 'delete', ds, '--yes', '--json'])
        assert.equal(del.code, 7, del.stdout + del.stderr)
        assert.equal(del.json.reason, 'untrusted_name')
        assert.ok(del.json.error.includes(`${JSON.stringify(planted)} read from ConfigMap`), del.json.error)
        assert.match(del.json.error, /nothing was removed/)
        assert.deepEqual(pvcFiles(), before, 'no file on client-pvc may go')
        const left = await sb.mysql.query(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'training_test_datasets' AND table_name = '${ds}'`)
        assert.equal(left.trim(), '1', 'the table stays')
      }
      const dry = await cli(['dataset', 'delete', ds, '--dry-run', '--json'])
      assert.equal(dry.code, 7, 'a dry run refuses too: it would show a path that is not the dataset')

      // list keeps working, shows the table by its physical name and says why
      const list = await cli(['dataset', 'list', '--json'])
      assert.equal(list.code, 0, list.stderr)
      assert.ok(list.json.datasets.includes(ds), JSON.stringify(list.json.datasets))
      assert.ok(!list.json.datasets.includes('../../shared'))
      assert.ok(list.json.notes.some((n: string) => /ignoring the table name "\.\.\/\.\.\/shared"/.test(n)), JSON.stringify(list.json.notes))

      // an escape sequence planted in the name is printed escaped, never sent to the terminal
      plantConfigMapTable(p.json.idempotency_key, 'cats\r\u001b[2K\u001b[1Adogs\u202e')
      const text = await cli(['dataset', 'list'])
      assert.equal(text.code, 0, text.stderr)
      const out = text.stdout + text.stderr
      assert.doesNotMatch(out, /[\u001b\r\u202e]/) // eslint-disable-line no-control-regex
      assert.ok(out.includes('"cats\\r\\x1b[2K\\x1b[1Adogs\\u{202E}"'), out)
    } finally {
      sb.faults.set({perIngestionTables: false})
    }
  })

  test('cancel: a table planted in the running Job\'s ConfigMap → exit 7, the Job is not deleted and the file its lock path points at stays', async () => {
    const sb = sandbox()
    sb.faults.set({ingestorSlowMs: 2500})
    try {
      const p = await pushTabular('slow_run', ['--detach'])
      assert.equal(p.code, 0, p.stdout + p.stderr)
      const job = plantConfigMapTable(p.json.idempotency_key, PLANTED)
      const victim = plantVictim()
      const c = await cli(['dataset', 'cancel', p.json.idempotency_key, '--clear-lock', '--yes', '--json'])
      assert.equal(c.code, 7, c.stdout + c.stderr)
      assert.equal(c.json.reason, 'untrusted_name')
      assert.match(c.json.error, /"x\/\.\.\/victim\/data" read from ConfigMap/)
      assert.ok(sb.store.get(JOBS, sb.namespace, job), 'the Job is still there')
      assert.ok(existsSync(victim))
      // the runs listing shows the run with the name marked invalid
      const runs = await cli(['dataset', 'runs', '--json'])
      const r = runs.json.runs.find((x: any) => x.key === p.json.idempotency_key)
      assert.equal(r.table, undefined)
      assert.deepEqual(r.untrusted_table, {name: PLANTED, from: r.untrusted_table.from})
      // cleanup: the real cancel once the name is back
      plantConfigMapTable(p.json.idempotency_key, 'slow_run')
      assert.equal((await cli(['dataset', 'cancel', p.json.idempotency_key, '--yes', '--json'])).code, 0)
    } finally {
      sb.faults.clear()
    }
  })

  test('cancel: a table planted in a cancel Event\'s annotation → exit 7, the file its lock path points at stays', async () => {
    const sb = sandbox()
    const key = 'planted-event-run'
    sb.store.create(EVENTS, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {name: 'ingest-planted.1', namespace: sb.namespace, labels: {'tracebloc.io/ingestion-run': key}, annotations: {'tracebloc.io/table': PLANTED}},
      involvedObject: {apiVersion: 'batch/v1', kind: 'Job', name: 'ingest-planted', namespace: sb.namespace},
      reason: 'IngestionCancelled',
      message: 'cancelled',
      type: 'Normal',
      lastTimestamp: new Date().toISOString(),
    })
    const victim = plantVictim()
    const c = await cli(['dataset', 'cancel', key, '--clear-lock', '--yes', '--json'])
    assert.equal(c.code, 7, c.stdout + c.stderr)
    assert.equal(c.json.reason, 'untrusted_name')
    assert.match(c.json.error, /read from Event /)
    assert.ok(existsSync(victim))
  })

  test('cancel: a table planted in the local recent-run cache → exit 7, the file its lock path points at stays', async () => {
    const home = cacheHome()
    mkdirSync(path.join(home, 'tracebloc'), {recursive: true})
    // recorded for this very cluster (the cache is keyed by its kube-system UID), so cancel takes it as "my last run"
    const cluster = sandbox().store.list({group: '', version: 'v1', resource: 'namespaces'}, {}).items.find((n) => n.metadata.name === 'kube-system')?.metadata.uid
    const run = {key: 'planted-cache-run', table: PLANTED, namespace: 'tracebloc', context: 'sandbox', cluster, job_name: 'ingest-gone', submitted_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), cancelled_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')}
    writeFileSync(path.join(home, 'tracebloc', 'recent-runs.json'), JSON.stringify({version: 1, runs: [run]}))
    const victim = plantVictim()
    const c = await cli(['dataset', 'cancel', '--clear-lock', '--yes', '--json'], env(home))
    assert.equal(c.code, 7, c.stdout + c.stderr)
    assert.equal(c.json.reason, 'untrusted_name')
    assert.match(c.json.error, /read from the recent-run cache/)
    assert.ok(existsSync(victim))
  })
})

describe('partial staged copies: shown, listed and removed with the dataset', () => {
  const staging = () => path.join(sandbox().pvcDir, '.tracebloc-staging')
  const plantDir = (name: string) => {
    mkdirSync(path.join(staging(), name), {recursive: true})
    writeFileSync(path.join(staging(), name, 'row.jpg'), 'personal data')
  }

  test('delete removes and names <name>.staging-* and <name>.old-* next to the staged copy; list shows them', async () => {
    const p = await pushImages('faces')
    assert.equal(p.code, 0, p.stderr)
    plantDir('faces.staging-resume')
    plantDir('faces.old-1a2b3c4d')
    plantDir('faces_v2.old-1a2b3c4d') // another dataset's: must stay

    const list = await cli(['dataset', 'list', '--json'])
    const d = list.json.details.find((x: any) => x.name === 'faces')
    assert.deepEqual(d.partial_staged.map((x: any) => x.path).sort(), ['/data/shared/.tracebloc-staging/faces.old-1a2b3c4d', '/data/shared/.tracebloc-staging/faces.staging-resume'])
    assert.match(d.state, /partial staged copies/)

    const del = await cli(['dataset', 'delete', 'faces', '--yes', '--json'])
    assert.equal(del.code, 0, del.stdout + del.stderr)
    for (const p of ['/data/shared/.tracebloc-staging/faces.staging-resume', '/data/shared/.tracebloc-staging/faces.old-1a2b3c4d']) {
      assert.ok(del.json.pvc_paths.includes(p), p)
      assert.ok(del.json.removed_paths.includes(p), p)
    }
    assert.deepEqual(readdirSync(staging()).filter((e) => e.startsWith('faces')), ['faces_v2.old-1a2b3c4d'])
  })

  test('a name with only staged copies (no table, no files) is listed and can be deleted', async () => {
    plantDir('ghost')
    plantDir('ghost.old-0badc0de')
    const list = await cli(['dataset', 'list', '--json'])
    assert.equal(list.code, 0, list.stderr)
    const d = list.json.details.find((x: any) => x.name === 'ghost')
    assert.ok(d, JSON.stringify(list.json.datasets))
    assert.equal(d.staged_only, true)
    assert.equal(d.state, 'staged copy + partial staged copy only (no table)')
    const text = await cli(['dataset', 'list'])
    assert.match(text.stdout, /^ghost\s.*staged copy \+ partial staged copy only \(no table\)/m)

    const del = await cli(['dataset', 'delete', 'ghost', '--yes', '--json'])
    assert.equal(del.code, 0, del.stdout + del.stderr)
    assert.equal(readdirSync(staging()).some((e) => e.startsWith('ghost')), false)
    assert.equal((await cli(['dataset', 'list', '--json'])).json.datasets.includes('ghost'), false)
  })

  test('push --overwrite removes and names the old dataset\'s partial copies', async () => {
    const p = await pushImages('scans')
    assert.equal(p.code, 0, p.stderr)
    plantDir('scans.old-00112233')
    plantDir('scans.staging-9f8e7d6c')
    const over = await pushImages('scans', ['--overwrite'])
    assert.equal(over.code, 0, over.stdout + over.stderr)
    const w = over.json.warnings.find((x: string) => /removed the existing dataset "scans"/.test(x))
    assert.match(w, /partial staged copies .*scans\.old-00112233/)
    assert.match(w, /scans\.staging-9f8e7d6c/)
    assert.equal(existsSync(path.join(staging(), 'scans.old-00112233')), false)
    assert.equal(existsSync(path.join(staging(), 'scans.staging-9f8e7d6c')), false)
  })
})
