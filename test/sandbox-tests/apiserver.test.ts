// Client-level tests of the sandbox API server with @kubernetes/client-node and `ws`, over real
// HTTPS/WebSockets, with LocalRuntime (local processes / local TCP) standing in for the kubelet.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type {AddressInfo} from 'node:net'
import net from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'
import {after, before, test} from 'node:test'
import * as k8s from '@kubernetes/client-node'
import WebSocket from 'ws'
import {startApiServer, MemoryStore, type ApiServer} from '../sandbox/apiserver/index.js'
import {Faults} from '../sandbox/faults.js'
import {kubeconfigYaml} from '../sandbox/kubeconfig.js'
import {deleteTerminatingPods, LocalRuntime, runningPod} from './local-runtime.js'
import {until} from '../helpers/until.js'

const NS = 'tracebloc'
const PODS = {group: '', version: 'v1', resource: 'pods'}
let dir: string
let server: ApiServer
let store: MemoryStore
let runtime: LocalRuntime
let web: http.Server
const faults = new Faults()

const kc = (user = 'admin') => {
  const c = new k8s.KubeConfig()
  c.loadFromString(kubeconfigYaml({url: server.url, caData: server.caData, tokens: server.tokens, namespace: NS, defaultUser: user}))
  return c
}
const core = (user = 'admin') => kc(user).makeApiClient(k8s.CoreV1Api)
const status = (e: any) => ({code: e.code, ...JSON.parse(e.body)})
const raw = (p: string, init: {method?: string; token?: string; body?: unknown} = {}) =>
  new Promise<{code: number; headers: http.IncomingHttpHeaders; body: any}>((resolve, reject) => {
    const req = https.request(server.url + p, {
      method: init.method ?? 'GET', ca: server.caPem,
      headers: {...(init.token !== '' ? {Authorization: `Bearer ${init.token ?? server.tokens.admin}`} : {}), 'Content-Type': 'application/json'},
    }, (res) => {
      let b = ''
      res.on('data', (d) => (b += d))
      res.on('end', () => resolve({code: res.statusCode!, headers: res.headers, body: b ? JSON.parse(b) : undefined}))
    })
    req.on('error', reject)
    req.end(init.body === undefined ? undefined : JSON.stringify(init.body))
  })

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'apiserver-'))
  store = new MemoryStore(50)
  runtime = new LocalRuntime(path.join(dir, 'pods'))
  server = await startApiServer({store, runtime, faults, namespaces: [NS], bookmarkIntervalMs: 100})
  deleteTerminatingPods(store)
  web = http.createServer((req, res) => req.pipe(res))
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r))
  runtime.portMap.set(8080, (web.address() as AddressInfo).port)
  store.create(PODS, runningPod('p1', NS))
  store.create({group: '', version: 'v1', resource: 'serviceaccounts'}, {apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name: 'ingestor', namespace: NS}})
})
after(async () => {
  await server.close()
  web.close()
  rmSync(dir, {recursive: true, force: true})
})

test('wrong or missing token → 401 Status; /version and discovery answer', async () => {
  for (const token of ['', 'nope']) {
    const r = await raw('/api/v1/namespaces', {token})
    assert.equal(r.code, 401)
    assert.deepEqual(r.body, {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401})
  }
  assert.equal((await raw('/version')).body.minor, '32')
  const v1 = (await raw('/api/v1')).body
  assert.deepEqual(v1.resources.find((r: any) => r.name === 'pods').shortNames, ['po'])
  assert.ok(v1.resources.some((r: any) => r.name === 'serviceaccounts/token' && r.verbs.includes('create')))
  assert.equal((await raw('/apis/batch/v1')).body.resources[0].kind, 'Job')
})

