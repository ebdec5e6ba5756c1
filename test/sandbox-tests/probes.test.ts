// Readiness probes in the sandbox's kubelet: exec, tcpSocket and httpGet probes run as a kubelet runs them,
// Ready flips both ways with the thresholds, the pod's Ready/ContainersReady and a Deployment's readyReplicas
// follow, and each failed probe is an Unhealthy event.
import assert from 'node:assert/strict'
import {PassThrough} from 'node:stream'
import {after, before, test} from 'node:test'
import {startSandbox, type Sandbox} from '../sandbox/index.js'
import type {KObject} from '../sandbox/types.js'

const NS = 'tracebloc'
const PODS = {group: '', version: 'v1', resource: 'pods'}
const EVENTS = {group: '', version: 'v1', resource: 'events'}
const DEPLOYMENTS = {group: 'apps', version: 'v1', resource: 'deployments'}
const IMAGE = 'alpine:3.20@sha256:d9e853e87e55526f6b2917df91a2115c36dd7c696a35be12163d44e6e2a4b6bc'
let sb: Sandbox
let n = 0
// An in-process image for the tcpSocket/httpGet probes: port 8080 answers HTTP with `httpStatus`; `listening` false refuses.
const probed = {listening: true, httpStatus: 200}
before(async () => {
  sb = await startSandbox()
  sb.kubelet.registerInProcessImage({
    matches: (image) => image.startsWith('example.test/probed'),
    accept(_pod, port, socket) {
      if (port !== 8080 || !probed.listening) return false
      socket.once('data', () => socket.end(`HTTP/1.1 ${probed.httpStatus} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`))
      return true
    },
  })
})
after(() => sb?.stop())

function pod(container: Record<string, any>): string {
  const name = `probe${++n}`
  sb.store.create(PODS, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {name, namespace: NS},
    spec: {
      restartPolicy: 'Never',
      containers: [{name: 'c', image: IMAGE, command: ['/bin/sleep', '600'], volumeMounts: [{name: 'tmp', mountPath: '/tmp'}], ...container}],
      volumes: [{name: 'tmp', emptyDir: {}}],
    },
  })
  return name
}

const get = (name: string) => sb.store.get(PODS, NS, name)
const cond = (p: KObject | undefined, type: string) => p?.status?.conditions?.find((c: KObject) => c.type === type)?.status
const unhealthy = (name: string) => sb.store.list(EVENTS, {namespace: NS}).items.filter((e) => e.involvedObject.name === name && e.reason === 'Unhealthy')

