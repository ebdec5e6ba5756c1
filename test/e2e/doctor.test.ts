// tracebloc doctor against the sandbox: a healthy cluster passes every check; each fault the
// sandbox can raise is named by its own ✖ with a fix, and doctor exits with the code a push would
// fail with; --bundle writes a support bundle with no secret in it (canaries planted everywhere).
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, afterEach, before, describe, test} from 'node:test'

import {until} from '../helpers/until.js'
import {leftovers, runCli, sandboxPerFile} from './push-cli.js'

const sandbox = sandboxPerFile()
let home: string
before(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'tb-doctor-'))
})
after(() => rmSync(home, {recursive: true, force: true}))

const env = () => ({XDG_STATE_HOME: path.join(home, 'state'), XDG_CACHE_HOME: path.join(home, 'cache'), TRACEBLOC_STAGE_POD_TIMEOUT: '15'})
const doctor = (extra: string[] = []) => runCli(['doctor', '--kubeconfig', sandbox().kubeconfigPath, '--json', ...extra], {env: env()})
type Check = {name: string; status: string; detail: string; fix?: string; exit_code?: number}
const check = (doc: {checks: Check[]}, name: string) => doc.checks.find((c) => c.name === name)!

const PODS = {group: '', version: 'v1', resource: 'pods'}
/** Until a Ready pod with this label runs (a fault switched off brings it back). */
async function podReady(selector: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const pods = sandbox().store.list(PODS, {namespace: 'tracebloc', labelSelector: selector}).items
    if (pods.some((p) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c: {type: string; status: string}) => c.type === 'Ready' && c.status === 'True'))) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`no Ready pod ${selector}`)
}

afterEach(async () => {
  sandbox().faults.clear()
  await podReady('app=manager')
  await podReady('app=mysql-client')
  await sandbox().mysql.ready()
  // the throwaway pod is gone on every path
  assert.deepEqual(leftovers(sandbox()).pods, [])
})

test('a healthy cluster: every check ok, exit 0, one document with the checks', async () => {
  const r = await doctor()
  assert.equal(r.code, 0, r.stdout + r.stderr)
  const names = r.json.checks.map((c: Check) => c.name)
  for (const n of ['cli', 'kubeconfig', 'api-server', 'cluster-identity', 'release', 'client-pvc', 'rbac-push', 'rbac-list-show', 'rbac-delete', 'rbac-runs-logs-cancel', 'jobs-manager', 'ingestor-token', 'mysql', 'stage-image', 'pvc-free-space', 'stage-pods', 'table-locks', 'staged-copies']) {
    assert.ok(names.includes(n), n)
  }
  for (const c of r.json.checks as Check[]) assert.notEqual(c.status, 'fail', `${c.name}: ${c.detail}`)
  assert.equal(r.json.exit_code, 0)
  assert.match(r.json.cluster_uid, /^[0-9a-f-]{36}$/)
  assert.match(check(r.json, 'ingestor-token').detail, /minted and thrown away/)
  assert.match(check(r.json, 'pvc-free-space').detail, /free of/)
  const human = await runCli(['doctor', '--kubeconfig', sandbox().kubeconfigPath], {env: env()})
  assert.equal(human.code, 0, human.stderr)
  assert.match(human.stdout, /^✔ kubeconfig\s+context sandbox/m)
  assert.match(human.stdout, /Ready for `tracebloc dataset push`/)
})

// Every ✖ doctor can print: the fault, the context, the check that names it and the exit code a push would get.
const FAULTS: Array<{name: string; fault?: Record<string, unknown>; args?: string[]; failing: string; code: number; detail: RegExp}> = [
  {name: 'jobs-manager down', fault: {jobsManager: 'down'}, failing: 'jobs-manager', code: 8, detail: /jobs-manager is not ready/},
  {name: 'jobs-manager not Ready', fault: {jobsManager: 'notready'}, failing: 'jobs-manager', code: 8, detail: /none Ready/},
  {name: 'client-pvc not Bound', fault: {pvcNotBound: true}, failing: 'client-pvc', code: 4, detail: /not Bound/},
  {name: 'client-pvc full', fault: {pvcFull: true}, failing: 'pvc-free-space', code: 7, detail: /client-pvc is full/},
  {name: 'MySQL down', fault: {mysql: 'down'}, failing: 'mysql', code: 7, detail: /MySQL is not running/},
  {name: 'stage image not pullable', fault: {imagePullFailure: 'alpine'}, failing: 'stage-image', code: 7, detail: /ImagePullBackOff|ErrImagePull/},
  {name: 'TokenRequest forbidden', args: ['--context', 'sandbox-no-token-request'], failing: 'ingestor-token', code: 5, detail: /TokenRequest failed/},
  {name: 'a missing RBAC verb', args: ['--context', 'sandbox-no-exec'], failing: 'rbac-push', code: 7, detail: /missing create pods\/exec/},
  {name: 'an expired credential', fault: {expiredCredentials: ['admin']}, failing: 'api-server', code: 3, detail: /rejected your credentials/},
  {name: 'no client release in the namespace', args: ['-n', 'default'], failing: 'release', code: 4, detail: /no tracebloc client found/},
]

