// Release-level tests of the sandbox's tracebloc client: every jobs-manager behaviour and release fault
// knob, driven the way a client drives it — a ServiceAccount token from TokenRequest (client-node), and
// HTTP to the jobs-manager pod's port 8080 through the API server's pods/portforward WebSocket
// (v4.channel.k8s.io, `ws`), never by calling the in-process server directly.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs'
import path from 'node:path'
import {after, afterEach, before, test} from 'node:test'
import * as k8s from '@kubernetes/client-node'
import WebSocket from 'ws'
import {startSandbox, type Sandbox} from '../sandbox/index.js'
import {REPO_ROOT} from '../sandbox/kubelet/rootfs.js'
import type {KObject} from '../sandbox/types.js'
import {until} from '../helpers/until.js'

const NS = 'tracebloc'
const PODS = {group: '', version: 'v1', resource: 'pods'}
const EVENTS = {group: '', version: 'v1', resource: 'events'}
let sb: Sandbox
let kubeconfig: k8s.KubeConfig
let core: k8s.CoreV1Api
let token: string

before(async () => {
  sb = await startSandbox()
  kubeconfig = new k8s.KubeConfig()
  kubeconfig.loadFromFile(sb.kubeconfigPath)
  core = kubeconfig.makeApiClient(k8s.CoreV1Api)
  token = await saToken('ingestor')
})
after(() => sb?.stop())
afterEach(() => sb.faults.clear())

async function saToken(sa: string, namespace = NS): Promise<string> {
  const tr = await core.createNamespacedServiceAccountToken({name: sa, namespace, body: {spec: {audiences: [], expirationSeconds: 3600}}})
  return tr.status!.token!
}

const isReady = (p: k8s.V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false
const jmPods = async (c = core) => (await c.listNamespacedPod({namespace: NS, labelSelector: 'app=manager'})).items.filter((p) => !p.metadata?.deletionTimestamp)

/** The Running jobs-manager pod, as `kubectl port-forward svc/jobs-manager` resolves it. */
async function jmPod(c = core): Promise<string> {
  const p = await until('a running jobs-manager pod', async () => (await jmPods(c)).find((x) => x.status?.phase === 'Running' && isReady(x)))
  return p.metadata!.name!
}

interface Reply {
  status: number
  body: any
  /** Text the API server sent on the port's error channel (a refused connection in the pod). */
  portError: string
}

/** One HTTP/1.1 request to the pod's port 8080 over a pods/portforward WebSocket (channel 0 data, 1 error). */
async function forwardHttp(pod: string, method: string, p: string, opts: {auth?: string; body?: string | Buffer; kc?: k8s.KubeConfig} = {}): Promise<Reply> {
  const kc = opts.kc ?? kubeconfig
  const url = `${kc.getCurrentCluster()!.server.replace(/^https/, 'wss')}/api/v1/namespaces/${NS}/pods/${pod}/portforward?ports=8080`
  const user = kc.getCurrentUser()!
  const ws = new WebSocket(url, ['v4.channel.k8s.io'], {ca: Buffer.from(kc.getCurrentCluster()!.caData!, 'base64'), headers: {Authorization: `Bearer ${user.token}`}})
  const body = opts.body === undefined ? Buffer.alloc(0) : Buffer.from(opts.body)
  const head = [`${method} ${p} HTTP/1.1`, 'Host: jobs-manager:8080', 'Connection: close', 'Content-Type: application/json', `Content-Length: ${body.length}`]
  if (opts.auth !== undefined) head.push(`Authorization: ${opts.auth}`)
  const data: Buffer[] = []
  let portError = ''
  const seen = new Set<number>()
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(head.join('\r\n') + '\r\n\r\n'), body])))
    ws.on('message', (m: Buffer) => {
      const ch = m[0]
      const payload = m.subarray(1)
      // the first frame of each channel is the port number (uint16 LE)
      if (!seen.has(ch)) {
        seen.add(ch)
        assert.equal(payload.readUInt16LE(0), 8080)
        return
      }
      if (ch === 0) data.push(payload)
      else if (ch === 1) portError += payload.toString('utf8')
    })
    ws.on('close', () => resolve())
    ws.on('error', reject)
  })
  const text = Buffer.concat(data).toString('utf8')
  if (!text) return {status: 0, body: undefined, portError}
  const [headers, ...rest] = text.split('\r\n\r\n')
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)![1])
  const raw = rest.join('\r\n\r\n')
  let parsed: unknown = raw
  try {
    parsed = JSON.parse(raw)
  } catch {
    // not JSON: keep the text
  }
  return {status, body: parsed, portError}
}

