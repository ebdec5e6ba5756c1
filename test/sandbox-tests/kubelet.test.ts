// Kubelet emulation against a running sandbox: real bwrap processes, exec in the pod's filesystem
// view, logs, activeDeadlineSeconds, deletion, and each pod-level fault knob.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs'
import path from 'node:path'
import {PassThrough} from 'node:stream'
import {after, afterEach, before, test} from 'node:test'
import {startSandbox, type Sandbox} from '../sandbox/index.js'
import {ALPINE_BUSYBOX, BUSYBOX, isAlpine320OrLater} from '../sandbox/kubelet/rootfs.js'
import type {KObject} from '../sandbox/types.js'
import {until} from '../helpers/until.js'

const PODS = {group: '', version: 'v1', resource: 'pods'}
const EVENTS = {group: '', version: 'v1', resource: 'events'}
let sb: Sandbox
let n = 0
before(async () => {
  sb = await startSandbox()
})
after(() => sb?.stop())
afterEach(() => sb.faults.clear())

function pod(spec: Partial<KObject['spec']> & {command?: string[]; image?: string; ro?: boolean}): string {
  const name = `p${++n}`
  sb.store.create(PODS, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {name, namespace: 'tracebloc'},
    spec: {
      restartPolicy: 'Never',
      securityContext: {runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532},
      activeDeadlineSeconds: spec.activeDeadlineSeconds,
      containers: [{name: 'c', image: spec.image ?? 'alpine:3.20@sha256:d9e853e87e55526f6b2917df91a2115c36dd7c696a35be12163d44e6e2a4b6bc', command: spec.command ?? ['/bin/sleep', '600'], securityContext: {readOnlyRootFilesystem: spec.ro ?? true}, volumeMounts: [{name: 'shared', mountPath: '/data/shared'}, {name: 'tmp', mountPath: '/tmp'}]}],
      volumes: [{name: 'shared', persistentVolumeClaim: {claimName: 'client-pvc'}}, {name: 'tmp', emptyDir: {}}],
    },
  })
  return name
}

const get = (name: string) => sb.store.get(PODS, 'tracebloc', name)
const events = (name: string) => sb.store.list(EVENTS, {namespace: 'tracebloc'}).items.filter((e) => e.involvedObject.name === name).map((e) => `${e.reason}: ${e.message}`)
const ready = (p: KObject | undefined) => p?.status?.conditions?.some((c: KObject) => c.type === 'Ready' && c.status === 'True')

async function exec(name: string, argv: string[], stdin?: string) {
  const out = new PassThrough()
  const err = new PassThrough()
  let so = ''
  let se = ''
  out.on('data', (b) => (so += b))
  err.on('data', (b) => (se += b))
  const input = stdin === undefined ? undefined : new PassThrough()
  input?.end(stdin)
  const r = await sb.kubelet.exec('tracebloc', name, undefined, argv, {stdin: input, stdout: out, stderr: err}, new AbortController().signal)
  return {exitCode: 'exitCode' in r ? r.exitCode : -1, stdout: so, stderr: se}
}

