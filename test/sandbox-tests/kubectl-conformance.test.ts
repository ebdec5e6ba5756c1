// Real kubectl 1.32 against the sandbox API server (transport level: LocalRuntime runs exec as
// local processes and forwards port 8080 to a local HTTP server). Skipped (with the reason) when no kubectl 1.32+ is on PATH.
import assert from 'node:assert/strict'
import {execFile, spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, test} from 'node:test'
import {startApiServer, MemoryStore, type ApiServer} from '../sandbox/apiserver/index.js'
import {Faults} from '../sandbox/faults.js'
import {writeKubeconfig} from '../sandbox/kubeconfig.js'
import {deleteTerminatingPods, LocalRuntime, runningPod} from './local-runtime.js'
import {findKubectl} from '../helpers/tools.js'
import {kubectlPortForward} from './port-forward.js'

const found = findKubectl()
const KUBECTL = 'bin' in found ? found.bin : 'kubectl'
const skip = 'skip' in found ? found.skip : false
const NS = 'tracebloc'
const PODS = {group: '', version: 'v1', resource: 'pods'}

let dir: string
let server: ApiServer
let store: MemoryStore
let runtime: LocalRuntime
let web: http.Server
let kubeconfig: string
const faults = new Faults()

before(async () => {
  if (skip) return
  dir = mkdtempSync(path.join(tmpdir(), 'kubectl-conf-'))
  store = new MemoryStore()
  runtime = new LocalRuntime(path.join(dir, 'pods'))
  server = await startApiServer({store, runtime, faults, namespaces: [NS]})
  deleteTerminatingPods(store)
  web = http.createServer((req, res) => res.end(`pod says ${req.method} ${req.url}`))
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r))
  runtime.portMap.set(8080, (web.address() as AddressInfo).port)
  kubeconfig = path.join(dir, 'kubeconfig')
  writeKubeconfig(kubeconfig, {url: server.url, caData: server.caData, tokens: server.tokens, namespace: NS})
  store.create(PODS, runningPod('p1', NS, {app: 'manager'}))
  store.create({group: '', version: 'v1', resource: 'serviceaccounts'}, {apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name: 'ingestor', namespace: NS}})
})

after(async () => {
  if (skip) return
  await server.close()
  web.close()
  rmSync(dir, {recursive: true, force: true})
})

function kubectl(args: string[], opts: {input?: string; env?: Record<string, string>} = {}): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], {env: {PATH: process.env.PATH, HOME: dir, ...opts.env}, timeout: 60_000}, (err, stdout, stderr) => {
      resolve({code: err ? ((err as any).code ?? 1) : 0, stdout, stderr})
    })
    child.stdin!.end(opts.input ?? '')
  })
}

test('get pods (Table) and get pod -o yaml', {skip}, async () => {
  const t = await kubectl(['get', 'pods'])
  assert.equal(t.code, 0, t.stderr)
  assert.match(t.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/)
  assert.match(t.stdout, /p1\s+1\/1\s+Running\s+0/)
  const y = await kubectl(['get', 'pod', 'p1', '-o', 'yaml'])
  assert.equal(y.code, 0, y.stderr)
  assert.match(y.stdout, /^apiVersion: v1\nkind: Pod\n/)
  assert.match(y.stdout, /uid: [0-9a-f-]{36}/)
  const sel = await kubectl(['get', 'pods', '-l', 'app in (manager)', '-o', 'name'])
  assert.equal(sel.stdout, 'pod/p1\n')
})

test('auth can-i answers per user (protobuf SSAR), and enforcement agrees', {skip}, async () => {
  assert.equal((await kubectl(['auth', 'can-i', 'create', 'pods', '--subresource=exec'])).stdout, 'yes\n')
  const no = await kubectl(['--context', 'sandbox-no-exec', 'auth', 'can-i', 'create', 'pods', '--subresource=exec'])
  assert.equal(no.stdout, 'no\n')
  assert.equal(no.code, 1)
  assert.equal((await kubectl(['--context', 'sandbox-reader', 'auth', 'can-i', 'list', 'pods'])).stdout, 'yes\n')
  assert.equal((await kubectl(['--context', 'sandbox-no-token-request', 'auth', 'can-i', 'create', 'serviceaccounts', '--subresource=token'])).stdout, 'no\n')
  const denied = await kubectl(['--context', 'sandbox-reader', 'create', 'configmap', 'x'])
  assert.equal(denied.code, 1)
  assert.match(denied.stderr, /configmaps is forbidden: User "reader" cannot create resource "configmaps" in API group "" in the namespace "tracebloc"/)
  const exec = await kubectl(['--context', 'sandbox-no-exec', 'exec', 'p1', '--', 'true'])
  assert.notEqual(exec.code, 0)
  assert.match(exec.stderr, /forbidden: User "no-exec" cannot (get|create) resource "pods\/exec"/)
})

