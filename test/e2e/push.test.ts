// dataset push end to end: the built CLI against the sandbox cluster (real HTTPS/WebSockets, real pods
// under bubblewrap, the jobs-manager and ingestor emulation reading the real PVC directory).
import assert from 'node:assert/strict'
import {existsSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {startSandbox} from '../sandbox/index.js'
import {CATS_DOGS, runCli} from './push-cli.js'

type Sandbox = Awaited<ReturnType<typeof startSandbox>>
let sb: Sandbox

const pods = {group: '', version: 'v1', resource: 'pods'}
const jobs = {group: 'batch', version: 'v1', resource: 'jobs'}

before(async () => {
  sb = await startSandbox()
})
after(async () => {
  await sb?.stop()
})

function push(table: string, extra: string[] = [], opts: Parameters<typeof runCli>[1] = {}) {
  return runCli(['dataset', 'push', CATS_DOGS, '--table', table, '--category', 'image_classification', '--label-column', 'label', '--kubeconfig', sb.kubeconfigPath, '--json', ...extra], {
    ...opts,
    env: {TRACEBLOC_STAGE_POD_TIMEOUT: '20', TRACEBLOC_POD_START_TIMEOUT: '20', ...opts.env},
  })
}

function stagePods() {
  return sb.store.list(pods, {namespace: sb.namespace, labelSelector: 'tracebloc.io/component=stage-pod'}).items
}

function stagingEntries(): string[] {
  const dir = path.join(sb.pvcDir, '.tracebloc-staging')
  return existsSync(dir) ? readdirSync(dir) : []
}

function jobsFor(key: string) {
  return sb.store.list(jobs, {namespace: sb.namespace, labelSelector: `tracebloc.io/ingestion-run=${key}`}).items
}

/** Names of every object a push could write (events from unrelated pods do not count). */
function snapshot() {
  const kinds = [pods, jobs, {group: '', version: 'v1', resource: 'configmaps'}, {group: '', version: 'v1', resource: 'secrets'}]
  return kinds.map((k) => sb.store.list(k, {namespace: sb.namespace}).items.map((o) => o.metadata.name).sort())
}

async function waitFor(cond: () => boolean, ms = 10_000) {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** No secret may reach any output: bearer tokens of the kubeconfig users, or any JWT. */
function assertNoSecrets(out: string) {
  for (const tok of Object.values(sb.tokens)) assert.ok(!out.includes(tok as string), 'a kubeconfig token leaked into output')
  assert.doesNotMatch(out, /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./, 'a JWT leaked into output')
}

describe('dataset push (cats/dogs, image_classification)', () => {
  test('happy path: 576 rows ingested, exit 0, staging reclaimed, no pods left, no secrets printed', async () => {
    const r = await push('cats_dogs_train')
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(r.json.status, 'succeeded')
    assert.equal(r.json.exit_code, 0)
    assert.equal(r.json.summary.total_records, 576)
    assert.equal(r.json.summary.inserted_records, 576)
    assert.equal(r.json.files, 7)
    assert.equal(r.json.staged.files, 7)
    assert.equal(r.json.replay, false)
    assert.match(r.json.idempotency_key, /^[0-9a-f]{32}$/)
    assert.equal(r.json.staging_reclaimed, true)
    assert.deepEqual(stagingEntries().filter((e) => e.startsWith('cats_dogs_train')), [])
    assert.equal(stagePods().length, 0)
    // the ingestor copied the images flat into /data/shared/<table>
    assert.ok(readdirSync(path.join(sb.pvcDir, 'cats_dogs_train')).includes('cat1.jpeg'))
    assert.equal(jobsFor(r.json.idempotency_key).length, 1)
    assertNoSecrets(r.stdout + r.stderr)
  })

  test('replay: the same key and content attaches to the existing run (no second Job)', async () => {
    const key = 'replay-key-1'
    const first = await push('cats_replay', ['--idempotency-key', key])
    assert.equal(first.code, 0, first.stderr)
    const second = await push('cats_replay', ['--idempotency-key', key])
    assert.equal(second.code, 0, second.stderr)
    assert.equal(second.json.replay, true)
    assert.equal(second.json.job_name, first.json.job_name)
    assert.equal(jobsFor(key).length, 1)
  })

  test('409: the same key with different content is explained, exit 8', async () => {
    const key = 'conflict-key-1'
    const first = await push('cats_conflict', ['--idempotency-key', key, '--detach'])
    assert.equal(first.code, 0, first.stderr)
    const second = await push('cats_conflict', ['--idempotency-key', key, '--intent', 'test', '--detach'])
    assert.equal(second.code, 8, second.stderr)
    assert.equal(second.json.reason, 'idempotency_conflict')
    assert.equal(stagePods().length, 0)
  })

  test('orphan stage pods from crashed runs are reported, and removed with --clean-orphans', async () => {
    const orphan = {
      apiVersion: 'v1',
      kind: 'Pod',
      // a crashed run from an hour ago (creationTimestamp is immutable after create, as on a real server)
      metadata: {name: 'tracebloc-stage-old-run-deadbeef', namespace: sb.namespace, creationTimestamp: new Date(Date.now() - 3600_000).toISOString(), labels: {'app.kubernetes.io/managed-by': 'tracebloc-cli', 'tracebloc.io/component': 'stage-pod', 'tracebloc.io/table': 'old_run'}},
      spec: {containers: [{name: 'stage', image: 'alpine:3.20', command: ['/bin/sh', '-c', 'exit 1']}], restartPolicy: 'Never'},
    }
    sb.store.create(pods, orphan)
    await waitFor(() => sb.store.get(pods, sb.namespace, orphan.metadata.name)?.status?.phase === 'Failed')
    const warned = await push('cats_orphans', ['--detach'])
    assert.equal(warned.code, 0, warned.stderr)
    assert.ok(warned.json.warnings.some((w: string) => w.includes('tracebloc-stage-old-run-deadbeef')), warned.json.warnings.join('\n'))
    assert.ok(sb.store.get(pods, sb.namespace, orphan.metadata.name), 'only reported, not removed, without --clean-orphans')
    const cleaned = await push('cats_orphans2', ['--detach', '--clean-orphans'])
    assert.equal(cleaned.code, 0, cleaned.stderr)
    await waitFor(() => !sb.store.get(pods, sb.namespace, orphan.metadata.name))
  })

  test('--dry-run prints the plan and writes nothing', async () => {
    const before = snapshot()
    const r = await push('cats_dry', ['--dry-run'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.status, 'dry-run')
    assert.equal(r.json.ingest_config.csv, '/data/shared/.tracebloc-staging/cats_dry/labels.csv')
    assert.equal(r.json.ingest_config.images, '/data/shared/.tracebloc-staging/cats_dry/images/')
    assert.equal(r.json.bytes > 180_000, true)
    // SelfSubjectAccessReviews are not stored; nothing else may have been written.
    assert.deepEqual(snapshot(), before)
  })

  test('bad flags exit 2 before touching the cluster', async () => {
    const before = snapshot()
    const digest = await push('cats_bad', ['--image-digest', 'latest'])
    assert.equal(digest.code, 2)
    const unknown = await push('cats_bad', ['--no-such-flag'])
    assert.equal(unknown.code, 2)
    const table = await push('1bad-table')
    assert.equal(table.code, 2)
    assert.deepEqual(snapshot(), before)
  })
})

describe('dataset push: RBAC-limited users fail in the connect step, no pod created', () => {
  for (const [user, code, reason] of [
    ['no-exec', 7, 'rbac_denied'],
    ['reader', 7, 'rbac_denied'],
    // may list secrets, so the preflight passes; the mint then finds no legacy Secret
    ['no-token-request', 5, 'token_unavailable'],
  ] as const) {
    test(`${user} → exit ${code} (${reason})`, async () => {
      const r = await push(`cats_rbac_${user.replace(/-/g, '_')}`, ['--context', `sandbox-${user}`, '-n', sb.namespace])
      assert.equal(r.code, code, r.stderr + r.stdout)
      assert.equal(r.json.reason, reason)
      assert.ok(r.json.timings.connect_ms !== undefined && r.json.timings.stage_ms === undefined, 'must fail in connect, before staging')
      assert.equal(stagePods().length, 0)
      assertNoSecrets(r.stdout + r.stderr)
    })
  }
})