describe('each fault gets its own ✖, a fix and the exit code a push would fail with', () => {
  for (const f of FAULTS) {
    test(f.name, async () => {
      if (f.fault) sandbox().faults.set(f.fault)
      if (f.fault?.mysql || f.fault?.jobsManager === 'down') await new Promise((r) => setTimeout(r, 300)) // let the controller scale it down
      const r = await doctor(f.args)
      assert.equal(r.code, f.code, r.stdout + r.stderr)
      assert.equal(r.json.exit_code, f.code)
      const c = check(r.json, f.failing)
      assert.equal(c.status, 'fail', JSON.stringify(c))
      assert.match(c.detail, f.detail)
      assert.ok(c.fix && c.fix.length > 5, 'a fix')
      assert.equal(c.exit_code, f.code)
      assert.doesNotMatch(r.stdout + r.stderr, /eyJ[A-Za-z0-9_-]{10,}\.|sandbox-admin-/)
      // the human form shows the same ✖ and its fix
      const human = await runCli(['doctor', '--kubeconfig', sandbox().kubeconfigPath, ...(f.args ?? [])], {env: env()})
      assert.equal(human.code, f.code)
      assert.match(human.stdout, new RegExp(`^✖ ${f.failing}\\s`, 'm'))
      assert.match(human.stdout, /→ /)
    })
  }

  test('an expired token in the kubeconfig is named before any request', async () => {
    const kc = JSON.parse(readFileSync(sandbox().kubeconfigPath, 'utf8'))
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
    kc.users[0].user.token = `${b64({alg: 'RS256'})}.${b64({sub: 'someone', exp: 1_700_000_000})}.c2lnbmF0dXJlLXNpZ25hdHVyZQ`
    const file = path.join(home, 'expired.kubeconfig')
    writeFileSync(file, JSON.stringify(kc), {mode: 0o600})
    const r = await runCli(['doctor', '--kubeconfig', file, '--json'], {env: env()})
    assert.equal(r.code, 3, r.stdout + r.stderr)
    assert.match(check(r.json, 'kubeconfig').detail, /expired at 2023-11-14T22:13:20/)
    assert.doesNotMatch(r.stdout, /c2lnbmF0dXJl/)
  })

  test('no kubeconfig, an unreachable API server: exit 3', async () => {
    const missing = await runCli(['doctor', '--kubeconfig', path.join(home, 'nope'), '--json'], {env: env()})
    assert.equal(missing.code, 3)
    assert.equal(check(missing.json, 'kubeconfig').status, 'fail')
    const kc = JSON.parse(readFileSync(sandbox().kubeconfigPath, 'utf8'))
    kc.clusters[0].cluster.server = 'https://127.0.0.1:9'
    const file = path.join(home, 'closed.kubeconfig')
    writeFileSync(file, JSON.stringify(kc), {mode: 0o600})
    const closed = await runCli(['doctor', '--kubeconfig', file, '--json'], {env: env()})
    assert.equal(closed.code, 3)
    assert.match(check(closed.json, 'api-server').detail, /cannot reach the Kubernetes API server/)
  })
})