/** POST a submit; `auth` null sends no Authorization header. */
const submit = async (body: unknown, auth: string | null = `Bearer ${token}`) =>
  forwardHttp(await jmPod(), 'POST', '/internal/submit-ingestion-run', {auth: auth ?? undefined, body: typeof body === 'string' ? body : JSON.stringify(body)})

const config = (table: string, extra = '') => `apiVersion: tracebloc.io/v1
kind: IngestConfig
category: image_classification
table: ${table}
intent: train
csv: /data/shared/.tracebloc-staging/${table}/labels.csv
images: /data/shared/.tracebloc-staging/${table}/images/
label: label
${extra}`

const sha256 = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex')

test('GET /healthz and /v1/version; noVersionEndpoint → 404; serverSchema changes the sha', async () => {
  const pod = await jmPod()
  assert.deepEqual(await forwardHttp(pod, 'GET', '/healthz'), {status: 200, body: {status: 'ok'}, portError: ''})
  const v = await forwardHttp(pod, 'GET', '/v1/version')
  assert.equal(v.status, 200)
  // 'current' = the schema the CLI vendors: no skew
  assert.deepEqual(v.body, {schema_version: 'v1', schema_sha256: sha256(path.join(REPO_ROOT, 'schema', 'ingest.v1.json'))})
  sb.faults.set({serverSchema: 'upstream-newer'})
  const newer = await forwardHttp(pod, 'GET', '/v1/version')
  assert.equal(newer.body.schema_version, 'v1')
  assert.notEqual(newer.body.schema_sha256, v.body.schema_sha256)
  assert.match(newer.body.schema_sha256, /^[0-9a-f]{64}$/)
  sb.faults.set({noVersionEndpoint: true})
  assert.deepEqual(await forwardHttp(pod, 'GET', '/v1/version'), {status: 404, body: {detail: 'Not Found'}, portError: ''})
  assert.equal((await forwardHttp(pod, 'GET', '/healthz')).status, 200)
  assert.equal((await forwardHttp(pod, 'GET', '/internal/submit-ingestion-run')).status, 405)
})

test('401: missing, malformed, forged and non-ServiceAccount tokens', async () => {
  const body = {ingest_config: config('t401'), idempotency_key: 'k401'}
  const none = await submit(body, null)
  assert.deepEqual([none.status, none.body.error], [401, 'unauthorized'])
  assert.equal((await submit(body, 'Basic abc')).status, 401)
  const [h, c] = token.split('.')
  const forged = await submit(body, `Bearer ${h}.${c}.AAAA`)
  assert.equal(forged.status, 401)
  assert.match(forged.body.detail, /^token review failed: /)
  // a valid API credential that is not a ServiceAccount is not an ingestion identity
  const admin = await submit(body, `Bearer ${sb.tokens.admin}`)
  assert.equal(admin.status, 401)
  assert.match(admin.body.detail, /user admin is not a service account/)
  assert.equal(sb.store.list({group: 'batch', version: 'v1', resource: 'jobs'}, {namespace: NS}).items.length, 0)
})

