// The wrong-cluster guard with two sandboxes side by side: one kubeconfig context first points at A,
// then is repointed at B. Writes through it refuse (naming both clusters) until --i-know-the-target;
// --expect-cluster and TRACEBLOC_EXPECT_CLUSTER pin the target; reading commands never refuse.
// Each case has its own record of where the context last wrote (its own XDG_STATE_HOME), made by a
// real push where it needs one, so every case runs alone and in any order.
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, test} from 'node:test'

import {startSandbox, type Sandbox} from '../sandbox/index.js'
import {runCli, SAMPLES} from './push-cli.js'

const TABULAR = `${SAMPLES}/tabular_classification/tabular_classification_sample_in_csv_format.csv`
let a: Sandbox
let b: Sandbox
let home: string
let kc: string

before(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'tb-guard-'))
  kc = path.join(home, 'kubeconfig')
  ;[a, b] = await Promise.all([startSandbox(), startSandbox()])
})
after(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  rmSync(home, {recursive: true, force: true})
})

const uid = (sb: Sandbox) => sb.store.get({group: '', version: 'v1', resource: 'namespaces'}, undefined, 'kube-system')!.metadata.uid as string
/** The one kubeconfig the tests use: its context `sandbox` points at `sb` (as if someone repointed it). */
const pointAt = (sb: Sandbox) => writeFileSync(kc, readFileSync(sb.kubeconfigPath), {mode: 0o600})
let state = ''
/** A new, empty record of targets for the case that calls it. */
const freshState = () => (state = mkdtempSync(path.join(home, 'state-')))
const env = (extra: Record<string, string> = {}) => ({XDG_STATE_HOME: state, XDG_CACHE_HOME: path.join(home, 'cache'), TRACEBLOC_STAGE_POD_TIMEOUT: '30', ...extra})
const push = (table: string, extra: string[] = [], e: Record<string, string> = {}) =>
  runCli(['dataset', 'push', TABULAR, '--table', table, '--category', 'tabular_classification', '--kubeconfig', kc, '--detach', ...extra], {env: env(e)})
const stagePods = (sb: Sandbox) => sb.store.list({group: '', version: 'v1', resource: 'pods'}, {namespace: 'tracebloc', labelSelector: 'tracebloc.io/component=stage-pod'}).items.length
const jobs = (sb: Sandbox) => sb.store.list({group: 'batch', version: 'v1', resource: 'jobs'}, {namespace: 'tracebloc'}).items.length
/** A fresh record in which the context last wrote to `sb`, by a real push through it. */
let seeds = 0
const lastWroteTo = async (sb: Sandbox) => {
  freshState()
  pointAt(sb)
  const r = await push(`guard_seed${++seeds}`, ['--json'])
  assert.equal(r.code, 0, r.stdout + r.stderr)
}

test('two sandboxes have different kube-system UIDs', () => {
  assert.match(uid(a), /^[0-9a-f-]{36}$/)
  assert.notEqual(uid(a), uid(b))
})

test('first write to a cluster is allowed with one line; the identity is in cluster info, the dry-run plan and --json', async () => {
  freshState()
  pointAt(a)
  const info = await runCli(['cluster', 'info', '--kubeconfig', kc, '--json'], {env: env()})
  assert.equal(info.json.cluster_uid, uid(a))
  const dry = await push('guard_t', ['--dry-run'])
  assert.equal(dry.code, 0, dry.stderr)
  assert.match(dry.stdout, new RegExp(`cluster\\s+kube-system UID ${uid(a)}`))
  assert.doesNotMatch(dry.stderr, /first write/, 'a dry run writes nothing and records nothing')
  const first = await push('guard_t', ['--json'])
  assert.equal(first.code, 0, first.stdout + first.stderr)
  assert.equal(first.json.cluster.uid, uid(a))
  const human = await push('guard_t2')
  assert.equal(human.code, 0, human.stderr)
  // the record was written by the --json run: this one is no first write any more
  assert.doesNotMatch(human.stderr, /first write/)
  const fresh = await push('guard_t3', [], {XDG_STATE_HOME: path.join(home, 'other-state')})
  assert.equal(fresh.code, 0, fresh.stderr)
  assert.equal(fresh.stderr.match(/first write from this machine to cluster/g)?.length, 1)
})