test('errors are metav1.Status shaped: 404, 409, 422, 403', async () => {
  await assert.rejects(core().readNamespacedPod({name: 'nope', namespace: NS}), (e: any) => {
    const s = status(e)
    return s.code === 404 && s.reason === 'NotFound' && s.message === 'pods "nope" not found' && s.details.kind === 'pods'
  })
  await core().createNamespacedConfigMap({namespace: NS, body: {metadata: {name: 'cm1'}, data: {a: '1'}}})
  await assert.rejects(core().createNamespacedConfigMap({namespace: NS, body: {metadata: {name: 'cm1'}}}), (e: any) => status(e).reason === 'AlreadyExists' && e.code === 409)
  await assert.rejects(core().createNamespacedConfigMap({namespace: NS, body: {metadata: {name: 'Bad_Name'}}}), (e: any) => e.code === 422 && /ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value/.test(status(e).message))
  await assert.rejects(core('reader').deleteNamespacedConfigMap({name: 'cm1', namespace: NS}), (e: any) =>
    e.code === 403 && status(e).message === 'configmaps "cm1" is forbidden: User "reader" cannot delete resource "configmaps" in API group "" in the namespace "tracebloc"')
  const listed = await core('reader').listNamespacedConfigMap({namespace: NS, labelSelector: '!missing'})
  assert.deepEqual(listed.items.map((c) => c.metadata?.name), ['cm1'])
  const patched = await core().patchNamespacedConfigMap({name: 'cm1', namespace: NS, body: {data: {b: '2'}}}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch))
  assert.deepEqual(patched.data, {a: '1', b: '2'})
})

test('SelfSubjectAccessReview (JSON) matches enforcement per user', async () => {
  const ask = async (user: string, resourceAttributes: k8s.V1ResourceAttributes) =>
    (await kc(user).makeApiClient(k8s.AuthorizationV1Api).createSelfSubjectAccessReview({body: {spec: {resourceAttributes}}})).status?.allowed
  assert.equal(await ask('admin', {namespace: NS, verb: 'create', resource: 'pods', subresource: 'exec'}), true)
  assert.equal(await ask('no-exec', {namespace: NS, verb: 'create', resource: 'pods', subresource: 'exec'}), false)
  assert.equal(await ask('no-exec', {namespace: NS, verb: 'create', resource: 'pods'}), true)
  assert.equal(await ask('no-token-request', {namespace: NS, verb: 'create', resource: 'serviceaccounts', subresource: 'token'}), false)
  assert.equal(await ask('no-token-request', {namespace: NS, verb: 'list', resource: 'secrets'}), true)
  assert.equal(await ask('reader', {namespace: NS, verb: 'watch', group: 'batch', resource: 'jobs'}), true)
  assert.equal(await ask('reader', {namespace: NS, verb: 'create', resource: 'pods'}), false)
})

test('TokenRequest issues an RS256 JWT that TokenReview accepts until its bound pod is gone', async () => {
  store.create(PODS, runningPod('stage', NS))
  const pod = await core().readNamespacedPod({name: 'stage', namespace: NS})
  await assert.rejects(core().createNamespacedServiceAccountToken({name: 'ingestor', namespace: NS, body: {spec: {audiences: [], expirationSeconds: 60}}}), (e: any) => e.code === 422)
  const tr = await core().createNamespacedServiceAccountToken({name: 'ingestor', namespace: NS, body: {spec: {audiences: ['jobs-manager'], expirationSeconds: 600, boundObjectRef: {kind: 'Pod', apiVersion: 'v1', name: 'stage', uid: pod.metadata!.uid}}}})
  const token = tr.status!.token!
  assert.equal(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).alg, 'RS256')
  const exp = new Date(tr.status!.expirationTimestamp!).getTime() - Date.now()
  assert.ok(exp > 590_000 && exp <= 600_000)
  const authn = kc().makeApiClient(k8s.AuthenticationV1Api)
  const review = async (t: string) => (await authn.createTokenReview({body: {spec: {token: t, audiences: ['jobs-manager']}}})).status!
  const ok = await review(token)
  assert.equal(ok.authenticated, true)
  assert.equal(ok.user?.username, `system:serviceaccount:${NS}:ingestor`)
  assert.deepEqual(ok.user?.extra?.['authentication.kubernetes.io/pod-name'], ['stage'])
  assert.equal((await review(token.slice(0, -4) + 'AAAA')).authenticated, false)
  await core().deleteNamespacedPod({name: 'stage', namespace: NS, gracePeriodSeconds: 0})
  const gone = await review(token)
  assert.equal(gone.authenticated, false)
  assert.match(gone.error!, /bound to the token is not found/)
})