test('leftovers: a stage pod, a stale table lock and a staged copy without a run are warnings with their fix', async () => {
  const sb = sandbox()
  writeFileSync(path.join(sb.pvcDir, '.tracebloc-ingest-old_table.lock'), JSON.stringify({hostname: 'ingest-gone-pod', started_at: '2026-01-01T00:00:00Z'}))
  mkdirSync(path.join(sb.pvcDir, '.tracebloc-staging', 'old_table'), {recursive: true})
  // a stage pod an hour old that has finished (a CLI killed before it could delete it)
  const oldPod = 'tracebloc-stage-old-table-0badc0de'
  sb.store.create(PODS, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {name: oldPod, namespace: 'tracebloc', creationTimestamp: new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z'), labels: {'app.kubernetes.io/managed-by': 'tracebloc-cli', 'tracebloc.io/component': 'stage-pod', 'tracebloc.io/table': 'old_table'}},
    spec: {restartPolicy: 'Never', containers: [{name: 'stage', image: 'busybox:1.35', command: ['/bin/sh', '-c', 'true']}]},
  })
  await until('the old stage pod to finish', () => ['Succeeded', 'Failed'].includes(sb.store.get(PODS, 'tracebloc', oldPod)?.status?.phase))
  try {
    const r = await doctor()
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const pods = check(r.json, 'stage-pods')
    assert.equal(pods.status, 'warn')
    assert.match(pods.detail, new RegExp(`1 left behind: ${oldPod} \\((Succeeded|Failed)\\)`))
    assert.equal(pods.fix, `kubectl delete pod -n tracebloc ${oldPod}`)
    const locks = check(r.json, 'table-locks')
    assert.equal(locks.status, 'warn')
    assert.match(locks.detail, /old_table/)
    assert.match(locks.fix!, /dataset cancel old_table -n tracebloc --clear-lock --yes/)
    const staged = check(r.json, 'staged-copies')
    assert.equal(staged.status, 'warn')
    assert.match(staged.detail, /old_table/)
    // the fix works as printed, though no run names old_table: the lock goes, the staged copy stays
    const fix = await runCli(['dataset', 'cancel', 'old_table', '-n', 'tracebloc', '--clear-lock', '--yes', '--kubeconfig', sb.kubeconfigPath, '--json'], {env: env()})
    assert.equal(fix.code, 0, fix.stdout + fix.stderr)
    assert.equal(fix.json.status, 'no_run')
    assert.equal(fix.json.leftovers.lock_cleared, true)
    assert.equal(existsSync(path.join(sb.pvcDir, '.tracebloc-ingest-old_table.lock')), false)
    assert.equal(existsSync(path.join(sb.pvcDir, '.tracebloc-staging', 'old_table')), true)
    assert.equal(check((await doctor()).json, 'table-locks').status, 'ok')
    // a table nothing names and no lock: still "no such run" without --clear-lock
    const none = await runCli(['dataset', 'cancel', 'old_table', '-n', 'tracebloc', '--yes', '--kubeconfig', sb.kubeconfigPath, '--json'], {env: env()})
    assert.equal(none.code, 5, none.stdout + none.stderr)
  } finally {
    sb.store.delete(PODS, 'tracebloc', oldPod)
    rmSync(path.join(sb.pvcDir, '.tracebloc-ingest-old_table.lock'), {force: true})
    rmSync(path.join(sb.pvcDir, '.tracebloc-staging', 'old_table'), {recursive: true, force: true})
  }
})