test('create token (protobuf TokenRequest) returns a JWT with kubernetes.io claims; denied without permission', {skip}, async () => {
  const r = await kubectl(['create', 'token', 'ingestor', '--duration=10m', '--audience=jobs-manager'])
  assert.equal(r.code, 0, r.stderr)
  const [, body] = r.stdout.trim().split('.')
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString())
  assert.equal(claims.sub, `system:serviceaccount:${NS}:ingestor`)
  assert.deepEqual(claims.aud, ['jobs-manager'])
  assert.equal(claims.exp - claims.iat, 600)
  assert.equal(claims['kubernetes.io'].serviceaccount.name, 'ingestor')
  const denied = await kubectl(['--context', 'sandbox-no-token-request', 'create', 'token', 'ingestor'])
  assert.equal(denied.code, 1)
  assert.match(denied.stderr, /cannot create resource "serviceaccounts\/token"/)
})

test('exec -i with stdin, exit codes, and cp both ways', {skip}, async () => {
  const r = await kubectl(['exec', '-i', 'p1', '--', 'sh', '-c', 'cat > in.txt; wc -c < in.txt; exit 3'], {input: 'hello sandbox\n'})
  assert.equal(r.code, 3)
  assert.equal(r.stdout.trim(), '14')
  assert.match(r.stderr, /command terminated with exit code 3/)
  const podDir = runtime.dir('p1')
  const local = path.join(dir, 'up.bin')
  writeFileSync(local, Buffer.alloc(300_000, 7))
  const up = await kubectl(['cp', local, `p1:${podDir}/up.bin`])
  assert.equal(up.code, 0, up.stderr)
  assert.deepEqual(readFileSync(path.join(podDir, 'up.bin')), readFileSync(local))
  const down = await kubectl(['cp', `p1:${podDir}/in.txt`, path.join(dir, 'down.txt')])
  assert.equal(down.code, 0, down.stderr)
  assert.equal(readFileSync(path.join(dir, 'down.txt'), 'utf8'), 'hello sandbox\n')
})

test('logs -f streams until the container ends', {skip}, async () => {
  runtime.log('p1', 'first line')
  const child = spawn(KUBECTL, ['--kubeconfig', kubeconfig, 'logs', '-f', 'p1'], {env: {PATH: process.env.PATH, HOME: dir}})
  let out = ''
  child.stdout.on('data', (d) => {
    out += d
    if (out === 'first line\n') runtime.log('p1', 'second line', true)
  })
  const code = await new Promise((r) => child.on('close', r))
  assert.equal(code, 0)
  assert.equal(out, 'first line\nsecond line\n')
})

async function portForward(env: Record<string, string>): Promise<string> {
  const {child, port} = await kubectlPortForward({kubectl: KUBECTL, kubeconfig, home: dir, env})
  try {
    const a = await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()
    const b = await (await fetch(`http://127.0.0.1:${port}/v1/version`, {method: 'POST', body: 'x'})).text()
    return `${a}|${b}`
  } finally {
    child.kill()
  }
}

test('port-forward over the SPDY-in-WebSocket tunnel (kubectl 1.32 default)', {skip}, async () => {
  assert.equal(await portForward({}), 'pod says GET /healthz|pod says POST /v1/version')
})

