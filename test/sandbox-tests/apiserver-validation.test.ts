// The sandbox API server refuses what kube-apiserver refuses, over real HTTPS, with the Status
// objects kube-apiserver writes (422 Invalid + details.causes, 409, 404, 403, 400, 415).
import assert from 'node:assert/strict'
import https from 'node:https'
import {after, before, test} from 'node:test'
import {startApiServer, MemoryStore, type ApiServer} from '../sandbox/apiserver/index.js'
import {Faults} from '../sandbox/faults.js'
import type {PodRuntime} from '../sandbox/types.js'

const NS = 'tracebloc'
let server: ApiServer
let store: MemoryStore

const noRuntime: PodRuntime = {
  exec: async () => ({error: 'no runtime'}),
  connect: async () => {
    throw new Error('no runtime')
  },
  logs: async () => {},
}

before(async () => {
  store = new MemoryStore()
  server = await startApiServer({store, runtime: noRuntime, faults: new Faults(), namespaces: [NS, 'locked'], namespaceLabels: {}})
  store.create({group: '', version: 'v1', resource: 'serviceaccounts'}, {apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name: 'ingestor', namespace: NS}})
})
after(async () => {
  await server.close()
})

function call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{status: number; body: any}> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))
    const req = https.request(server.url + path, {method, ca: server.caPem, headers: {authorization: `Bearer ${server.tokens.admin}`, ...(data ? {'content-type': contentType, 'content-length': data.length} : {})}}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        resolve({status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined})
      })
    })
    req.on('error', reject)
    req.end(data)
  })
}

const pod = (name: string, extra: Record<string, any> = {}) => ({apiVersion: 'v1', kind: 'Pod', metadata: {name}, spec: {containers: [{name: 'c', image: 'busybox'}]}, ...extra})
const PODS = `/api/v1/namespaces/${NS}/pods`