test('403: ServiceAccount, namespace or table prefix not allowed by the ingestion-authz ConfigMap', async () => {
  const body = (table: string, key: string) => ({ingest_config: config(table), idempotency_key: key})
  // SA `default` exists but has no entry
  const sa = await submit(body('t403', 'k403a'), `Bearer ${await saToken('default')}`)
  assert.equal(sa.status, 403)
  assert.equal(sa.body.detail, 'service account tracebloc/default is not allowed to submit ingestion runs')
  // an `ingestor` SA in another namespace
  await core.createNamespace({body: {metadata: {name: 'other'}}})
  await core.createNamespacedServiceAccount({namespace: 'other', body: {metadata: {name: 'ingestor'}}})
  const ns = await submit(body('t403', 'k403b'), `Bearer ${await saToken('ingestor', 'other')}`)
  assert.equal(ns.status, 403)
  assert.equal(ns.body.detail, 'service account other/ingestor is not allowed to submit ingestion runs')
  // table prefixes: narrow the policy the way `helm upgrade --set ingestionAuthz…` would
  const cmName = 'tracebloc-ingestion-authz'
  const before = await core.readNamespacedConfigMap({name: cmName, namespace: NS})
  await core.patchNamespacedConfigMap({name: cmName, namespace: NS, body: {data: {'ingestion-authz.yaml': 'allowed:\n  - service_account: "ingestor"\n    namespace: "tracebloc"\n    table_prefixes:\n      - "team_a_"\n'}}},
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch))
  try {
    const table = await submit(body('team_b_cats', 'k403c'))
    assert.equal(table.status, 403)
    assert.equal(table.body.detail, "table 'team_b_cats' is not allowed for tracebloc/ingestor (allowed prefixes: team_a_)")
    assert.equal((await submit(body('team_a_cats', 'k403d'))).status, 201)
    // allowed: [] denies everyone
    await core.patchNamespacedConfigMap({name: cmName, namespace: NS, body: {data: {'ingestion-authz.yaml': 'allowed: []\n'}}}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch))
    assert.equal((await submit(body('team_a_cats', 'k403e'))).status, 403)
  } finally {
    await core.patchNamespacedConfigMap({name: cmName, namespace: NS, body: {data: before.data}}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch))
  }
})

test('400 on a non-JSON body; 422 on body fields and on ingest.yaml with the config-error lines', async () => {
  const bad = await submit('{not json')
  assert.deepEqual([bad.status, bad.body], [400, {error: 'bad_request', detail: 'request body is not valid JSON'}])
  const cases: [unknown, string][] = [
    [[1, 2], 'request body must be a JSON object'],
    [{ingest_config: config('t422'), idempotency_key: 'k', extra: 1}, 'unexpected field(s): extra'],
    [{idempotency_key: 'k'}, 'ingest_config: a non-empty string is required'],
    [{ingest_config: config('t422')}, 'idempotency_key: a non-empty string is required'],
    [{ingest_config: config('t422'), idempotency_key: '-bad-'}, 'idempotency_key must be a valid label value (at most 63 characters [A-Za-z0-9._-], starting and ending alphanumeric)'],
    [{ingest_config: config('t422'), idempotency_key: 'k', image_digest: 'ghcr.io/tracebloc/ingestor:0.8'}, 'image_digest must match ^sha256:[a-f0-9]{64}$ (tags are not accepted)'],
    [{ingest_config: '- a\n- b\n', idempotency_key: 'k'}, 'ingest.yaml must be a mapping at the top level (apiVersion / kind / category / ...).'],
    [{ingest_config: 'a: [1\n', idempotency_key: 'k'}, 'ingest.yaml is not valid YAML:'],
    [{ingest_config: 'apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: image_classification\ntable: t\nintent: train\ncsv: /data/shared/x/labels.csv\n', idempotency_key: 'k'},
      "ingest.yaml validation failed:\n  <root>: 'images' is a required property\n  <root>: 'label' is a required property"],
  ]
  for (const [body, detail] of cases) {
    const r = await submit(body)
    assert.equal(r.status, 422, JSON.stringify(body))
    assert.equal(r.body.error, 'invalid')
    if (detail.endsWith(':')) assert.ok(r.body.detail.startsWith(`${detail}\n  `), r.body.detail)
    else assert.equal(r.body.detail, detail)
  }
})