test('watch: ADDED/MODIFIED/DELETED, BOOKMARK, resume from resourceVersion, 410 Expired in-stream', async () => {
  const list = await core().listNamespacedPod({namespace: NS})
  const rv = list.metadata!.resourceVersion!
  const seen: string[] = []
  let bookmarks = 0
  const w = new k8s.Watch(kc())
  let ended!: () => void
  const done = new Promise<void>((r) => (ended = r))
  const ac = await w.watch(`/api/v1/namespaces/${NS}/pods`, {resourceVersion: rv, allowWatchBookmarks: true, labelSelector: 'w=1'}, (type, obj) => {
    if (type === 'BOOKMARK') bookmarks++
    else seen.push(`${type} ${obj.metadata.name}`)
    if (seen.length === 3 && bookmarks > 0) ac.abort()
  }, () => ended())
  store.create(PODS, runningPod('w1', NS, {w: '1'}))
  store.create(PODS, runningPod('other', NS))
  store.update(PODS, NS, 'w1', (p) => void (p.status.phase = 'Succeeded'))
  store.delete(PODS, NS, 'w1')
  await done
  assert.deepEqual(seen, ['ADDED w1', 'MODIFIED w1', 'DELETED w1'])
  // Resume from the original RV replays the same history.
  const replay: string[] = []
  const ac2 = await w.watch(`/api/v1/namespaces/${NS}/pods`, {resourceVersion: rv, labelSelector: 'w=1'}, (type, obj) => {
    replay.push(`${type} ${obj.metadata.name}`)
    if (replay.length === 3) ac2.abort()
  }, () => {})
  await new Promise((r) => setImmediate(r))
  await until('the replayed history', () => replay.length >= 3)
  assert.deepEqual(replay, seen)
  // Too old after compaction: an in-stream ERROR with a 410 Status, then the stream ends.
  store.compact()
  const errors: any[] = []
  await new Promise<void>((resolve) => void w.watch(`/api/v1/namespaces/${NS}/pods`, {resourceVersion: rv}, (type, obj) => type === 'ERROR' && errors.push(obj), () => resolve()))
  assert.equal(errors.length, 1)
  assert.equal(errors[0].code, 410)
  assert.equal(errors[0].reason, 'Expired')
  assert.match(errors[0].message, /^too old resource version: \d+ \(\d+\)$/)
})

test('watch with a label selector: an object that stops matching is DELETED, one that starts matching ADDED (live and on resume)', async () => {
  const CMS = {group: '', version: 'v1', resource: 'configmaps'}
  const rv = store.currentResourceVersion()
  const w = new k8s.Watch(kc())
  const collect = async (from: string, n: number) => {
    const seen: string[] = []
    let ended!: () => void
    const done = new Promise<void>((r) => (ended = r))
    const ac = await w.watch(`/api/v1/namespaces/${NS}/configmaps`, {resourceVersion: from, labelSelector: 'tier=gold'}, (type, obj) => {
      seen.push(`${type} ${obj.metadata.name} ${obj.metadata.labels?.tier} ${obj.metadata.resourceVersion}`)
      if (seen.length === n) ac.abort()
    }, () => ended())
    return {seen, done}
  }
  const live = await collect(rv, 4)
  store.create(CMS, {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'sel', namespace: NS, labels: {tier: 'gold'}}})
  store.update(CMS, NS, 'sel', (o) => void (o.data = {a: '1'}))
  const demoted = store.update(CMS, NS, 'sel', (o) => void (o.metadata.labels.tier = 'silver'))
  store.update(CMS, NS, 'sel', (o) => void (o.data = {a: '2'})) // not matching before or after: nothing
  const promoted = store.update(CMS, NS, 'sel', (o) => void (o.metadata.labels.tier = 'gold'))
  await live.done
  const rvOf = (l: string) => l.split(' ')[3]
  assert.deepEqual(live.seen.map((l) => l.split(' ').slice(0, 3).join(' ')), ['ADDED sel gold', 'MODIFIED sel gold', 'DELETED sel gold', 'ADDED sel gold'])
  // DELETED carries the last matching content at the event's resourceVersion, as the cacher sends it
  assert.equal(rvOf(live.seen[2]), demoted.metadata.resourceVersion)
  assert.equal(rvOf(live.seen[3]), promoted.metadata.resourceVersion)
  const resumed = await collect(rv, 4)
  await resumed.done
  assert.deepEqual(resumed.seen, live.seen)
  store.delete(CMS, NS, 'sel')
})