test('names: each kind its rule (Pod subdomain, Namespace label, Service DNS-1035), generateName, Status shape of 422', async () => {
  const r = await call('POST', PODS, pod('Bad_Name'))
  assert.equal(r.status, 422)
  assert.deepEqual(r.body, {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Invalid', code: 422,
    message: `Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    details: {name: 'Bad_Name', kind: 'Pod', causes: [{reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}]},
  })
  assert.equal((await call('POST', PODS, pod('a.b'))).status, 201, 'dots are fine in a pod name')
  const ns = await call('POST', '/api/v1/namespaces', {metadata: {name: 'a.b'}})
  assert.equal(ns.body.message, 'Namespace "a.b" is invalid: metadata.name: Invalid value: "a.b": must not contain dots')
  const upper = await call('POST', '/api/v1/namespaces', {metadata: {name: 'Data'}})
  assert.match(upper.body.message, /^Namespace "Data" is invalid: metadata\.name: Invalid value: "Data": a lowercase RFC 1123 label must consist of/)
  const svc = await call('POST', `/api/v1/namespaces/${NS}/services`, {metadata: {name: '1svc'}, spec: {ports: [{port: 80}]}})
  assert.match(svc.body.message, /^Service "1svc" is invalid: metadata\.name: Invalid value: "1svc": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character/)
  const gen = await call('POST', PODS, {...pod(''), metadata: {generateName: 'stage-'}})
  assert.equal(gen.status, 201)
  assert.match(gen.body.metadata.name, /^stage-[bcdfghjklmnpqrstvwxz2456789]{5}$/)
  const badGen = await call('POST', PODS, {...pod(''), metadata: {generateName: 'Stage-'}})
  assert.equal(badGen.status, 422)
  assert.deepEqual(badGen.body.details.causes.map((c: any) => c.field), ['metadata.generateName', 'metadata.name'])
  const none = await call('POST', PODS, {...pod(''), metadata: {}})
  assert.equal(none.body.message, 'Pod "" is invalid: metadata.name: Required value: name or generateName is required')
})

test('labels, annotations (256 KiB total), several errors aggregated in one message', async () => {
  const r = await call('POST', `/api/v1/namespaces/${NS}/configmaps`, {metadata: {name: 'cm', labels: {'tracebloc.io/table': 'abc_', 'a/b/c': 'x'}, annotations: {big: 'x'.repeat(256 * 1024)}}, data: {'../k': 'v'}})
  assert.equal(r.status, 422)
  assert.deepEqual(r.body.details.causes.map((c: any) => [c.reason, c.field]), [
    ['FieldValueInvalid', 'metadata.labels'],
    ['FieldValueInvalid', 'metadata.labels'],
    ['FieldValueTooLong', 'metadata.annotations'],
    ['FieldValueInvalid', 'data[../k]'],
    ['FieldValueInvalid', 'data[../k]'],
  ])
  assert.match(r.body.message, /^ConfigMap "cm" is invalid: \[metadata\.labels: Invalid value: "abc_": a valid label must be/)
  assert.match(r.body.message, /metadata\.annotations: Too long: may not be more than 262144 bytes, /)
  assert.match(r.body.message, /data\[\.\.\/k\]: Invalid value: "\.\.\/k": must not start with '\.\.'\]$/)
  const ok = await call('POST', `/api/v1/namespaces/${NS}/configmaps`, {metadata: {name: 'cm', annotations: {big: 'x'.repeat(256 * 1024 - 3)}}})
  assert.equal(ok.status, 201, 'exactly at the limit is fine')
})

test('schema: wrong type is a 400 decode error, enum and required fields are 422', async () => {
  const t = await call('POST', PODS, pod('t', {spec: {containers: [{name: 'c', image: 'busybox', ports: [{containerPort: '80'}]}]}}))
  assert.equal(t.status, 400)
  assert.equal(t.body.message, 'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32')
  const e = await call('POST', PODS, pod('e', {spec: {containers: [{image: 'busybox', imagePullPolicy: 'Sometimes'}], dnsPolicy: 'Google'}}))
  assert.equal(e.status, 422)
  assert.deepEqual(e.body.details.causes, [
    {reason: 'FieldValueRequired', field: 'spec.containers[0].name', message: 'Required value'},
    {reason: 'FieldValueNotSupported', field: 'spec.containers[0].imagePullPolicy', message: 'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"'},
    {reason: 'FieldValueNotSupported', field: 'spec.dnsPolicy', message: 'Unsupported value: "Google": supported values: "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"'},
  ])
})

test('pod spec rules: containers, volumes and mounts, resources, env, ports', async () => {
  const r = await call('POST', PODS, pod('spec', {spec: {
    containers: [
      {name: 'c', image: 'busybox', resources: {requests: {memory: '2Gi', cpu: '-1'}, limits: {memory: '1Gi'}}, volumeMounts: [{name: 'nope', mountPath: '/x'}], env: [{name: '1BAD', value: 'v'}], ports: [{containerPort: 70000}]},
      {name: 'c', image: ''},
    ],
    volumes: [{name: 'v'}],
  }}))
  assert.equal(r.status, 422)
  const fields = r.body.details.causes.map((c: any) => `${c.field}: ${c.message}`)
  for (const want of [
    'spec.volumes[0]: Required value: must specify a volume type',
    'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
    'spec.containers[0].volumeMounts[0].name: Not found: "nope"',
    'spec.containers[0].resources.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0',
    'spec.containers[0].resources.requests: Invalid value: "2Gi": must be less than or equal to memory limit of 1Gi',
    'spec.containers[1].name: Duplicate value: "c"',
    'spec.containers[1].image: Required value',
  ]) assert.ok(fields.includes(want), `missing ${want} in\n${fields.join('\n')}`)
  assert.ok(fields.some((f: string) => f.startsWith('spec.containers[0].env[0].name: Invalid value: "1BAD": a valid environment variable name must consist of')))
})

test('admission: missing namespace 404, missing ServiceAccount 403, Pod Security restricted 403, AlreadyExists 409, dryRun stores nothing', async () => {
  const nsMissing = await call('POST', '/api/v1/namespaces/nowhere/pods', pod('p'))
  assert.deepEqual([nsMissing.status, nsMissing.body.message], [404, 'namespaces "nowhere" not found'])
  const sa = await call('POST', PODS, pod('sa', {spec: {serviceAccountName: 'ghost', containers: [{name: 'c', image: 'busybox'}]}}))
  assert.deepEqual([sa.status, sa.body.message], [403, `pods "sa" is forbidden: error looking up service account ${NS}/ghost: serviceaccount "ghost" not found`])
  const lbl = await call('PATCH', '/api/v1/namespaces/locked', {metadata: {labels: {'pod-security.kubernetes.io/enforce': 'restricted'}}}, 'application/merge-patch+json')
  assert.equal(lbl.status, 200)
  const pss = await call('POST', '/api/v1/namespaces/locked/pods', pod('root', {spec: {hostNetwork: true, securityContext: {runAsNonRoot: true, seccompProfile: {type: 'RuntimeDefault'}}, volumes: [{name: 'h', hostPath: {path: '/'}}], containers: [{name: 'c', image: 'busybox', securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: ['ALL']}, runAsUser: 0}}]}}))
  assert.equal(pss.status, 403)
  assert.equal(pss.body.message, 'pods "root" is forbidden: violates PodSecurity "restricted:latest": host namespaces (hostNetwork=true), restricted volume types (volume "h" uses restricted volume type "hostPath"), runAsUser=0 (container "c" must not set runAsUser=0)')
  assert.deepEqual(pss.body.details, {name: 'root', kind: 'pods'})
  assert.equal((await call('POST', PODS, pod('twice'))).status, 201)
  const again = await call('POST', PODS, pod('twice'))
  assert.deepEqual([again.status, again.body.reason, again.body.message], [409, 'AlreadyExists', 'pods "twice" already exists'])
  const dry = await call('POST', `${PODS}?dryRun=All`, pod('dry'))
  assert.equal(dry.status, 201)
  assert.equal(store.get({group: '', version: 'v1', resource: 'pods'}, NS, 'dry'), undefined)
  const badDry = await call('POST', `${PODS}?dryRun=Some`, pod('dry'))
  assert.equal(badDry.body.message, 'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["Some"]: supported values: "All"')
})

test('update and patch: the result is validated, pod spec immutability, patch media types, DeleteOptions', async () => {
  await call('POST', PODS, pod('upd'))
  const lbl = await call('PATCH', `${PODS}/upd`, {metadata: {labels: {table: '_x'}}}, 'application/merge-patch+json')
  assert.equal(lbl.status, 422)
  assert.match(lbl.body.message, /^Pod "upd" is invalid: metadata\.labels: Invalid value: "_x"/)
  const img = await call('PATCH', `${PODS}/upd`, [{op: 'replace', path: '/spec/containers/0/image', value: 'alpine'}], 'application/json-patch+json')
  assert.equal(img.status, 200, 'the image may change')
  const spec = await call('PATCH', `${PODS}/upd`, {spec: {restartPolicy: 'Never'}}, 'application/strategic-merge-patch+json')
  assert.equal(spec.status, 422)
  assert.match(spec.body.message, /^Pod "upd" is invalid: spec: Forbidden: pod updates may not change fields other than `spec\.containers\[\*\]\.image`/)
  const stale = await call('PATCH', `${PODS}/upd`, {metadata: {resourceVersion: '1', labels: {a: 'b'}}}, 'application/merge-patch+json')
  assert.deepEqual([stale.status, stale.body.reason], [409, 'Conflict'])
  assert.match(stale.body.message, /^Operation cannot be fulfilled on pods "upd": the object has been modified; please apply your changes to the latest version and try again$/)
  const media = await call('PATCH', `${PODS}/upd`, {}, 'text/plain')
  assert.equal(media.status, 415)
  const arr = await call('PATCH', `${PODS}/upd`, [], 'application/merge-patch+json')
  assert.equal(arr.status, 400)
  const del = await call('DELETE', `${PODS}/upd`, {kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Orphan', orphanDependents: true})
  assert.equal(del.status, 422)
  assert.equal(del.body.message, 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: "Orphan": orphanDependents and deletionPropagation cannot be both set')
  const missing = await call('DELETE', `${PODS}/nope`)
  assert.deepEqual([missing.status, missing.body.message, missing.body.details], [404, 'pods "nope" not found', {name: 'nope', kind: 'pods'}])
})

test('TokenRequest, SelfSubjectAccessReview and pods/log options', async () => {
  const tok = await call('POST', `/api/v1/namespaces/${NS}/serviceaccounts/ingestor/token`, {spec: {expirationSeconds: 'an hour'}})
  assert.equal(tok.status, 400)
  assert.match(tok.body.message, /^TokenRequest in version "v1" cannot be handled as a TokenRequest: json: cannot unmarshal string into Go struct field TokenRequestSpec\.spec\.expirationSeconds of type int64$/)
  const ref = await call('POST', `/api/v1/namespaces/${NS}/serviceaccounts/ingestor/token`, {spec: {boundObjectRef: {kind: 'ConfigMap', name: 'x'}}})
  assert.equal(ref.body.message, 'TokenRequest.authentication.k8s.io "ingestor" is invalid: spec.boundObjectRef.kind: Unsupported value: "ConfigMap": supported values: "Pod", "Secret"')
  const both = await call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {spec: {resourceAttributes: {verb: 'get', resource: 'pods'}, nonResourceAttributes: {verb: 'get', path: '/x'}}})
  assert.equal(both.status, 422)
  assert.match(both.body.message, /^SelfSubjectAccessReview\.authorization\.k8s\.io "" is invalid: spec\.nonResourceAttributes: Invalid value: .*: cannot be specified in combination with resourceAttributes$/)
  const log = await call('GET', `${PODS}/twice/log?tailLines=-1&sinceSeconds=0`)
  assert.equal(log.status, 422)
  assert.equal(log.body.message, 'PodLogOptions "" is invalid: [tailLines: Invalid value: -1: must be greater than or equal to 0, sinceSeconds: Invalid value: 0: must be greater than 0]')
})

test('status.qosClass on create: BestEffort, Burstable, Guaranteed', async () => {
  const res = (r: Record<string, unknown>) => ({spec: {containers: [{name: 'c', image: 'busybox', resources: r}]}})
  const be = await call('POST', PODS, pod('qos-be'))
  const bu = await call('POST', PODS, pod('qos-bu', res({requests: {cpu: '50m', memory: '64Mi'}, limits: {cpu: '1', memory: '256Mi'}})))
  const gu = await call('POST', PODS, pod('qos-gu', res({limits: {cpu: '1', memory: '256Mi'}})))
  assert.deepEqual([be.body.status.qosClass, bu.body.status.qosClass, gu.body.status.qosClass], ['BestEffort', 'Burstable', 'Guaranteed'])
})
