// dataset push against a sandbox with faults switched on: each failure the user can meet gets its
// documented exit code and status, and leaves no pod and no scratch directory behind.
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterEach, describe, test} from 'node:test'

import {CATS_DOGS, leftovers, ROOT, runCli, sandboxPerFile} from './push-cli.js'

const sandbox = sandboxPerFile()
let n = 0

afterEach(() => {
  sandbox().faults.clear()
  // nothing half-done may remain in the cluster after any failure
  assert.deepEqual(leftovers(sandbox()), {pods: [], scratch: []})
})

function push(extra: string[] = [], env: Record<string, string> = {}, json = true) {
  const sb = sandbox()
  const table = `cats_fault_${++n}`
  return runCli(['dataset', 'push', CATS_DOGS, '--table', table, '--category', 'image_classification', '--label-column', 'label', '--kubeconfig', sb.kubeconfigPath, ...(json ? ['--json'] : []), ...extra], {
    env: {TRACEBLOC_STAGE_POD_TIMEOUT: '15', TRACEBLOC_POD_START_TIMEOUT: '15', ...env},
  })
}

describe('cluster-side failures before any byte moves', () => {
  test('PVC not Bound → exit 4', async () => {
    const sb = sandbox()
    sb.faults.set({pvcNotBound: true})
    const r = await push()
    assert.equal(r.code, 4, r.stderr)
    assert.equal(r.json.reason, 'pvc_not_bound')
  })

  test('jobs-manager down → exit 8 in the connect step', async () => {
    const sb = sandbox()
    sb.faults.set({jobsManager: 'down'})
    const r = await push()
    assert.equal(r.code, 8, r.stderr)
    assert.equal(r.json.reason, 'jobs_manager_unavailable')
    assert.equal(r.json.timings.stage_ms, undefined)
  })

  test('jobs-manager Running but not Ready → exit 8', async () => {
    const sb = sandbox()
    sb.faults.set({jobsManager: 'notready'})
    const r = await push()
    assert.equal(r.code, 8, r.stderr)
    assert.equal(r.json.reason, 'jobs_manager_unavailable')
  })
})

describe('staging failures', () => {
  test('stage image cannot be pulled → exit 7 with the real reason', async () => {
    const sb = sandbox()
    sb.faults.set({imagePullFailure: 'alpine'})
    const r = await push()
    assert.equal(r.code, 7, r.stderr)
    assert.equal(r.json.reason, 'image_pull_failed')
    assert.match(r.json.error, /ImagePullBackOff|ErrImagePull/)
  })

  test('a cut exec stream is retried and the push still succeeds', async () => {
    const sb = sandbox()
    sb.faults.set({cutExecAfterBytes: {bytes: 60_000, times: 2}})
    const r = await push()
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.staged.retries, 2)
    assert.equal(r.json.summary.total_records, 576)
  })
})

describe('submit', () => {
  test('5xx bursts are retried with the same key: one run only', async () => {
    const sb = sandbox()
    sb.faults.set({submitErrorBurst: {count: 2, status: 503}})
    const r = await push()
    assert.equal(r.code, 0, r.stderr)
    const jobs = sb.store.list({group: 'batch', version: 'v1', resource: 'jobs'}, {namespace: sb.namespace, labelSelector: `tracebloc.io/ingestion-run=${r.json.idempotency_key}`}).items
    assert.equal(jobs.length, 1)
  })
})

describe('jobs-manager port-forward', () => {
  // The port-forward is a listener on 127.0.0.1 that any local process could use with the CLI's access:
  // it must exist only around the exchanges with jobs-manager, not while the files are uploaded.
  test('no local port is open while the files are staged', async () => {
    const record = path.join(mkdtempSync(path.join(tmpdir(), 'tb-listeners-')), 'execs')
    const preload = path.join(ROOT, 'test/helpers/record-listeners.mjs')
    const r = await push([], {RECORD_LISTENERS_FILE: record, NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.status, 'succeeded')
    // one line per exec into a stage pod: the ports the CLI listened on as it opened it
    const execs = readFileSync(record, 'utf8').split('\n').slice(0, -1)
    assert.ok(execs.length > 0, 'the recorder saw the upload') // the check can fail
    assert.deepEqual(execs.filter((l) => l !== ''), [], 'ports open on 127.0.0.1 while staging')
  })
})

describe('schema versions', () => {
  test('jobs-manager on a different schema: warned, run proceeds', async () => {
    const sb = sandbox()
    sb.faults.set({serverSchema: 'upstream-newer'})
    const r = await push(['--detach'])
    assert.equal(r.code, 0, r.stderr)
    assert.ok(r.json.warnings.some((w: string) => w.startsWith('jobs-manager validates with schema')), r.json.warnings.join('\n'))
  })

  test('jobs-manager without GET /v1/version (404): carry on with the embedded schema, no warning', async () => {
    const sb = sandbox()
    sb.faults.set({noVersionEndpoint: true})
    const r = await push(['--detach'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.status, 'detached')
    assert.ok(!r.json.warnings.some((w: string) => w.includes('validates with schema')))
  })
})

describe('ingestor outcomes', () => {
  for (const [mode, status, code] of [
    ['config-error', 'failed', 9],
    ['validator-failure', 'failed', 9],
    // a failed record makes the ingestor exit 1 (banner shows the failures): the Job fails
    ['file-transfer-failure', 'failed', 9],
    // skipped rows exit 0 on the cluster, yet the banner shows a shortfall: not a clean run
    ['skipped-rows', 'completed_with_failures', 9],
  ] as const) {
    test(`${mode} → ${status}, exit ${code}`, async () => {
      sandbox().faults.set({ingestor: mode})
      const r = await push()
      assert.equal(r.code, code, r.stderr)
      assert.equal(r.json.status, status)
      assert.equal(r.json.exit_code, code)
      assert.ok(r.json.error, 'failures carry an error message')
      assert.match(r.json.reason, /^job_/)
      if (mode !== 'skipped-rows') assert.ok(r.json.details?.length, `the ingestor's failure lines are in details[]: ${r.stdout}`)
      // staging is reclaimed only on a clean success
      assert.notEqual(r.json.staging_reclaimed, true)
    })
  }

  test('a validator failure: the reason names the cause from the next log line, in --json and in the panel', async () => {
    sandbox().faults.set({ingestor: 'validator-failure'})
    const cause = /Image Resolution Validator Validator failed: Image cat1\.jpeg has resolution 255x256, expected \d+x\d+/
    const r = await push()
    assert.equal(r.code, 9, r.stderr)
    assert.match(r.json.error, cause)
    assert.ok(r.json.details.some((l: string) => cause.test(l)), JSON.stringify(r.json.details))
    const human = await push([], {}, false)
    assert.equal(human.code, 9, human.stderr)
    assert.match(human.stdout, cause)
    assert.doesNotMatch(human.stdout + human.stderr, /see the logs above/)
  })

  test('ingestor image cannot be pulled → not_started, exit 9 (never "detached")', async () => {
    const sb = sandbox()
    sb.faults.set({imagePullFailure: 'ingestor'})
    const r = await push()
    assert.equal(r.code, 9, r.stderr)
    assert.equal(r.json.status, 'not_started')
    assert.match(r.json.error, /ImagePullBackOff|ErrImagePull/)
  })
})
