// What the CLI does when a release component is up but its readiness probe fails. The sandbox's kubelet runs
// the probes the release declares, so here the jobs-manager keeps answering on its port while its probe
// (pointed at a path that answers 404) keeps it not Ready: push, cluster info and doctor must refuse it
// with the documented exit code and a next step, and accept it again once the probe passes.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {leftovers, runCli, SAMPLES, sandboxPerFile} from './push-cli.js'
import {until} from '../helpers/until.js'

const sandbox = sandboxPerFile()
const NS = 'tracebloc'
const PODS = {group: '', version: 'v1', resource: 'pods'}
const EVENTS = {group: '', version: 'v1', resource: 'events'}
const DEPLOYMENTS = {group: 'apps', version: 'v1', resource: 'deployments'}
const JM = 'tracebloc-jobs-manager'
const STACK = /^\s+at .+:\d+:\d+\)?$/m
const CSV = path.join(SAMPLES, 'tabular_classification/tabular_classification_sample_in_csv_format.csv')
const cache = mkdtempSync(path.join(os.tmpdir(), 'tb-readiness-'))
after(() => rmSync(cache, {recursive: true, force: true}))
const env = {XDG_CACHE_HOME: cache, TRACEBLOC_STAGE_POD_TIMEOUT: '20', TRACEBLOC_POD_START_TIMEOUT: '20'}
const cli = (args: string[]) => runCli([...args, '--kubeconfig', sandbox().kubeconfigPath], {env})

const jmPods = () => sandbox().store.list(PODS, {namespace: NS, labelSelector: 'app=manager'}).items.filter((p) => !p.metadata.deletionTimestamp)
const isReady = (p: any) => (p?.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True')

const podsOf = (app: string) => sandbox().store.list(PODS, {namespace: NS, labelSelector: `app=${app}`}).items.filter((p) => !p.metadata.deletionTimestamp)

/** Sets a Deployment's readiness probe and replaces its pod, as a rollout would; returns the new Running pod's name. */
async function rollProbe(deployment: string, app: string, probe: object): Promise<string> {
  const sb = sandbox()
  const old = podsOf(app).map((p) => p.metadata.name)
  sb.store.update(DEPLOYMENTS, NS, deployment, (d) => {
    d.spec.template.spec.containers[0].readinessProbe = probe
  })
  for (const name of old) sb.store.delete(PODS, NS, name)
  const pod = await until(`a new Running ${app} pod`, () => podsOf(app).find((p) => !old.includes(p.metadata.name) && p.status?.phase === 'Running'))
  return pod.metadata.name
}
const jmProbe = (probePath: string) => rollProbe(JM, 'manager', {httpGet: {port: 'http', path: probePath}, periodSeconds: 1, failureThreshold: 1})

test('jobs-manager Running but its readiness probe failing: push, cluster info and doctor exit 8 with a next step; Ready again once the probe passes', async () => {
  const sb = sandbox()
  const pod = await jmProbe('/no-such-health-path')
  // the probe, not the port, decides: the kubelet reports why and keeps the pod out of Ready
  const ev = await until('an Unhealthy event', () => sb.store.list(EVENTS, {namespace: NS}).items.find((e) => e.involvedObject.name === pod && e.reason === 'Unhealthy'))
  assert.match(ev.message, /statuscode: 404/)
  assert.ok(!isReady(jmPods()[0]))

  const push = await cli(['dataset', 'push', CSV, '--table', 'probe_gate', '--category', 'tabular_classification', '--json'])
  assert.equal(push.code, 8, push.stdout + push.stderr)
  assert.equal(push.json.reason, 'jobs_manager_unavailable')
  assert.match(push.json.error, /jobs-manager is not ready: 1 pod\(s\) .*1 Running, none Ready/)
  assert.match(push.json.hint, /kubectl get pods -n tracebloc -l app=manager/)
  assert.deepEqual(leftovers(sb), {pods: [], scratch: []}, 'nothing left in the cluster')

  const human = await cli(['dataset', 'push', CSV, '--table', 'probe_gate', '--category', 'tabular_classification'])
  assert.equal(human.code, 8)
  assert.match(human.stderr, /^Error: jobs-manager is not ready/m)
  assert.match(human.stderr, /→ .*kubectl get pods/)
  assert.doesNotMatch(human.stdout + human.stderr, STACK)

  const info = await cli(['cluster', 'info', '--json'])
  assert.equal(info.code, 8, info.stdout + info.stderr)
  assert.equal(info.json.ready, false)
  assert.match(JSON.stringify(info.json.jobs_manager), /none Ready/)

  const doctor = await cli(['doctor', '--json'])
  assert.equal(doctor.code, 8, doctor.stdout + doctor.stderr)
  const check = doctor.json.checks.find((c: any) => c.name === 'jobs-manager')
  assert.equal(check.status, 'fail', JSON.stringify(check))
  assert.match(check.detail, /none Ready/)

  // a probe on the real health endpoint: Ready, and the CLI takes it again
  await jmProbe('/healthz')
  await until('jobs-manager Ready', () => isReady(jmPods()[0]))
  const ok = await cli(['cluster', 'info', '--json'])
  assert.equal(ok.code, 0, ok.stdout + ok.stderr)
  assert.equal(ok.json.jobs_manager.ready, true)
})

test('a mysql-client pod Running but not Ready (its probe failing): dataset list still reads it, as the CLI takes a Running one when none is Ready', async () => {
  const sb = sandbox()
  const chart = sb.store.get(DEPLOYMENTS, NS, 'mysql-client')!.spec.template.spec.containers[0].readinessProbe
  const pod = await rollProbe('mysql-client', 'mysql-client', {exec: {command: ['false']}, periodSeconds: 1, failureThreshold: 1})
  try {
    await sb.mysql.ready()
    await until('an Unhealthy event', () => sb.store.list(EVENTS, {namespace: NS}).items.some((e) => e.involvedObject.name === pod && e.reason === 'Unhealthy'))
    assert.ok(!isReady(podsOf('mysql-client')[0]))
    const list = await cli(['dataset', 'list', '--json'])
    assert.equal(list.code, 0, list.stdout + list.stderr)
    assert.ok(Array.isArray(list.json.datasets))
  } finally {
    await rollProbe('mysql-client', 'mysql-client', chart)
    await sb.mysql.ready()
  }
  await until('mysql-client Ready again', () => isReady(podsOf('mysql-client')[0]))
})
