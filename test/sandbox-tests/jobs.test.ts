// The sandbox's Job controller and Job deletion, checked the way clients see them: Job status like the
// real controller keeps it, `kubectl get jobs` DURATION that stops at completion, finished pods' logs
// readable until the pod goes, and DELETE honouring propagationPolicy (with the real server's warning
// when a batch/v1 Job is deleted without one).
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import https from 'node:https'
import {after, before, test} from 'node:test'

import {startSandbox, type Sandbox} from '../sandbox/index.js'
import type {KObject} from '../sandbox/types.js'
import {until} from '../helpers/until.js'

const JOBS = {group: 'batch', version: 'v1', resource: 'jobs'}
const PODS = {group: '', version: 'v1', resource: 'pods'}
const NS = 'tracebloc'
let sb: Sandbox
let ca: string
before(async () => {
  sb = await startSandbox()
  const cfg = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(sb.kubeconfigPath, 'utf8')))
  ca = Buffer.from(cfg.clusters[0].cluster['certificate-authority-data'], 'base64').toString('utf8')
})
after(() => sb?.stop())

function job(name: string, script: string): void {
  sb.store.create(JOBS, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {name, namespace: NS},
    spec: {backoffLimit: 0, template: {spec: {restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{name: 'c', image: 'busybox', command: ['sh', '-c', script]}]}}},
  })
}
const podsOf = (name: string) => sb.store.list(PODS, {namespace: NS, labelSelector: `job-name=${name}`}).items
const cond = (j: KObject | undefined, type: string) => j?.status?.conditions?.find((c: KObject) => c.type === type && c.status === 'True')

function raw(method: string, p: string): Promise<{code: number; headers: Record<string, string | string[] | undefined>; body: any}> {
  return new Promise((resolve, reject) => {
    const req = https.request(sb.apiUrl + p, {method, ca, headers: {authorization: `Bearer ${sb.tokens.admin}`, accept: 'application/json'}}, (res) => {
      let s = ''
      res.on('data', (c) => (s += c))
      res.on('end', () => resolve({code: res.statusCode ?? 0, headers: res.headers, body: s ? JSON.parse(s) : undefined}))
    })
    req.on('error', reject)
    req.end()
  })
}

function kubectl(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile('kubectl', ['--kubeconfig', sb.kubeconfigPath, '-n', NS, ...args], (err, stdout, stderr) => resolve({code: err ? Number((err as {code?: number}).code ?? 1) : 0, stdout, stderr}))
  })
}

test('Job status: startTime, counters and Complete with completionTime; Failed with its reason; counters survive pod deletion; logs kept until the pod goes', async () => {
  job('st-ok', 'echo done')
  job('st-bad', 'echo oops >&2; exit 3')
  const ok = await until('Complete', () => cond(sb.store.get(JOBS, NS, 'st-ok'), 'Complete') && sb.store.get(JOBS, NS, 'st-ok'))
  assert.ok(ok.status.startTime && ok.status.completionTime)
  assert.ok(Date.parse(ok.status.completionTime) >= Date.parse(ok.status.startTime))
  assert.equal(ok.status.succeeded, 1)
  assert.equal(ok.status.active, undefined)
  const bad = await until('Failed', () => cond(sb.store.get(JOBS, NS, 'st-bad'), 'Failed') && sb.store.get(JOBS, NS, 'st-bad'))
  assert.equal(cond(bad, 'Failed').reason, 'BackoffLimitExceeded')
  assert.equal(bad.status.failed, 1)
  assert.equal(bad.status.completionTime, undefined, 'set only on success, as the real controller does')

  // The finished pod's log stays readable while the pod exists.
  const [p] = podsOf('st-bad')
  const text = await kubectl(['logs', p.metadata.name])
  assert.equal(text.stdout, 'oops\n')
  // Deleting the finished pod keeps the Job's counters (the real controller tracks them by finalizer).
  await kubectl(['delete', 'pod', p.metadata.name, '--wait=false'])
  await until('pod gone', () => podsOf('st-bad').length === 0)
  await new Promise((r) => setTimeout(r, 100))
  assert.equal(sb.store.get(JOBS, NS, 'st-bad')?.status.failed, 1)
  assert.notEqual((await kubectl(['logs', p.metadata.name])).code, 0, 'its log went with it')
})

test('kubectl get jobs: DURATION stops at completion', async () => {
  const j = sb.store.get(JOBS, NS, 'st-ok')!
  const want = Math.round((Date.parse(j.status.completionTime) - Date.parse(j.status.startTime)) / 1000)
  // two seconds past completion: a duration still counting would show at least that
  await until('2 s past completion', () => Date.now() >= Date.parse(j.status.completionTime) + 2100)
  const r = await kubectl(['get', 'job', 'st-ok', '--no-headers'])
  assert.equal(r.code, 0, r.stderr)
  const cols = r.stdout.trim().split(/\s+/)
  assert.deepEqual(cols.slice(0, 4), ['st-ok', 'Complete', '1/1', `${want}s`])
})

test('DELETE of a Job: no propagationPolicy orphans its pods with a Warning; Background removes them; Foreground keeps the Job until they are gone', async () => {
  job('del-none', 'sleep 600')
  job('del-bg', 'sleep 600')
  job('del-fg', 'sleep 600')
  for (const n of ['del-none', 'del-bg', 'del-fg']) await until(`${n} running`, () => podsOf(n).some((p) => p.status?.phase === 'Running'))

  const none = await raw('DELETE', `/apis/batch/v1/namespaces/${NS}/jobs/del-none`)
  assert.equal(none.code, 200)
  assert.match(String(none.headers.warning), /^299 - "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them/)
  await until('del-none gone', () => sb.store.get(JOBS, NS, 'del-none') === undefined)
  assert.equal(podsOf('del-none').filter((p) => !p.metadata.deletionTimestamp).length, 1, 'the orphaned pod keeps running')

  const bg = await raw('DELETE', `/apis/batch/v1/namespaces/${NS}/jobs/del-bg?propagationPolicy=Background`)
  assert.equal(bg.code, 200)
  assert.equal(bg.headers.warning, undefined)
  await until('Background: pods gone', () => podsOf('del-bg').length === 0)

  const fg = await raw('DELETE', `/apis/batch/v1/namespaces/${NS}/jobs/del-fg?propagationPolicy=Foreground`)
  assert.equal(fg.code, 200)
  assert.ok(fg.body.metadata.deletionTimestamp)
  assert.deepEqual(fg.body.metadata.finalizers, ['foregroundDeletion'])
  const seen = await until('Foreground: pods gone', () => (podsOf('del-fg').length === 0 ? 'gone' : sb.store.get(JOBS, NS, 'del-fg') ? undefined : 'job-first'))
  assert.equal(seen, 'gone', 'the Job outlives its pods')
  await until('Foreground: Job gone', () => !sb.store.get(JOBS, NS, 'del-fg'))
  for (const p of podsOf('del-none')) sb.kubelet.deletePod(NS, p.metadata.name, 0)
})
