// `dataset runs`, `dataset logs` and `dataset cancel` against the sandbox, as a user drives them: runs
// submitted with `push --detach`, the ingestor slowed down (fault ingestorSlowMs) so a run is still
// going while the commands act on it. The recent-run cache lives in a temp XDG_CACHE_HOME per test.
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {runCli, SAMPLES, sandboxPerFile} from './push-cli.js'
import {cliOnPty, hasPty} from './pty.js'
import {until} from '../helpers/until.js'

const sandbox = sandboxPerFile()
const CSV = path.join(SAMPLES, 'tabular_classification/tabular_classification_sample_in_csv_format.csv')
const JOBS = {group: 'batch', version: 'v1', resource: 'jobs'}
const PODS = {group: '', version: 'v1', resource: 'pods'}
const homes: string[] = []
after(() => {
  for (const h of homes) rmSync(h, {recursive: true, force: true})
})

/** A fresh cache home: each test is a different machine as far as "my last run" goes. */
function machine() {
  const home = mkdtempSync(path.join(os.tmpdir(), 'tb-runs-cache-'))
  homes.push(home)
  const env = {XDG_CACHE_HOME: home, TRACEBLOC_POD_START_TIMEOUT: '60'}
  const sb = sandbox()
  return {
    env,
    push: (table: string) => runCli(['dataset', 'push', CSV, '--table', table, '--category', 'tabular_classification', '--detach', '--json', '--kubeconfig', sb.kubeconfigPath], {env}),
    cli: (args: string[], opts: Parameters<typeof runCli>[1] = {}) => runCli([...args, '--kubeconfig', sb.kubeconfigPath], {...opts, env: {...env, ...opts.env}}),
  }
}

/** The CLI on a pseudo-terminal, answering its first `[y/N]` prompt. */
const onPty = (args: string[], env: Record<string, string>, answer: string) => cliOnPty(args, {env, prompt: '[y/N]', answers: [answer], idleSeconds: 90})

const jobPods = (job: string) => sandbox().store.list(PODS, {namespace: 'tracebloc', labelSelector: `job-name=${job}`}).items

