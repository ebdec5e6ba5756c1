// The bad-input corpus, cluster half, against one sandbox: a signal at every named point of the push
// (signal-cases.ts) and the RBAC / server-fault cases (sandbox-cases.ts). Each run must end with its
// documented exit code and message, no stack trace, no token, by itself (no hang: nothing such as a
// port-forward keeps it alive), and leave no stage pod, scratch directory or staging lock for its table.
import assert from 'node:assert/strict'
import {cpSync, existsSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import type {Sandbox} from '../sandbox/index.js'
import {assertClean, ROOT, run, tempDir} from './harness.js'
import {SANDBOX_CASES, type SandboxCase} from './sandbox-cases.js'
import {SIGNAL_CASES, type SignalCase, SUBMIT_RETRY_CASES} from './signal-cases.js'

let sb: Sandbox
const data = tempDir('tb-robust-data-')
before(async () => {
  const {startSandbox} = await import('../sandbox/index.js')
  sb = await startSandbox()
  // the smallest dataset that goes all the way: two images, two classes
  const src = path.join(ROOT, 'test/fixtures/reference/samples/image_classification/data/images')
  cpSync(path.join(src, 'cat1.jpeg'), path.join(data.dir, 'images/cat1.jpeg'))
  cpSync(path.join(src, 'dog1.jpeg'), path.join(data.dir, 'images/dog1.jpeg'))
  writeFileSync(path.join(data.dir, 'labels.csv'), 'filename,label\ncat1.jpeg,cat\ndog1.jpeg,dog\n')
})
after(async () => {
  await sb?.stop()
  data.remove()
})

let n = 0
function push(table: string, extra: string[], env: Record<string, string> = {}) {
  return run(['dataset', 'push', data.dir, '--table', table, '--category', 'image_classification', '--kubeconfig', sb.kubeconfigPath, ...extra], {
    env: {TRACEBLOC_STAGE_POD_TIMEOUT: '20', TRACEBLOC_POD_START_TIMEOUT: '20', ...env},
    timeoutMs: 90_000,
  })
}

/** What a run of `table` may not leave behind: its stage pods, per-run scratch dirs, the staging lock. */
function assertNothingLeft(table: string, label: string): void {
  const pods = sb.store.list({group: '', version: 'v1', resource: 'pods'}, {namespace: sb.namespace, labelSelector: `tracebloc.io/component=stage-pod,tracebloc.io/table=${table}`}).items
  assert.deepEqual(pods.map((p) => p.metadata.name), [], `no stage pod left: ${label}`)
  const staging = path.join(sb.pvcDir, '.tracebloc-staging')
  const entries = existsSync(staging) ? readdirSync(staging) : []
  assert.deepEqual(entries.filter((e) => e.startsWith(`${table}.`) && /\.(staging|old)-/.test(e) && !e.endsWith('.staging-resume')), [], `no scratch dir left: ${label}`)
  assert.ok(!entries.includes(`.${table}.lock`), `no staging lock left: ${label}`)
  // a staged copy, when there is one, is complete: its manifest was written last
  if (entries.includes(table)) assert.ok(readdirSync(path.join(staging, table)).some((e) => e.startsWith('.')), `staged copy has its manifest: ${label}`)
}

async function signalCase(c: SignalCase): Promise<void> {
  const table = `robust_sig_${++n}`
  const r = await push(table, [], {TRACEBLOC_TEST_SIGNAL_AT: c.at})
  assert.equal(r.signal, null, `${c.name}: the CLI must exit by itself, not be killed (it hung?)`)
  assertClean(r, {code: c.code, message: c.message, secrets: Object.values(sb.tokens)}, c.name)
  // the second-signal path only promises the stage pod; the lock may stay (a later run takes it over)
  if (c.at.includes(',')) {
    const pods = sb.store.list({group: '', version: 'v1', resource: 'pods'}, {namespace: sb.namespace, labelSelector: `tracebloc.io/table=${table},tracebloc.io/component=stage-pod`}).items
    assert.deepEqual(pods.map((p) => p.metadata.name), [], `no stage pod left: ${c.name}`)
  } else assertNothingLeft(table, c.name)
}

async function sandboxCase(c: SandboxCase): Promise<void> {
  const table = `robust_sb_${++n}`
  if (c.faults) sb.faults.set(structuredClone(c.faults))
  try {
    const r = await push(table, c.args ?? [], c.env)
    assertClean(r, {code: c.code, message: c.message, secrets: Object.values(sb.tokens)}, c.name)
  } finally {
    sb.faults.clear()
  }
  assertNothingLeft(table, c.name)
}

describe('signal at every pipeline point', {concurrency: 3}, () => {
  for (const c of SIGNAL_CASES) test(c.name, () => signalCase(c))
})

describe('cluster cases without faults', {concurrency: 3}, () => {
  for (const c of SANDBOX_CASES.filter((x) => !x.faults)) test(c.name, () => sandboxCase(c))
})

describe('signal during submit retries (fault: 503 once)', () => {
  for (const c of SUBMIT_RETRY_CASES) {
    test(c.name, async () => {
      sb.faults.set(structuredClone(c.faults!))
      try {
        await signalCase(c)
      } finally {
        sb.faults.clear()
      }
    })
  }
})

describe('server faults', () => {
  for (const c of SANDBOX_CASES.filter((x) => x.faults)) test(c.name, () => sandboxCase(c))
})