test("serverSchema: 'upstream-newer' accepts what 'current' rejects (schema skew)", async () => {
  const body = {ingest_config: config('skew', '').replace('intent: train', 'intent: validation'), idempotency_key: 'skew-1'}
  const cur = await submit(body)
  assert.equal(cur.status, 422)
  assert.equal(cur.body.detail, "ingest.yaml validation failed:\n  intent: 'validation' is not one of ['train', 'test']")
  sb.faults.set({serverSchema: 'upstream-newer'})
  const newer = await submit(body)
  assert.equal(newer.status, 201, JSON.stringify(newer.body))
})

test('201 creates ConfigMap, Secret and a labelled Job; 200 replays; 409 on changed content; submitErrorBurst', async () => {
  sb.faults.set({submitErrorBurst: {count: 2, status: 503}})
  const body = {ingest_config: config('cats_201'), idempotency_key: 'run-201'}
  for (let i = 0; i < 2; i++) {
    const r = await submit(body)
    assert.equal(r.status, 503)
    assert.match(r.body.detail, /temporarily unavailable/)
  }
  const created = await submit(body)
  assert.equal(created.status, 201, JSON.stringify(created.body))
  const jobName: string = created.body.job_name
  assert.match(jobName, /^ingest-job-[0-9a-f]{10}$/)
  assert.deepEqual(created.body, {job_name: jobName, namespace: NS, replay: false})
  const hash = jobName.slice('ingest-job-'.length)
  const sel = 'tracebloc.io/ingestion-run=run-201'
  const batch = kubeconfig.makeApiClient(k8s.BatchV1Api)
  const jobs = await batch.listNamespacedJob({namespace: NS, labelSelector: sel})
  assert.deepEqual(jobs.items.map((j) => j.metadata?.name), [jobName])
  const job = jobs.items[0]
  const c0 = job.spec!.template.spec!.containers[0]
  assert.match(c0.image!, /^ghcr\.io\/tracebloc\/ingestor@sha256:[0-9a-f]{64}$/)
  const ref = c0.env?.find((e) => e.name === 'BACKEND_TOKEN')?.valueFrom?.secretKeyRef
  assert.deepEqual([ref?.name, ref?.key], [`ingest-token-${hash}`, 'BACKEND_TOKEN'])
  assert.equal((await core.listNamespacedConfigMap({namespace: NS, labelSelector: sel})).items[0].data?.['ingest.yaml'], body.ingest_config)
  const secret = (await core.listNamespacedSecret({namespace: NS, labelSelector: sel})).items[0]
  assert.equal(secret.metadata?.name, `ingest-token-${hash}`)
  // the Job controller's pod carries job-name
  const pod = await until('the Job pod', async () => (await core.listNamespacedPod({namespace: NS, labelSelector: `job-name=${jobName}`})).items[0])
  assert.equal(pod.metadata?.labels?.['tracebloc.io/ingestion-run'], 'run-201')

  const replay = await submit(body)
  assert.deepEqual([replay.status, replay.body], [200, {job_name: jobName, namespace: NS, replay: true}])
  const changed = await submit({...body, ingest_config: config('cats_201').replace('intent: train', 'intent: test')})
  assert.equal(changed.status, 409)
  assert.equal(changed.body.detail, `idempotency_key 'run-201' was already used for a different request (job ${jobName})`)
  const digest = await submit({...body, image_digest: `sha256:${'a'.repeat(64)}`})
  assert.equal(digest.status, 409)
  assert.equal((await batch.listNamespacedJob({namespace: NS, labelSelector: sel})).items.length, 1)
})