async function until<T>(what: string, fn: () => T | undefined | false, deadlineMs = 20_000): Promise<T> {
  const end = Date.now() + deadlineMs
  for (;;) {
    const v = fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(sb.store.list(PODS, {namespace: NS}).items.map((p) => [p.metadata.name, p.status?.conditions]))}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function exec(name: string, argv: string[]): Promise<number | undefined> {
  const r = await sb.kubelet.exec(NS, name, undefined, argv, {stdout: new PassThrough(), stderr: new PassThrough()}, new AbortController().signal)
  return 'exitCode' in r ? r.exitCode : undefined
}

test('exec probe: Running but not Ready until the command succeeds; Ready flips back after failureThreshold failures', async () => {
  const name = pod({readinessProbe: {exec: {command: ['test', '-f', '/tmp/ready']}, periodSeconds: 1, failureThreshold: 2}})
  await until('Running', () => get(name)?.status?.phase === 'Running')
  await until('a failed probe', () => unhealthy(name).length > 0)
  const p = get(name)!
  assert.equal(cond(p, 'Ready'), 'False')
  assert.equal(cond(p, 'ContainersReady'), 'False')
  assert.equal(p.status.containerStatuses[0].ready, false)
  assert.equal(p.status.containerStatuses[0].started, true)
  assert.match(unhealthy(name)[0].message, /^Readiness probe failed/)

  assert.equal(await exec(name, ['touch', '/tmp/ready']), 0)
  await until('Ready', () => cond(get(name), 'Ready') === 'True')
  assert.equal(cond(get(name), 'ContainersReady'), 'True')
  assert.equal(get(name)!.status.containerStatuses[0].ready, true)

  const failuresBefore = unhealthy(name).length
  assert.equal(await exec(name, ['rm', '/tmp/ready']), 0)
  await until('not Ready again', () => cond(get(name), 'Ready') === 'False')
  // failureThreshold 2: two failed probes before Ready turned False
  assert.ok(unhealthy(name).length - failuresBefore >= 2, `${unhealthy(name).length - failuresBefore} failures`)
  assert.equal(cond(get(name), 'ContainersReady'), 'False')
})

test('exec probe: a command slower than timeoutSeconds is a failure', async () => {
  const name = pod({readinessProbe: {exec: {command: ['sleep', '30']}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1}})
  const ev = await until('a timed-out probe', () => unhealthy(name)[0])
  assert.match(ev.message, /timed out/)
  assert.equal(cond(get(name), 'Ready'), 'False')
})

test('initialDelaySeconds: no probe runs before the delay, so the container stays not Ready', async () => {
  const late = pod({readinessProbe: {exec: {command: ['true']}, initialDelaySeconds: 600, periodSeconds: 1}})
  const witness = pod({readinessProbe: {exec: {command: ['true']}, periodSeconds: 1}})
  await until('the witness Ready', () => cond(get(witness), 'Ready') === 'True')
  assert.equal(get(late)?.status?.phase, 'Running')
  assert.equal(cond(get(late), 'Ready'), 'False')
  assert.equal(unhealthy(late).length, 0)
})

test('tcpSocket and httpGet probes: a refused port or a 5xx answer is not Ready, 2xx is; named ports resolve', async () => {
  probed.listening = false
  probed.httpStatus = 200
  const probe = {periodSeconds: 1, failureThreshold: 1}
  const tcp = pod({image: 'example.test/probed:1', ports: [{name: 'http', containerPort: 8080}], readinessProbe: {tcpSocket: {port: 'http'}, ...probe}})
  const http = pod({image: 'example.test/probed:1', readinessProbe: {httpGet: {port: 8080, path: '/healthz'}, ...probe}})
  await until('refused probes', () => unhealthy(tcp).length > 0 && unhealthy(http).length > 0)
  assert.match(unhealthy(tcp)[0].message, /connection refused/)
  assert.equal(cond(get(tcp), 'Ready'), 'False')
  probed.listening = true
  await until('both Ready', () => cond(get(tcp), 'Ready') === 'True' && cond(get(http), 'Ready') === 'True')
  probed.httpStatus = 503
  await until('httpGet not Ready on 503', () => cond(get(http), 'Ready') === 'False')
  assert.ok(unhealthy(http).some((e) => /statuscode: 503/.test(e.message)))
  assert.equal(cond(get(tcp), 'Ready'), 'True', 'the port still accepts: tcpSocket stays Ready')
})

test("the release's probes: jobs-manager's tcpSocket probe drives its Deployment's readyReplicas both ways", async () => {
  const jm = () => sb.store.list(PODS, {namespace: NS, labelSelector: 'app=manager'}).items.find((p) => p.status?.phase === 'Running')
  const deploy = () => sb.store.get(DEPLOYMENTS, NS, 'tracebloc-jobs-manager')
  await until('jobs-manager Ready', () => cond(jm(), 'Ready') === 'True' && deploy()?.status?.readyReplicas === 1)
  sb.faults.set({jobsManager: 'notready'})
  try {
    await until('jobs-manager not Ready', () => cond(jm(), 'Ready') === 'False' && deploy()?.status?.readyReplicas === undefined)
    assert.ok(unhealthy(jm()!.metadata.name).some((e) => /connection refused/.test(e.message)))
  } finally {
    sb.faults.clear()
  }
  await until('jobs-manager Ready again', () => cond(jm(), 'Ready') === 'True' && deploy()?.status?.readyReplicas === 1)
  // MySQL's exec probe (mysqladmin ping on the server's socket) has made its pod Ready
  await until('mysql-client Ready', () => cond(sb.store.list(PODS, {namespace: NS, labelSelector: 'app=mysql-client'}).items[0], 'Ready') === 'True')
})