test('--bundle: the report, runs, release objects and cache in a tar.gz, with every planted secret removed', async () => {
  const sb = sandbox()
  const canary = (where: string) => `CANARY-${where}-${Math.random().toString(36).slice(2, 10)}`
  const planted: Record<string, string> = {}
  const plant = (where: string) => (planted[where] = canary(where))
  // a Secret value, an env value off the allow-list, a ConfigMap password, a presigned URL and a JWT in a run's log,
  // a last-applied annotation, the kubeconfig's own token, a password in an event message
  sb.store.create({group: '', version: 'v1', resource: 'secrets'}, {apiVersion: 'v1', kind: 'Secret', metadata: {name: 'canary-secret', namespace: 'tracebloc'}, data: {value: Buffer.from(plant('secret')).toString('base64')}})
  sb.store.update({group: 'apps', version: 'v1', resource: 'deployments'}, 'tracebloc', 'tracebloc-jobs-manager', (d) => {
    d.spec.template.spec.containers[0].env.push({name: 'S3_SECRET_ACCESS_KEY', value: plant('env')})
    d.metadata.annotations = {...d.metadata.annotations, 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({secret: plant('lastapplied')})}
  })
  sb.store.create({group: '', version: 'v1', resource: 'configmaps'}, {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'canary-config', namespace: 'tracebloc'}, data: {'settings.yaml': `db:\n  password: ${plant('configmap')}\n`}})
  sb.store.create({group: '', version: 'v1', resource: 'events'}, {apiVersion: 'v1', kind: 'Event', metadata: {name: 'canary-event', namespace: 'tracebloc'}, involvedObject: {kind: 'Pod', name: 'x', namespace: 'tracebloc'}, reason: 'Canary', message: `connecting with token=${plant('event')}`, type: 'Warning'})
  const jwt = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({sub: plant('jwt')})).toString('base64url')}.c2lnbmF0dXJlc2lnbmF0dXJl`
  const presigned = `https://bucket.s3.amazonaws.com/data.csv?X-Amz-Credential=${plant('presigncred')}&X-Amz-Signature=${plant('presignsig')}`
  // a run whose pod logs them: a Job with the run label and a pod of the host runtime that echoes
  const key = 'bundlecanary0001'
  sb.store.create({group: 'batch', version: 'v1', resource: 'jobs'}, {apiVersion: 'batch/v1', kind: 'Job', metadata: {name: 'ingest-canary', namespace: 'tracebloc', labels: {'tracebloc.io/ingestion-run': key}}, spec: {template: {spec: {restartPolicy: 'Never', containers: [{name: 'c', image: 'busybox:1.35', command: ['/bin/sh', '-c', `echo fetching '${presigned}'; echo auth ${jwt}; echo DB_PASSWORD=${sb.mysql.password}; sleep 30`], env: [{name: 'BACKEND_TOKEN', value: plant('jobenv')}]}]}}}})
  for (let i = 0; i < 200; i++) {
    const pods = sb.store.list(PODS, {namespace: 'tracebloc', labelSelector: 'job-name=ingest-canary'}).items
    if (pods.some((p) => p.status?.phase === 'Running')) break
    await new Promise((r) => setTimeout(r, 100))
  }
  await new Promise((r) => setTimeout(r, 500))
  const file = path.join(home, 'support.tar.gz')
  const r = await doctor(['--bundle', file])
  assert.equal(r.code, 0, r.stdout + r.stderr)
  assert.equal(r.json.bundle, file)
  assert.equal(statSync(file).mode & 0o077, 0, 'the bundle is readable by its owner only')
  const out = path.join(home, 'unpacked')
  mkdirSync(out)
  execFileSync('tar', ['-xzf', file, '-C', out])
  const files: string[] = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      if (e.isDirectory()) walk(path.join(d, e.name))
      else files.push(path.join(d, e.name))
    }
  }
  walk(out)
  const all = files.map((f) => readFileSync(f, 'utf8')).join('\n')
  const rel = files.map((f) => path.relative(out, f))
  for (const f of ['tracebloc-support/doctor.json', 'tracebloc-support/versions.json', 'tracebloc-support/recent-runs.json', 'tracebloc-support/release/deployments.json', 'tracebloc-support/release/secrets.json']) assert.ok(rel.includes(f), f)
  assert.ok(rel.some((f) => /^tracebloc-support\/runs\/ingest-canary\/.+\.log$/.test(f)), 'the run’s pod log')
  assert.match(all, /fetching https:\/\/bucket\.s3\.amazonaws\.com\/data\.csv\?\[REDACTED\]/, 'the log is there, redacted')
  assert.match(all, /"name": "canary-secret"/, 'Secrets are listed by name')
  assert.match(all, /"name": "CLIENT_PVC",\s*"value": "client-pvc"/, 'allow-listed env values stay')
  for (const [where, value] of Object.entries(planted)) assert.ok(!all.includes(value), `canary from ${where} leaked`)
  const admin = JSON.parse(readFileSync(sb.kubeconfigPath, 'utf8')).users.find((u: {name: string}) => u.name === 'admin').user.token
  assert.ok(!all.includes(admin), 'the kubeconfig token')
  assert.ok(!all.includes(sb.mysql.password), 'the MySQL root password')
  assert.doesNotMatch(all, /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{5,}\./, 'no JWT')
  sb.store.delete({group: 'batch', version: 'v1', resource: 'jobs'}, 'tracebloc', 'ingest-canary')
  for (const p of sb.store.list(PODS, {namespace: 'tracebloc', labelSelector: 'job-name=ingest-canary'}).items) sb.store.delete(PODS, 'tracebloc', p.metadata.name)
})