test('push --detach → runs shows it running → Ctrl-C on logs leaves it running → logs re-attaches to the summary, exit 0', async () => {
  const sb = sandbox()
  const m = machine()
  sb.faults.set({ingestorSlowMs: 2500})
  try {
    const p = await m.push('runs_live')
    assert.equal(p.code, 0, p.stdout + p.stderr)
    assert.equal(p.json.status, 'detached')
    const key: string = p.json.idempotency_key
    const job: string = p.json.job_name
    assert.equal(p.json.follow_command, `tracebloc dataset logs ${key} -n tracebloc`)

    await until('the ingestor pod to run', () => jobPods(job).some((x) => x.status?.phase === 'Running'))
    const r0 = await m.cli(['dataset', 'runs', '--json'])
    assert.equal(r0.code, 0, r0.stdout + r0.stderr)
    const running = r0.json.runs.find((x: any) => x.key === key)
    assert.equal(running?.status, 'running', JSON.stringify(r0.json.runs))
    assert.equal(running.table, 'runs_live')
    assert.equal(running.category, 'tabular_classification')
    assert.equal(running.intent, 'train')
    assert.equal(running.job_name, job)

    // Ctrl-C while following: only the watching stops.
    const int = await m.cli(['dataset', 'logs'], {interrupt: {signal: 'SIGINT', when: (o) => o.includes('following logs of pod')}})
    assert.equal(int.code, 130, int.stdout + int.stderr)
    assert.match(int.stderr, new RegExp(`re-attach with: tracebloc dataset logs ${key} -n tracebloc`))
    const j = sb.store.get(JOBS, 'tracebloc', job)
    assert.ok(j && !j.metadata.deletionTimestamp, 'the Job is untouched')
    assert.ok(!j.status?.conditions?.some((c: any) => c.status === 'True'), `still running: ${JSON.stringify(j.status)} ${int.stderr}`)
    assert.equal(jobPods(job).filter((x) => x.status?.phase === 'Running').length, 1)

    // Re-attach (no argument = my last run) and follow to the end.
    const r = await m.cli(['dataset', 'logs', '--json'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(r.json.status, 'succeeded')
    assert.equal(r.json.key, key)
    assert.equal(r.json.summary.total_records, 8)
    assert.equal(r.json.summary.inserted_records, 8)
    assert.match(r.stderr, /INGESTION SUMMARY/, 'the live log lines go to stderr under --json')
    // the human table row of this run
    const human = await m.cli(['dataset', 'runs'])
    assert.match(human.stdout, /^.*runs_live\s+tabular_classification\s+train\s+succeeded\s+.*\s+ingest-job-\S+\s+8\/8$/m)

  } finally {
    sb.faults.clear()
  }
})

test('cancel on a running run: confirmation needed off a TTY, then Job and pod gone, status cancelled, lock reported and cleared', async (t) => {
  const sb = sandbox()
  const m = machine()
  sb.faults.set({ingestorSlowMs: 4000})
  const lock = path.join(sb.pvcDir, '.tracebloc-ingest-runs_cancel.lock')
  try {
    const p = await m.push('runs_cancel')
    assert.equal(p.code, 0, p.stdout + p.stderr)
    const key: string = p.json.idempotency_key
    const job: string = p.json.job_name
    await until('the ingestor to hold its table lock', () => existsSync(lock))

    const noYes = await m.cli(['dataset', 'cancel', 'runs_cancel', '--json'])
    assert.equal(noYes.code, 3, noYes.stdout + noYes.stderr)
    assert.equal(noYes.json.reason, 'confirmation_required')
    assert.ok(sb.store.get(JOBS, 'tracebloc', job), 'nothing was deleted without --yes')
    if (hasPty) {
      // On a terminal it asks; "n" leaves the run alone.
      const no = await onPty(['dataset', 'cancel', '--kubeconfig', sb.kubeconfigPath], m.env, 'n')
      assert.equal(no.code, 0, no.screen)
      assert.match(no.screen, new RegExp(`Cancel run ${key} \\(table runs_cancel, Job ${job}, running\\)\\? Rows already inserted stay\\. \\[y/N\\]`))
      assert.match(no.screen, /Not cancelled\./)
      assert.ok(sb.store.get(JOBS, 'tracebloc', job) && jobPods(job).length === 1, 'declined: the Job and its pod are untouched')
    } else {
      t.skip('python3 with pty is not installed: the terminal prompt was not checked')
    }

    const c = await m.cli(['dataset', 'cancel', 'runs_cancel', '--yes', '--json'])
    assert.equal(c.code, 0, c.stdout + c.stderr)
    assert.equal(c.json.status, 'cancelled')
    assert.equal(c.json.key, key)
    assert.equal(c.json.deleted_pods.length, 1)
    assert.equal(sb.store.get(JOBS, 'tracebloc', job), undefined)
    assert.deepEqual(jobPods(job), [])
    assert.equal(c.json.leftovers.lock.path, '/data/shared/.tracebloc-ingest-runs_cancel.lock')
    assert.equal(c.json.leftovers.lock.holder_alive, false)
    assert.match(c.json.leftovers.lock.holder, new RegExp(`^${job}-`))
    assert.ok(c.json.follow_up.includes(`tracebloc dataset cancel ${key} -n tracebloc --clear-lock --yes`), JSON.stringify(c.json.follow_up))
    assert.ok(c.json.follow_up.includes('tracebloc dataset delete runs_cancel'))
    assert.ok(existsSync(lock), 'the killed ingestor left its lock')
    assert.match((await m.cli(['dataset', 'runs'])).stdout, /^.*runs_cancel\s+tabular_classification\s+train\s+cancelled\s/m)

    // Still "cancelled" after the Job is gone, even on another machine (no cache): the record is in the cluster.
    const elsewhere = await machine().cli(['dataset', 'runs', '--table', 'runs_cancel', '--json'])
    assert.equal(elsewhere.code, 0, elsewhere.stdout + elsewhere.stderr)
    assert.deepEqual(elsewhere.json.runs.map((x: any) => x.table), ['runs_cancel'], '--table keeps only that table (runs_live is there too)')
    const rec = elsewhere.json.runs[0]
    assert.deepEqual([rec.key, rec.status, rec.source, rec.category, rec.intent], [key, 'cancelled', 'cancel-record', 'tabular_classification', 'train'])

    const logs = await m.cli(['dataset', 'logs', key])
    assert.equal(logs.code, 9, logs.stdout + logs.stderr)
    assert.match(logs.stderr, /was cancelled/)

    const clear = await m.cli(['dataset', 'cancel', key, '--clear-lock', '--yes', '--json'])
    assert.equal(clear.code, 0, clear.stdout + clear.stderr)
    assert.equal(clear.json.status, 'already_cancelled')
    assert.equal(clear.json.leftovers.lock_cleared, true)
    assert.equal(existsSync(lock), false)
  } finally {
    sb.faults.clear()
  }
})

test('logs of a failed run: exit 9 with the reason; runs lists the runs of every table, newest first', async () => {
  const sb = sandbox()
  const m = machine()
  sb.faults.set({ingestor: 'crash'})
  try {
    const p = await m.push('runs_failed')
    assert.equal(p.code, 0, p.stdout + p.stderr)
    const r = await m.cli(['dataset', 'logs', 'runs_failed', '--json'])
    assert.equal(r.code, 9, r.stdout + r.stderr)
    assert.equal(r.json.status, 'failed')
    assert.match(r.json.error, /BackoffLimitExceeded/)
    assert.match(r.json.error, /Can't connect to MySQL server/)
    // Not following: what the pod logged, the panel and the same exit code.
    const once = await m.cli(['dataset', 'logs', 'runs_failed', '--no-follow'])
    assert.equal(once.code, 9, once.stdout + once.stderr)
    assert.match(once.stdout, /pymysql\.err\.OperationalError/)
    assert.match(once.stdout, /✖ Ingestion failed/)
  } finally {
    sb.faults.clear()
  }
  // A later run of another table (this case's own, so it passes alone and in any order), followed to its end.
  const later = await m.push('runs_later')
  assert.equal(later.code, 0, later.stdout + later.stderr)
  assert.equal((await m.cli(['dataset', 'logs', later.json.idempotency_key, '--json'])).code, 0)
  // Every table's runs, newest first, with the summary once known.
  const human = await m.cli(['dataset', 'runs'])
  assert.equal(human.code, 0, human.stderr)
  const lines = human.stdout.split('\n')
  assert.match(lines[0], /^KEY\s+TABLE\s+CATEGORY\s+INTENT\s+STATUS\s+STARTED\s+DURATION\s+JOB\s+ROWS$/)
  const row = (table: string) => lines.findIndex((l) => l.includes(` ${table} `))
  assert.match(lines[row('runs_later')], /runs_later\s+tabular_classification\s+train\s+succeeded\s+.*\s+ingest-job-\S+\s+8\/8$/)
  assert.match(lines[row('runs_failed')], /runs_failed\s+tabular_classification\s+train\s+failed\s/)
  assert.ok(row('runs_later') < row('runs_failed'), 'newest first')
})

test('a user without delete on jobs: cancel names the missing verb and deletes nothing', async () => {
  const sb = sandbox()
  const m = machine()
  const before = sb.store.list(JOBS, {namespace: 'tracebloc'}).items.length
  const r = await m.cli(['dataset', 'cancel', 'runs_live', '--yes', '--context', 'sandbox-reader'])
  assert.equal(r.code, 9, r.stdout + r.stderr)
  assert.match(r.stderr, /lacks permission in namespace "tracebloc": delete jobs\.batch \(to delete the run’s Job\)/)
  assert.match(r.stderr, /kubectl auth can-i delete jobs\.batch -n tracebloc/)
  assert.equal(sb.store.list(JOBS, {namespace: 'tracebloc'}).items.length, before)
})