test("jobsManager 'down': no pod behind svc/jobs-manager; 'notready': pod Running, Ready=False, port 8080 refused", async () => {
  const apps = kubeconfig.makeApiClient(k8s.AppsV1Api)
  sb.faults.set({jobsManager: 'down'})
  await until('no jobs-manager pod', async () => (await jmPods()).length === 0)
  assert.equal((await apps.readNamespacedDeployment({name: 'tracebloc-jobs-manager', namespace: NS})).spec?.replicas, 0)
  sb.faults.clear()
  const pod = await jmPod()
  assert.equal((await forwardHttp(pod, 'GET', '/healthz')).status, 200)

  sb.faults.set({jobsManager: 'notready'})
  const p = await until('jobs-manager NotReady', async () => (await jmPods()).find((x) => x.status?.phase === 'Running' && !isReady(x)))
  const refused = await forwardHttp(p.metadata!.name!, 'GET', '/healthz')
  assert.equal(refused.status, 0)
  assert.match(refused.portError, /error forwarding port 8080 to pod .*connect: connection refused/)
  sb.faults.clear()
  await until('jobs-manager Ready again', async () => (await jmPods()).some(isReady))
  assert.equal((await forwardHttp(await jmPod(), 'GET', '/healthz')).status, 200)
})

test('pvcNotBound: client-pvc Pending and the ingestion pod stuck in FailedScheduling until it binds', async () => {
  sb.faults.set({pvcNotBound: true})
  const pvc = await core.readNamespacedPersistentVolumeClaim({name: 'client-pvc', namespace: NS})
  assert.equal(pvc.status?.phase, 'Pending')
  const r = await submit({ingest_config: config('pvc_wait'), idempotency_key: 'pvc-1'})
  assert.equal(r.status, 201)
  const pod = await until('the Job pod', () => sb.store.list(PODS, {namespace: NS, labelSelector: `job-name=${r.body.job_name}`}).items[0] as KObject | undefined)
  const ev = await until('FailedScheduling', () => sb.store.list(EVENTS, {namespace: NS}).items.find((e) => e.involvedObject.name === pod.metadata.name && e.reason === 'FailedScheduling'))
  assert.match(ev.message, /pod has unbound immediate PersistentVolumeClaims/)
  assert.equal(sb.store.get(PODS, NS, pod.metadata.name)?.status?.phase, 'Pending')
  sb.faults.clear()
  assert.equal((await core.readNamespacedPersistentVolumeClaim({name: 'client-pvc', namespace: NS})).status?.phase, 'Bound')
  // bound again: the pod is scheduled and runs (the ingestor then fails: nothing was staged)
  await until('the pod scheduled', () => sb.store.get(PODS, NS, pod.metadata.name)?.spec?.nodeName)
})

test('legacySecret: the kubernetes.io/service-account-token Secret holds a token jobs-manager accepts', async () => {
  const legacy = await startSandbox({legacySecret: true})
  try {
    const lc = new k8s.KubeConfig()
    lc.loadFromFile(legacy.kubeconfigPath)
    const s = await lc.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({name: 'ingestor-token', namespace: NS})
    assert.equal(s.type, 'kubernetes.io/service-account-token')
    assert.equal(s.metadata?.annotations?.['kubernetes.io/service-account.name'], 'ingestor')
    const tok = Buffer.from(s.data!.token, 'base64').toString('utf8')
    assert.match(tok, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/)
    assert.equal(Buffer.from(s.data!.namespace, 'base64').toString(), NS)
    // TokenReview passes (not 401): the body is then rejected as not JSON
    const r = await forwardHttp(await jmPod(lc.makeApiClient(k8s.CoreV1Api)), 'POST', '/internal/submit-ingestion-run', {auth: `Bearer ${tok}`, body: 'nope', kc: lc})
    assert.equal(r.status, 400)
  } finally {
    await legacy.stop()
  }
  // without the option there is no such Secret
  await assert.rejects(core.readNamespacedSecret({name: 'ingestor-token', namespace: NS}), (e: any) => e.code === 404)
})