test('the context repointed at another cluster: push, delete and cancel refuse before writing, naming both clusters', async () => {
  await lastWroteTo(a)
  pointAt(b)
  const before = {pods: stagePods(b), jobs: jobs(b)}
  const r = await push('guard_t', ['--json'])
  assert.equal(r.code, 3, r.stdout + r.stderr)
  assert.equal(r.json.reason, 'cluster_changed')
  assert.match(r.json.error, new RegExp(`now points at ${b.apiUrl}.*${uid(b)}.*last wrote through it to ${a.apiUrl}.*${uid(a)}`))
  assert.match(r.json.hint, /--i-know-the-target/)
  assert.deepEqual({pods: stagePods(b), jobs: jobs(b)}, before, 'nothing written to B')
  assert.equal(existsSync(path.join(b.pvcDir, '.tracebloc-staging', 'guard_t')), false)
  const human = await push('guard_t')
  assert.equal(human.code, 3)
  assert.match(human.stderr, /context "sandbox" now points at/)
  assert.doesNotMatch(human.stderr, /\n\s+at /, 'no stack trace')
  const del = await runCli(['dataset', 'delete', 'guard_t', '--yes', '--kubeconfig', kc, '--json'], {env: env()})
  assert.equal(del.code, 3, del.stdout + del.stderr)
  assert.equal(del.json.reason, 'cluster_changed')
  const cancel = await runCli(['dataset', 'cancel', 'guard_t', '--yes', '--clear-lock', '--kubeconfig', kc, '--json'], {env: env()})
  assert.equal(cancel.code, 3, cancel.stdout + cancel.stderr)
  assert.equal(cancel.json.reason, 'cluster_changed')
  const overwrite = await push('guard_t', ['--overwrite', '--json'])
  assert.equal(overwrite.json.reason, 'cluster_changed')
})

test('reading commands never refuse', async () => {
  await lastWroteTo(a)
  pointAt(b)
  for (const args of [['cluster', 'info'], ['dataset', 'list'], ['dataset', 'runs'], ['doctor']]) {
    const r = await runCli([...args, '--kubeconfig', kc, '--json'], {env: env()})
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`)
  }
})

test('--expect-cluster and TRACEBLOC_EXPECT_CLUSTER pin the target', async () => {
  await lastWroteTo(a)
  pointAt(b)
  const jobsBefore = jobs(b)
  const wrong = await push('guard_pin', ['--expect-cluster', uid(a).slice(0, 8), '--json'])
  assert.equal(wrong.code, 3, wrong.stdout)
  assert.equal(wrong.json.reason, 'unexpected_cluster')
  const wrongEnv = await push('guard_pin', ['--json'], {TRACEBLOC_EXPECT_CLUSTER: uid(a).slice(0, 8)})
  assert.equal(wrongEnv.json.reason, 'unexpected_cluster')
  assert.equal(jobs(b), jobsBefore)
  // pinned to B, the write goes ahead even though the context last wrote to A
  const right = await push('guard_pin', ['--json'], {TRACEBLOC_EXPECT_CLUSTER: uid(b).slice(0, 8)})
  assert.equal(right.code, 0, right.stdout + right.stderr)
})

test('--i-know-the-target writes, and the context is remembered at its new cluster', async () => {
  await lastWroteTo(b)
  // back at A is a change
  pointAt(a)
  const refused = await push('guard_ok', ['--json'])
  assert.equal(refused.json.reason, 'cluster_changed')
  const ok = await push('guard_ok', ['--i-know-the-target'])
  assert.equal(ok.code, 0, ok.stderr)
  assert.match(ok.stderr, /which last wrote to cluster/)
  const again = await push('guard_ok2', ['--json'])
  assert.equal(again.code, 0, again.stdout + again.stderr)
})