test('watch timeoutSeconds ends the stream', async () => {
  const r = await new Promise<string>((resolve) => {
    https.get(`${server.url}/api/v1/namespaces/${NS}/configmaps?watch=1&timeoutSeconds=1&allowWatchBookmarks=true&resourceVersion=${store.currentResourceVersion()}`, {ca: server.caPem, headers: {Authorization: `Bearer ${server.tokens.admin}`}}, (res) => {
      let b = ''
      res.on('data', (d) => (b += d))
      res.on('end', () => resolve(b))
    })
  })
  const lines = r.trim().split('\n').map((l) => JSON.parse(l))
  assert.ok(lines.length >= 1)
  assert.ok(lines.every((l) => l.type === 'BOOKMARK' && l.object.kind === 'ConfigMap'))
})

function execWs(cmd: string[], opts: {protocols?: string[]; stdin?: Buffer; user?: string}) {
  const q = new URLSearchParams([...cmd.map((c): [string, string] => ['command', c]), ['stdout', 'true'], ['stderr', 'true'], ['stdin', opts.stdin ? 'true' : 'false']])
  const ws = new WebSocket(`${server.url.replace('https', 'wss')}/api/v1/namespaces/${NS}/pods/p1/exec?${q}`, opts.protocols ?? ['v5.channel.k8s.io'], {ca: server.caPem, headers: {Authorization: `Bearer ${server.tokens[opts.user ?? 'admin']}`}})
  const out: Buffer[] = []
  let statusJson: any
  const closed = new Promise<{code: number; upgradeStatus?: number}>((resolve) => {
    ws.on('unexpected-response', (_req, res) => resolve({code: -1, upgradeStatus: res.statusCode}))
    ws.on('close', (code) => resolve({code}))
    ws.on('error', () => {})
  })
  ws.on('open', () => {
    if (opts.stdin) {
      for (let i = 0; i < opts.stdin.length; i += 65536) ws.send(Buffer.concat([Buffer.from([0]), opts.stdin.subarray(i, i + 65536)]))
      if (ws.protocol === 'v5.channel.k8s.io') ws.send(Buffer.from([255, 0]))
    }
  })
  const frames: number[] = []
  ws.on('message', (m: Buffer) => {
    frames.push(m[0])
    if (m[0] === 1) out.push(m.subarray(1))
    if (m[0] === 3) statusJson = JSON.parse(m.subarray(1).toString())
  })
  return closed.then((c) => ({...c, protocol: ws.protocol, stdout: Buffer.concat(out), status: statusJson, frames}))
}

test('exec over WebSocket v5: initial frame, stdin + CLOSE, exit status; 403 for no-exec', async () => {
  const data = Buffer.alloc(1_000_000, 'a')
  const r = await execWs(['sh', '-c', 'wc -c; exit 4'], {stdin: data})
  assert.equal(r.protocol, 'v5.channel.k8s.io')
  assert.equal(r.frames[0], 1)
  assert.equal(r.stdout.toString().trim(), '1000000')
  assert.deepEqual(r.status.details.causes, [{reason: 'ExitCode', message: '4'}])
  assert.equal(r.status.reason, 'NonZeroExitCode')
  assert.equal((await execWs(['true'], {})).status.status, 'Success')
  assert.equal((await execWs(['true'], {user: 'no-exec'})).upgradeStatus, 403)
})

test('exec via client-node Exec (v5 offered first) delivers the status callback', async () => {
  const out = new PassThrough()
  let text = ''
  out.on('data', (d) => (text += d))
  const st = await new Promise<k8s.V1Status>((resolve) => {
    void new k8s.Exec(kc()).exec(NS, 'p1', 'main', ['sh', '-c', 'echo from-exec'], out, null, null, false, resolve)
  })
  assert.equal(st.status, 'Success')
  assert.equal(text, 'from-exec\n')
})

