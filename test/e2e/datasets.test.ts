// dataset list / show / delete and push's destination check against the sandbox, whose mysql-client pod
// runs a real MariaDB and whose ingestor writes real tables, journal rows and files. Every assertion on
// data is checked against the database itself (sb.mysql.query), never against a stand-in.
import assert from 'node:assert/strict'
import {existsSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {afterEach, describe, test} from 'node:test'

import {CATS_DOGS, leftovers, runCli, SAMPLES, sandboxPerFile} from './push-cli.js'

const sandbox = sandboxPerFile()
const TABULAR = `${SAMPLES}/tabular_classification/tabular_classification_sample_in_csv_format.csv`
const TABULAR_ROWS = 8
const env = {TRACEBLOC_STAGE_POD_TIMEOUT: '20', TRACEBLOC_POD_START_TIMEOUT: '20'}

afterEach(() => {
  assert.deepEqual(leftovers(sandbox()).pods, [], 'no stage or teardown pod may be left behind')
})

const cli = (args: string[], user?: string) => {
  const sb = sandbox()
  return runCli([...args, '--kubeconfig', sb.kubeconfigPath, ...(user ? ['--context', `sandbox-${user}`] : [])], {env})
}
const pushTabular = (table: string, extra: string[] = []) => cli(['dataset', 'push', TABULAR, '--table', table, '--category', 'tabular_classification', '--json', ...extra])
const pushImages = (table: string, extra: string[] = []) => cli(['dataset', 'push', CATS_DOGS, '--table', table, '--category', 'image_classification', '--label-column', 'label', '--json', ...extra])

async function count(table: string): Promise<number> {
  return Number((await sandbox().mysql.query(`SELECT COUNT(*) FROM training_test_datasets.\`${table}\``)).trim())
}
async function tables(): Promise<string[]> {
  const out = await sandbox().mysql.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'training_test_datasets' ORDER BY 1")
  return out.split('\n').filter(Boolean)
}
async function journal(table: string): Promise<string[]> {
  return (await sandbox().mysql.query(`SELECT ingestor_id FROM training_test_datasets.tracebloc_ingest_runs WHERE table_name = '${table}'`)).split('\n').filter(Boolean)
}
const detail = (doc: any, name: string) => doc.details.find((d: any) => d.name === name)
const nonEmpty = (dir: string) => existsSync(dir) && readdirSync(dir).length > 0

describe('push → list → show → push again → --overwrite → delete', () => {
  test('a tabular dataset: list shows its record count, show its columns; a second push stops with 6 before any upload; --overwrite replaces it without duplicating rows', async () => {
    const sb = sandbox()
    const first = await pushTabular('churn')
    assert.equal(first.code, 0, first.stderr)
    assert.equal(await count('churn'), TABULAR_ROWS)

    const list = await cli(['dataset', 'list', '--json'])
    assert.equal(list.code, 0, list.stderr)
    // other cases of this file may have run first (any order, or one case alone): churn is one of the list
    assert.ok(list.json.datasets.includes('churn'), list.json.datasets.join(', '))
    assert.equal(list.json.count, list.json.datasets.length)
    const d = detail(list.json, 'churn')
    assert.equal(d.records, TABULAR_ROWS)
    assert.equal(d.task, 'tabular_classification')
    assert.equal(d.modality, 'Tabular')
    assert.equal(d.intent, 'train')
    assert.equal(d.size_known, true)
    // Go CLI fields are all there, arrays never null
    for (const k of ['namespace', 'release', 'count', 'datasets', 'details']) assert.ok(k in list.json, k)

    const show = await cli(['dataset', 'show', 'CHURN', '--json'])
    assert.equal(show.code, 0, show.stderr)
    assert.equal(show.json.name, 'churn')
    assert.equal(show.json.records, TABULAR_ROWS)
    assert.deepEqual(show.json.columns.slice(0, 3).map((c: any) => c.name), ['id', 'created_at', 'updated_at'])
    assert.equal(show.json.labels.reduce((n: number, l: any) => n + l.count, 0), TABULAR_ROWS)
    assert.equal(show.json.runs.length, 1)
    assert.equal(show.json.runs[0].registered, true)
    assert.equal(show.json.jobs.length, 1)

    const again = await pushTabular('churn')
    assert.equal(again.code, 6, again.stderr)
    assert.equal(again.json.reason, 'table_exists')
    assert.match(again.json.hint, /--overwrite/)
    assert.match(again.json.hint, /dataset delete churn/)
    assert.equal(again.json.staged, undefined, 'nothing may be uploaded')
    assert.equal(again.json.timings.stage_ms, undefined)
    assert.equal(existsSync(path.join(sb.pvcDir, '.tracebloc-staging', 'churn')), false)

    const before = await journal('churn')
    const over = await pushTabular('churn', ['--overwrite'])
    assert.equal(over.code, 0, over.stderr)
    assert.ok(over.json.warnings.some((w: string) => /removed the existing dataset "churn"/.test(w)), over.json.warnings.join('\n'))
    assert.equal(await count('churn'), TABULAR_ROWS, 'replaced, not appended')
    const after = await journal('churn')
    assert.equal(after.length, 1)
    assert.notDeepEqual(after, before)
  })

  test('an image dataset: --overwrite keeps the record count and the files; delete removes table, bookkeeping, files and staged copy', async () => {
    const sb = sandbox()
    const first = await pushImages('pets')
    assert.equal(first.code, 0, first.stderr)
    const rows = await count('pets')
    assert.ok(rows > 0)
    assert.ok(nonEmpty(path.join(sb.pvcDir, 'pets')))

    const over = await pushImages('pets', ['--overwrite'])
    assert.equal(over.code, 0, over.stderr)
    assert.equal(await count('pets'), rows)
    const listed = detail((await cli(['dataset', 'list', '--json'])).json, 'pets')
    assert.equal(listed.records, rows)
    assert.equal(listed.modality, 'Image')
    assert.equal(listed.files.count, readdirSync(path.join(sb.pvcDir, 'pets')).length)

    const dry = await cli(['dataset', 'delete', 'pets', '--dry-run', '--json'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.equal(dry.json.status, 'dry-run')
    assert.deepEqual(dry.json.pvc_paths, ['/data/shared/pets', '/data/shared/.tracebloc-staging/pets'])
    assert.ok((await tables()).includes('pets'), 'a dry run removes nothing')

    const noYes = await cli(['dataset', 'delete', 'pets', '--json'])
    assert.equal(noYes.code, 3)
    assert.match(noYes.json.hint, /--yes/)

    const del = await cli(['data', 'rm', 'pets', '--yes', '--json'])
    assert.equal(del.code, 0, del.stderr)
    assert.equal(del.json.status, 'deleted')
    assert.equal(del.json.bookkeeping_cleaned, true)
    assert.equal((await tables()).includes('pets'), false)
    assert.deepEqual(await journal('pets'), [])
    assert.equal(existsSync(path.join(sb.pvcDir, 'pets')), false)
    assert.equal((await cli(['data', 'list', '--json'])).json.datasets.includes('pets'), false)
  })

  test('delete of a missing name exits 5 naming the nearest datasets', async () => {
    // a dataset of its own, so the case passes alone and in any order
    if (!(await cli(['dataset', 'list', '--json'])).json.datasets.includes('accounts')) assert.equal((await pushTabular('accounts')).code, 0)
    const r = await cli(['dataset', 'delete', 'acounts', '--yes', '--json'])
    assert.equal(r.code, 5, r.stderr)
    assert.equal(r.json.reason, 'dataset_not_found')
    assert.match(r.json.hint, /"accounts"/)
  })
})

describe('names that could inject are refused before anything reaches the cluster', {concurrency: true}, () => {
  for (const name of ['x`; DROP TABLE churn; --', "churn' OR '1'='1", 'churn;rm -rf /', '\u0441hurn' /* Cyrillic es */, 'churn\u212a' /* Kelvin sign */, '../churn', 'churn\nx']) {
    test(`${JSON.stringify(name)} → exit 2`, async () => {
      // an unreadable kubeconfig would be exit 3: exit 2 proves the name was refused first
      const r = await runCli(['dataset', 'delete', name, '--yes', '--kubeconfig', '/nonexistent/kubeconfig', '--json'])
      assert.equal(r.code, 2, r.stdout + r.stderr)
      assert.equal(r.json.reason, 'invalid_name')
    })
  }

  test('the same command with a valid name does go on to the kubeconfig (exit 3)', async () => {
    const r = await runCli(['dataset', 'delete', 'ds_', '--yes', '--kubeconfig', '/nonexistent/kubeconfig', '--json'])
    assert.equal(r.code, 3, r.stdout + r.stderr)
  })

  test('a look-alike of an existing dataset does not resolve to it', async () => {
    const r = await cli(['dataset', 'show', 'churn\u212a', '--json'])
    assert.equal(r.code, 2)
    assert.match(r.json.error, /U\+212A/)
  })
})

describe('RBAC: the missing verb is named before anything runs (exit 7)', {concurrency: true}, () => {
  test('list without pods/exec', async () => {
    const r = await cli(['dataset', 'list', '--json'], 'no-exec')
    assert.equal(r.code, 7, r.stderr)
    assert.equal(r.json.reason, 'rbac_denied')
    assert.match(r.json.error, /create pods\/exec \(to run mysql in the mysql-client pod\)/)
  })
  test('delete as a read-only user', async () => {
    const r = await cli(['dataset', 'delete', 'churn', '--yes', '--json'], 'reader')
    assert.equal(r.code, 7, r.stderr)
    assert.match(r.json.error, /create pods \(to start the pod that removes the files\)/)
  })
})

describe('MySQL failures', () => {
  test('a wrong root password (the rotation window) has its own message; MySQL down → exit 7 for list and for push, nothing uploaded', async () => {
    const sb = sandbox()
    await sb.mysql.query("ALTER USER 'root'@'localhost' IDENTIFIED BY 'rotated0'; ALTER USER 'root'@'%' IDENTIFIED BY 'rotated0'")
    try {
      const r = await cli(['dataset', 'list', '--json'])
      assert.equal(r.code, 7)
      assert.equal(r.json.reason, 'mysql_access_denied')
      assert.match(r.json.error, /ERROR 1045/)
      assert.ok(!r.stdout.includes(sb.mysql.password) && !r.stderr.includes(sb.mysql.password))
    } finally {
      const restore = `ALTER USER 'root'@'localhost' IDENTIFIED BY '${sb.mysql.password}'; ALTER USER 'root'@'%' IDENTIFIED BY '${sb.mysql.password}'`
      await new Promise<void>((resolve, reject) => {
        import('node:child_process').then(({spawn}) => {
          const socketDir = sb.kubelet.serviceSocketDir(sb.namespace, 'mysql-client')!
          const p = spawn('mysql', ['--no-defaults', '-S', 'mysqld.sock', '-uroot'], {cwd: socketDir, env: {...process.env, MYSQL_PWD: 'rotated0'}})
          p.on('close', (c) => (c === 0 ? resolve() : reject(new Error(`restore failed: ${c}`))))
          p.stdin.end(restore)
        }, reject)
      })
    }

    sb.faults.set({mysql: 'down'})
    try {
      const list = await cli(['dataset', 'list', '--json'])
      assert.equal(list.code, 7, list.stderr)
      assert.equal(list.json.reason, 'mysql_unavailable')
      assert.match(list.json.error, /no Running pod labelled app=mysql-client/)
      const push = await pushTabular('while_down')
      assert.equal(push.code, 7, push.stderr)
      assert.match(push.json.error, /cannot check whether "while_down" already exists/)
      assert.equal(push.json.staged, undefined)
      assert.equal(existsSync(path.join(sb.pvcDir, '.tracebloc-staging', 'while_down')), false)
    } finally {
      sb.faults.set({mysql: undefined})
      await waitForMysqlPod()
    }
  })
})

describe('what a failed ingestion leaves behind', () => {
  test('a validator-rejected run leaves an empty table: list shows it as such, the retry removes it and loads, delete clears it', async () => {
    const sb = sandbox()
    sb.faults.set({ingestor: 'validator-failure'})
    const failed = await pushImages('rejected')
    sb.faults.set({ingestor: undefined})
    assert.equal(failed.code, 9, failed.stderr)
    assert.equal(await count('rejected'), 0)
    const d = detail((await cli(['dataset', 'list', '--json'])).json, 'rejected')
    assert.equal(d.records, 0)
    // the failed run's staged copy stays for a retry, and is shown
    assert.equal(d.state, 'empty table + staged copy')
    const staged = readdirSync(path.join(sb.pvcDir, '.tracebloc-staging', 'rejected'), {recursive: true, withFileTypes: true}).filter((e) => e.isFile())
    assert.equal(d.staged.count, staged.length)
    // the leftover does not block the retry: it is removed (and said so) and the data loads
    const retry = await pushImages('rejected')
    assert.equal(retry.code, 0, retry.stdout + retry.stderr)
    assert.ok(retry.json.warnings.some((w: string) => /removed the empty table "rejected"/.test(w)), retry.json.warnings.join('\n'))
    assert.equal(await count('rejected'), 6)
    assert.equal((await cli(['dataset', 'delete', 'rejected', '--yes', '--json'])).code, 0)
    assert.equal((await tables()).includes('rejected'), false)
    assert.equal(existsSync(path.join(sb.pvcDir, '.tracebloc-staging', 'rejected')), false)
  })
})

describe('per-ingestion tables (ds_<hex>)', () => {
  test('list/show/delete map the physical tables to the dataset name; a second push stops with 6', async () => {
    const sb = sandbox()
    sb.faults.set({perIngestionTables: true})
    try {
      const first = await pushTabular('sales')
      assert.equal(first.code, 0, first.stderr)
      const physical = (await tables()).filter((t) => /^ds_[0-9a-f]{32}$/.test(t))
      assert.equal(physical.length, 1)
      assert.equal(await count(physical[0]), TABULAR_ROWS)
      assert.equal((await tables()).includes('sales'), false)

      const list = await cli(['dataset', 'list', '--json'])
      const d = detail(list.json, 'sales')
      assert.ok(d, JSON.stringify(list.json.datasets))
      assert.deepEqual(d.tables, physical)
      assert.equal(d.records, TABULAR_ROWS)
      assert.equal(d.per_ingestion, true)

      const again = await pushTabular('sales')
      assert.equal(again.code, 6, again.stderr)

      const del = await cli(['dataset', 'delete', 'sales', '--yes', '--json'])
      assert.equal(del.code, 0, del.stderr)
      assert.deepEqual(del.json.tables, physical)
      assert.equal((await tables()).includes(physical[0]), false)
      assert.deepEqual(await journal(physical[0]), [])
    } finally {
      sb.faults.set({perIngestionTables: false})
    }
  })
})

async function waitForMysqlPod(): Promise<void> {
  const sb = sandbox()
  for (let i = 0; i < 300; i++) {
    try {
      await sb.mysql.ready(100)
      return
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  throw new Error('mysql-client pod did not come back')
}