test('port-forward over plain SPDY/3.1 (KUBECTL_PORT_FORWARD_WEBSOCKETS=false)', {skip}, async () => {
  assert.equal(await portForward({KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false'}), 'pod says GET /healthz|pod says POST /v1/version')
})

test('wait --for=condition=Ready, then delete pod (graceful, kubelet removes it)', {skip}, async () => {
  store.create(PODS, runningPod('p2', NS))
  const w = await kubectl(['wait', '--for=condition=Ready', 'pod/p2', '--timeout=20s'])
  assert.equal(w.code, 0, w.stderr)
  assert.match(w.stdout, /pod\/p2 condition met/)
  const d = await kubectl(['delete', 'pod', 'p2'])
  assert.equal(d.code, 0, d.stderr)
  assert.equal(store.get(PODS, NS, 'p2'), undefined)
  const g = await kubectl(['get', 'pod', 'p2'])
  assert.match(g.stderr, /Error from server \(NotFound\): pods "p2" not found/)
})

test('API fault burst: kubectl retries through a short 503 burst and fails on a long one', {skip}, async () => {
  faults.set({apiErrorBurst: {count: 1, status: 503, pathIncludes: '/pods/p1', retryAfterSeconds: 0}})
  assert.equal((await kubectl(['get', 'pod', 'p1'])).code, 0)
  assert.equal(faults.get().apiErrorBurst?.count, 0)
  faults.set({apiErrorBurst: {count: 30, status: 503, retryAfterSeconds: 0}})
  const r = await kubectl(['get', 'pod', 'p1'])
  faults.clear()
  assert.equal(r.code, 1)
  assert.match(r.stderr, /Error from server \(ServiceUnavailable\): The server is currently unable to handle the request/)
})

test('create -f with validation on (default --validate=strict): OpenAPI v3 says fieldValidation is served', {skip}, async () => {
  const r = await kubectl(['create', '-f', '-', '-v=6'], {input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: validated}\ndata: {a: "1"}\n'})
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout, 'configmap/validated created\n')
  assert.match(r.stderr, /GET https:\/\/127\.0\.0\.1:\d+\/openapi\/v3\/api\/v1\?hash=[0-9A-F]+.* 200 OK/)
  assert.match(r.stderr, /POST https:\/\/\S+\/configmaps\?fieldManager=kubectl-create&fieldValidation=Strict 201 Created/)
  const job = await kubectl(['create', '-f', '-'], {input: 'apiVersion: batch/v1\nkind: Job\nmetadata: {name: validated}\nspec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}}\n'})
  assert.equal(job.code, 0, job.stderr)
})

test('get events prints the event columns (Table), also sorted by lastTimestamp', {skip}, async () => {
  const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  for (const [i, reason] of ['Scheduled', 'Pulled'].entries()) {
    store.create({group: '', version: 'v1', resource: 'events'}, {
      apiVersion: 'v1', kind: 'Event', metadata: {name: `p1.ev${i}`, namespace: NS},
      involvedObject: {kind: 'Pod', name: 'p1', namespace: NS}, reason, message: `message ${i}`, type: 'Normal', count: i + 1,
      source: {component: 'kubelet'}, firstTimestamp: t, lastTimestamp: t,
    })
  }
  for (const args of [['get', 'events'], ['get', 'events', '--sort-by=.lastTimestamp']]) {
    const r = await kubectl(args)
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.trim().split('\n')
    assert.match(lines[0], /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/, args.join(' '))
    assert.ok(lines.some((l) => /^\d+s\s+Normal\s+Scheduled\s+pod\/p1\s+message 0$/.test(l)), r.stdout)
    assert.ok(lines.some((l) => /^\d+s \(x2 over \d+s\)\s+Normal\s+Pulled\s+pod\/p1\s+message 1$/.test(l)), r.stdout)
  }
})

test('execV4Only: kubectl falls back from WebSocket to SPDY exec (stdin, exit code, cp both ways)', {skip}, async () => {
  faults.set({execV4Only: true})
  try {
    const r = await kubectl(['exec', '-i', 'p1', '--', 'sh', '-c', 'cat; echo to-stderr >&2; exit 4'], {input: 'over spdy\n'})
    assert.equal(r.code, 4)
    assert.equal(r.stdout, 'over spdy\n')
    assert.match(r.stderr, /to-stderr\n/)
    assert.match(r.stderr, /command terminated with exit code 4/)
    const podDir = runtime.dir('p1')
    const local = path.join(dir, 'spdy-up.bin')
    writeFileSync(local, Buffer.alloc(300_000, 9))
    const up = await kubectl(['cp', local, `p1:${podDir}/spdy-up.bin`])
    assert.equal(up.code, 0, up.stderr)
    assert.deepEqual(readFileSync(path.join(podDir, 'spdy-up.bin')), readFileSync(local))
    const down = await kubectl(['cp', `p1:${podDir}/spdy-up.bin`, path.join(dir, 'spdy-down.bin')])
    assert.equal(down.code, 0, down.stderr)
    assert.deepEqual(readFileSync(path.join(dir, 'spdy-down.bin')), readFileSync(local))
    // what went over the wire: the WebSocket upgrade was refused, then a SPDY upgrade
    const v = await kubectl(['exec', 'p1', '-v=8', '--', 'true'])
    assert.equal(v.code, 0, v.stderr)
    assert.match(v.stderr, /Upgrade: SPDY\/3\.1/i)
  } finally {
    faults.clear()
  }
})

test('describe pod: the sections kubectl prints, events included', {skip}, async () => {
  const r = await kubectl(['describe', 'pod', 'p1'])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^Name:\s+p1\nNamespace:\s+tracebloc\n/)
  assert.match(r.stdout, /\nStatus:\s+Running\n/)
  assert.match(r.stdout, /\nContainers:\n/)
  assert.match(r.stdout, /\nEvents:\s+/)
})

test('create -f refused as kube-apiserver refuses it: 422 Invalid with the field, 400 on a wrong type', {skip}, async () => {
  const bad = await kubectl(['create', '-f', '-'], {input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad-label, labels: {tracebloc.io/table: abc_}}\ndata: {"a/b": "1"}\n'})
  assert.equal(bad.code, 1)
  assert.match(bad.stderr, /The ConfigMap "bad-label" is invalid: \n\* metadata\.labels: Invalid value: "abc_": a valid label must be an empty string or consist of alphanumeric characters/)
  assert.match(bad.stderr, /\* data\[a\/b\]: Invalid value: "a\/b": a valid config key must consist of alphanumeric characters, '-', '_' or '\.'/)
  const job = await kubectl(['create', '-f', '-'], {input: 'apiVersion: batch/v1\nkind: Job\nmetadata: {name: always}\nspec: {template: {spec: {containers: [{name: c, image: busybox}]}}}\n'})
  assert.equal(job.code, 1)
  assert.match(job.stderr, /The Job "always" is invalid: spec\.template\.spec\.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"/)
  const typed = await kubectl(['create', '-f', '-', '--validate=false'], {input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: typed}\nspec: {containers: [{name: c, image: busybox}], terminationGracePeriodSeconds: "30s"}\n'})
  assert.equal(typed.code, 1)
  assert.match(typed.stderr, /Error from server \(BadRequest\).*Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field PodSpec\.spec\.terminationGracePeriodSeconds of type int64/)
  assert.equal(store.get({group: '', version: 'v1', resource: 'configmaps'}, NS, 'bad-label'), undefined)
})

test('label the namespace for Pod Security restricted (PATCH), then run is refused with the admission message', {skip}, async () => {
  const l = await kubectl(['label', 'namespace', NS, 'pod-security.kubernetes.io/enforce=restricted'])
  assert.equal(l.code, 0, l.stderr)
  try {
    const run = await kubectl(['run', 'rooty', '--image=busybox', '--restart=Never'])
    assert.equal(run.code, 1)
    assert.match(run.stderr, /Error from server \(Forbidden\): pods "rooty" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "rooty" must set securityContext\.allowPrivilegeEscalation=false\), unrestricted capabilities \(container "rooty" must set securityContext\.capabilities\.drop=\["ALL"\]\), runAsNonRoot != true \(pod or container "rooty" must set securityContext\.runAsNonRoot=true\), seccompProfile \(pod or container "rooty" must set securityContext\.seccompProfile\.type to "RuntimeDefault" or "Localhost"\)/)
    // kubectl label checks values itself; a patch reaches the server
    const bad = await kubectl(['patch', 'namespace', NS, '--type=merge', '-p', '{"metadata":{"labels":{"team":"-x-"}}}'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /The Namespace "tracebloc" is invalid: metadata\.labels: Invalid value: "-x-"/)
  } finally {
    await kubectl(['label', 'namespace', NS, 'pod-security.kubernetes.io/enforce-'])
  }
})

test('delete --cascade=orphan keeps a Job\'s pods, --cascade=background removes them', {skip}, async () => {
  const JOBS = {group: 'batch', version: 'v1', resource: 'jobs'}
  for (const [name, cascade, kept] of [['jo', 'orphan', true], ['jb', 'background', false]] as const) {
    const job = store.create(JOBS, {apiVersion: 'batch/v1', kind: 'Job', metadata: {name, namespace: NS}, spec: {template: {spec: {restartPolicy: 'Never', containers: [{name: 'c', image: 'busybox'}]}}}})
    const pod = runningPod(`${name}-pod`, NS)
    pod.metadata.ownerReferences = [{apiVersion: 'batch/v1', kind: 'Job', name, uid: job.metadata.uid, controller: true, blockOwnerDeletion: true}]
    store.create(PODS, pod)
    const d = await kubectl(['delete', 'job', name, `--cascade=${cascade}`])
    assert.equal(d.code, 0, d.stderr)
    assert.equal(d.stdout, `job.batch "${name}" deleted\n`)
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(store.get(JOBS, NS, name), undefined)
    assert.equal(store.get(PODS, NS, `${name}-pod`) !== undefined, kept, `${cascade}: pod kept = ${kept}`)
  }
  const bogus = await kubectl(['delete', 'pod', 'p1', '--cascade=sideways'])
  assert.equal(bogus.code, 1)
  assert.match(bogus.stderr, /invalid cascade value \(sideways\)/)
})