test('faults: execV4Only negotiates v4; cutExecAfterBytes drops the socket without a status; execBytesPerSecond throttles', async () => {
  faults.set({execV4Only: true})
  assert.equal((await execWs(['true'], {protocols: ['v5.channel.k8s.io', 'v4.channel.k8s.io']})).protocol, 'v4.channel.k8s.io')
  assert.equal((await execWs(['true'], {protocols: ['v5.channel.k8s.io']})).upgradeStatus, 400)
  faults.set({execV4Only: false, cutExecAfterBytes: {bytes: 100_000, times: 1}})
  const cut = await execWs(['sh', '-c', 'wc -c'], {stdin: Buffer.alloc(500_000)})
  assert.equal(cut.status, undefined)
  assert.equal(cut.code, 1006)
  const again = await execWs(['sh', '-c', 'wc -c'], {stdin: Buffer.alloc(500_000)})
  assert.equal(again.stdout.toString().trim(), '500000')
  faults.set({execBytesPerSecond: 400_000})
  const t0 = Date.now()
  const slow = await execWs(['sh', '-c', 'wc -c'], {stdin: Buffer.alloc(200_000)})
  faults.clear()
  assert.equal(slow.stdout.toString().trim(), '200000')
  assert.ok(Date.now() - t0 >= 400, 'a 200 kB upload at 400 kB/s cannot finish in under 0.4 s')
})

test('port-forward channel protocol via client-node PortForward; cutPortForwardAfterBytes', async () => {
  const forward = async () => {
    const srv = net.createServer(async (sock) => {
      const ws = (await new k8s.PortForward(kc()).portForward(NS, 'p1', [8080], sock, null, sock)) as WebSocket
      sock.on('close', () => ws.close())
      ws.on('close', () => sock.destroy())
    })
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    return srv
  }
  const srv = await forward()
  const port = (srv.address() as AddressInfo).port
  const res = await fetch(`http://127.0.0.1:${port}/submit`, {method: 'POST', body: 'echo me'})
  assert.equal(await res.text(), 'echo me')
  faults.set({cutPortForwardAfterBytes: {bytes: 1000, times: 1}})
  await assert.rejects(fetch(`http://127.0.0.1:${port}/big`, {method: 'POST', body: Buffer.alloc(100_000), headers: {connection: 'close'}}).then((r) => r.arrayBuffer()))
  const after = await fetch(`http://127.0.0.1:${port}/x`, {method: 'POST', body: 'fine again', headers: {connection: 'close'}})
  assert.equal(await after.text(), 'fine again')
  srv.close()
})

test('graceful pod deletion: deletionTimestamp first (kubelet hook), then removal; GC deletes owned pods', async () => {
  const events: string[] = []
  const off = store.subscribe((e) => e.key.resource === 'pods' && events.push(`${e.type}${e.object.metadata.deletionTimestamp ? '+ts' : ''} ${e.object.metadata.name}`))
  store.create(PODS, runningPod('gd', NS))
  await core().deleteNamespacedPod({name: 'gd', namespace: NS})
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(events, ['ADDED gd', 'MODIFIED+ts gd', 'DELETED+ts gd'])
  const batch = kc().makeApiClient(k8s.BatchV1Api)
  const job = await batch.createNamespacedJob({namespace: NS, body: {metadata: {name: 'j1'}, spec: {template: {spec: {restartPolicy: 'Never', containers: [{name: 'c', image: 'busybox'}]}}}}})
  assert.equal(job.spec?.template.metadata?.labels?.['job-name'], 'j1')
  store.create(PODS, {...runningPod('j1-abc', NS), metadata: {name: 'j1-abc', namespace: NS, ownerReferences: [{apiVersion: 'batch/v1', kind: 'Job', name: 'j1', uid: job.metadata!.uid, controller: true}]}})
  await batch.deleteNamespacedJob({name: 'j1', namespace: NS, propagationPolicy: 'Background'})
  await until('the garbage collector deleted the owned pod', () => store.get(PODS, NS, 'j1-abc') === undefined)
  off()
})

test('control API: /_sandbox/faults is admin-only and sets knobs', async () => {
  assert.equal((await raw('/_sandbox/faults', {method: 'POST', token: server.tokens.reader, body: {execV4Only: true}})).code, 403)
  const r = await raw('/_sandbox/faults', {method: 'POST', body: {apiErrorBurst: {count: 1, status: 429, retryAfterSeconds: 2}}})
  assert.equal(r.code, 200)
  const hit = await raw('/api/v1/namespaces')
  assert.equal(hit.code, 429)
  assert.equal(hit.headers['retry-after'], '2')
  assert.equal(hit.body.reason, 'TooManyRequests')
  assert.equal((await raw('/api/v1/namespaces')).code, 200)
  await raw('/_sandbox/faults', {method: 'DELETE'})
  assert.deepEqual(faults.get(), {})
})