test('pod runs as a real process: Ready, uid/gid, PVC at /data/shared, read-only root, events; exec sees the same files', async () => {
  const name = pod({})
  const p = await until('Ready', () => ready(get(name)) && get(name))
  assert.equal(p.status.phase, 'Running')
  assert.ok(p.status.containerStatuses[0].state.running.startedAt)
  assert.match(p.status.containerStatuses[0].imageID, /^alpine@sha256:[0-9a-f]{64}$/)
  const r = await exec(name, ['/bin/sh', '-c', 'id -u; id -g; cat > /data/shared/from-exec; touch /rootfile 2>/dev/null || echo ro; echo t > /tmp/x && cat /tmp/x; which tar sha256sum find head mv'], 'hello')
  assert.equal(r.exitCode, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  assert.deepEqual(lines.slice(0, 4), ['65532', '65532', 'ro', 't'])
  assert.equal(lines.slice(4).filter((l) => /\/(tar|sha256sum|find|head|mv)$/.test(l)).length, 5)
  assert.equal(fs.readFileSync(path.join(sb.pvcDir, 'from-exec'), 'utf8'), 'hello')
  assert.deepEqual((await exec(name, ['/bin/sh', '-c', 'exit 7'])).exitCode, 7)
  assert.deepEqual(events(name).map((e) => e.split(':')[0]), ['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started'])
  sb.kubelet.deletePod('tracebloc', name, 1)
  await until('deleted', () => !get(name))
  assert.ok(events(name).some((e) => e.startsWith('Killing')))
})

/** The busybox banner and /bin of a Ready pod of `image`, then the pod deleted. */
async function busyboxOf(image: string) {
  const name = pod({image})
  await until(`${image} Ready`, () => ready(get(name)))
  const r = await exec(name, ['/bin/sh', '-c', 'busybox | head -1; ls /bin'])
  sb.kubelet.deletePod('tracebloc', name, 0)
  assert.equal(r.exitCode, 0, r.stderr)
  const [banner, ...bin] = r.stdout.trim().split('\n')
  return {banner, bin: bin.sort()}
}
const appletsOf = (busybox: string) => ['busybox', ...execFileSync(busybox, ['--list'], {encoding: 'utf8'}).split('\n').filter((a) => a && a !== 'busybox')].sort()

test('alpine:3.20 pods run trixie\'s busybox 1.37 (hardware SHA-256, like alpine 3.20\'s), /bin from its applets', {skip: fs.existsSync(ALPINE_BUSYBOX) ? false : `no trixie busybox at ${ALPINE_BUSYBOX} (node scripts/sandbox-deps.mjs as root fetches it); alpine pods use the system busybox`}, async () => {
  const {banner, bin} = await busyboxOf('alpine:3.20@sha256:d9e853e87e55526f6b2917df91a2115c36dd7c696a35be12163d44e6e2a4b6bc')
  assert.match(banner, /^BusyBox v1\.37\./)
  assert.deepEqual(bin, appletsOf(ALPINE_BUSYBOX))
})

test('which images count as alpine 3.20 or later', () => {
  for (const image of ['alpine:3.20', 'alpine:3.20.3@sha256:' + 'a'.repeat(64), 'docker.io/library/alpine:3.21', 'registry.local:5000/alpine:4.0', 'alpine', 'alpine:latest', 'alpine@sha256:' + 'b'.repeat(64)]) assert.ok(isAlpine320OrLater(image), image)
  for (const image of ['alpine:3.18', 'alpine:3.9', 'busybox:1.35', 'busybox', 'myalpine:3.20', 'alpine-extra:3.20', 'tracebloc/ingestor:1']) assert.ok(!isAlpine320OrLater(image), image)
})

test('busybox:1.35 and alpine:3.18 pods run the system busybox 1.35, /bin from its applets', async () => {
  for (const image of ['busybox:1.35', 'alpine:3.18']) {
    const {banner, bin} = await busyboxOf(image)
    assert.match(banner, /^BusyBox v1\.35\./, image)
    assert.deepEqual(bin, appletsOf(BUSYBOX), image)
  }
})

test('logs: real stdout+stderr, tailLines, timestamps, follow to exit; Succeeded/Failed with exit codes', async () => {
  const name = pod({command: ['/bin/sh', '-c', 'echo one; echo two >&2; sleep 0.3; echo three; exit 3']})
  const first = new PassThrough()
  let followed = ''
  first.on('data', (b) => (followed += b))
  await until('Running', () => get(name)?.status?.phase === 'Running' || get(name)?.status?.phase === 'Failed')
  await sb.kubelet.logs('tracebloc', name, {follow: true}, first, new AbortController().signal)
  assert.equal(followed, 'one\ntwo\nthree\n')
  const p = await until('Failed', () => get(name)?.status?.phase === 'Failed' && get(name))
  assert.deepEqual([p.status.containerStatuses[0].state.terminated.exitCode, p.status.containerStatuses[0].state.terminated.reason], [3, 'Error'])
  const tail = new PassThrough()
  let t = ''
  tail.on('data', (b) => (t += b))
  await sb.kubelet.logs('tracebloc', name, {tailLines: 1, timestamps: true}, tail, new AbortController().signal)
  assert.match(t, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z three\n$/)
})

test('activeDeadlineSeconds kills the pod: Failed, reason DeadlineExceeded', async () => {
  const name = pod({activeDeadlineSeconds: 1})
  const p = await until('DeadlineExceeded', () => get(name)?.status?.reason === 'DeadlineExceeded' && get(name)?.status?.phase === 'Failed' && get(name))
  assert.equal(p.status.phase, 'Failed')
})

test('fault imagePullFailure: ErrImagePull → ImagePullBackOff, events, logs 400', async () => {
  sb.faults.set({imagePullFailure: 'no-such-image'})
  const name = pod({image: 'registry.example/no-such-image:1'})
  const p = await until('ImagePullBackOff', () => get(name)?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff' && get(name))
  assert.equal(p.status.phase, 'Pending')
  const ev = events(name)
  assert.ok(ev.includes('Failed: Error: ErrImagePull'), ev.join('\n'))
  assert.ok(ev.includes('BackOff: Back-off pulling image "registry.example/no-such-image:1"'))
  await assert.rejects(sb.kubelet.logs('tracebloc', name, {}, new PassThrough(), new AbortController().signal), /is waiting to start/)
})

test('fault stuckPending: FailedScheduling event, PodScheduled=False; clearing the fault schedules it', async () => {
  sb.faults.set({stuckPending: 'stuck'})
  sb.store.create(PODS, {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'stuck-1', namespace: 'tracebloc'}, spec: {restartPolicy: 'Never', containers: [{name: 'c', image: 'busybox', command: ['sleep', '600']}]}})
  await until('FailedScheduling', () => events('stuck-1').some((e) => e.startsWith('FailedScheduling: 0/1 nodes are available: ')))
  const cond = get('stuck-1')!.status.conditions.find((c: KObject) => c.type === 'PodScheduled')
  assert.deepEqual([cond.status, cond.reason], ['False', 'Unschedulable'])
  await assert.rejects(sb.kubelet.logs('tracebloc', 'stuck-1', {}, new PassThrough(), new AbortController().signal), /container "c" in pod "stuck-1" is waiting to start: ContainerCreating/)
  sb.faults.clear()
  await until('Running', () => get('stuck-1')?.status?.phase === 'Running')
  sb.kubelet.deletePod('tracebloc', 'stuck-1', 0)
})

test('fault pvcNotBound: client-pvc Pending and pods using it stay unschedulable', async () => {
  sb.faults.set({pvcNotBound: true})
  assert.equal(sb.store.get({group: '', version: 'v1', resource: 'persistentvolumeclaims'}, 'tracebloc', 'client-pvc')!.status.phase, 'Pending')
  const name = pod({})
  await until('FailedScheduling', () => events(name).some((e) => e.includes('pod has unbound immediate PersistentVolumeClaims')))
  assert.equal(get(name)!.status.phase, 'Pending')
})

test('fault cutLogStreamAfterBytes: the stream stops after N bytes with an error', async () => {
  const name = pod({command: ['/bin/sh', '-c', 'echo 0123456789; echo abcdefghij; sleep 600']})
  await until('output', () => get(name)?.status?.phase === 'Running')
  // both lines are in the log before the cut is set (a poll with a deadline, not a guess of how long echo takes)
  const deadline = Date.now() + 20_000
  for (;;) {
    const o = new PassThrough()
    let t = ''
    o.on('data', (b) => (t += b))
    await sb.kubelet.logs('tracebloc', name, {}, o, new AbortController().signal)
    if (t.includes('abcdefghij\n')) break
    if (Date.now() > deadline) throw new Error(`timed out waiting for both lines in the log: ${JSON.stringify(t)}`)
    await new Promise((r) => setTimeout(r, 25))
  }
  sb.faults.set({cutLogStreamAfterBytes: 15})
  try {
    const out = new PassThrough()
    let s = ''
    out.on('data', (b) => (s += b))
    await assert.rejects(sb.kubelet.logs('tracebloc', name, {follow: true}, out, new AbortController().signal), /log stream cut after 15 bytes/)
    assert.equal(s, '0123456789\nabcd')
  } finally {
    sb.faults.clear()
    sb.kubelet.deletePod('tracebloc', name, 0)
  }
})

test('Job controller: pod <job>-<5> labelled job-name, backoffLimit retries, Complete/Failed conditions', async () => {
  const JOBS = {group: 'batch', version: 'v1', resource: 'jobs'}
  sb.store.create(JOBS, {apiVersion: 'batch/v1', kind: 'Job', metadata: {name: 'ok-job', namespace: 'tracebloc'}, spec: {backoffLimit: 0, template: {spec: {restartPolicy: 'Never', containers: [{name: 'c', image: 'busybox', command: ['sh', '-c', 'echo done']}]}}}})
  sb.store.create(JOBS, {apiVersion: 'batch/v1', kind: 'Job', metadata: {name: 'bad-job', namespace: 'tracebloc'}, spec: {backoffLimit: 1, template: {spec: {restartPolicy: 'Never', containers: [{name: 'c', image: 'busybox', command: ['sh', '-c', 'exit 1']}]}}}})
  const ok = await until('Complete', () => sb.store.get(JOBS, 'tracebloc', 'ok-job')?.status?.conditions?.some((c: KObject) => c.type === 'Complete') && sb.store.get(JOBS, 'tracebloc', 'ok-job'))
  assert.equal(ok.status.succeeded, 1)
  assert.ok(ok.status.completionTime)
  const bad = await until('Failed', () => sb.store.get(JOBS, 'tracebloc', 'bad-job')?.status?.conditions?.some((c: KObject) => c.type === 'Failed') && sb.store.get(JOBS, 'tracebloc', 'bad-job'))
  assert.equal(bad.status.failed, 2)
  const pods = sb.store.list(PODS, {namespace: 'tracebloc', labelSelector: 'job-name=bad-job'}).items
  assert.equal(pods.length, 2)
  for (const p of pods) {
    assert.match(p.metadata.name, /^bad-job-[a-z0-9]{5}$/)
    assert.equal(p.metadata.labels['batch.kubernetes.io/job-name'], 'bad-job')
    assert.equal(p.metadata.ownerReferences[0].kind, 'Job')
  }
})

test('a pod the runtime cannot start (env from a binary Secret with NUL bytes) fails with StartError; the sandbox lives on', async () => {
  sb.store.create({group: '', version: 'v1', resource: 'secrets'}, {apiVersion: 'v1', kind: 'Secret', metadata: {name: 'binary', namespace: 'tracebloc'}, data: {k: Buffer.from([0x61, 0x00, 0x62]).toString('base64')}})
  sb.store.create(PODS, {
    apiVersion: 'v1', kind: 'Pod', metadata: {name: 'nul-env', namespace: 'tracebloc'},
    spec: {restartPolicy: 'Never', containers: [{name: 'c', image: 'busybox', command: ['true'], env: [{name: 'TOKEN', valueFrom: {secretKeyRef: {name: 'binary', key: 'k'}}}]}]},
  })
  const p = await until('Failed', () => get('nul-env')?.status?.phase === 'Failed' && get('nul-env'))
  const term = p.status.containerStatuses[0].state.terminated
  assert.deepEqual([term.reason, term.exitCode], ['StartError', 128])
  assert.match(term.message, /^failed to create containerd task: .*unable to start container process: /)
  assert.ok(events('nul-env').some((e) => e.startsWith('Failed: Error: failed to create containerd task')), events('nul-env').join('\n'))
  // the process is still here and other pods still run
  const name = pod({})
  await until('Ready', () => ready(get(name)))
  sb.kubelet.deletePod('tracebloc', name, 0)
})
