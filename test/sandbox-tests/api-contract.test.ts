// API contract: every request shape the CLI sends (recorded from its e2e runs into
// test/fixtures/api-requests/cli-requests.jsonl by `npm run record:api-requests`) passes the
// sandbox API server's validation — kube-apiserver's rules, with the namespace enforcing Pod
// Security `restricted` — and a live push records only shapes the corpus has, each passing too.
// A new request shape therefore fails here until the corpus is regenerated (and so replayed).
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'
import {tableLabelValue} from '../../src/lib/pvc/k8s-names.js'
import type {RecordedRequest} from '../sandbox/apiserver/recorder.js'
import {replayRequest, requestShape} from '../sandbox/apiserver/validation/replay.js'
import {SANDBOX_USER_AGENT, startSandbox, type Sandbox} from '../sandbox/index.js'
import {CATS_DOGS, ROOT, runCli} from '../e2e/push-cli.js'

type Entry = RecordedRequest & {shape: string}
const CORPUS: Entry[] = readFileSync(path.join(ROOT, 'test/fixtures/api-requests/cli-requests.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l))
const SHAPES = new Set(CORPUS.map((e) => e.shape))

function entry(prefix: string): Entry {
  const e = CORPUS.find((x) => x.shape.startsWith(prefix))
  assert.ok(e, `the corpus has no request ${prefix}: regenerate it (npm run record:api-requests)`)
  return structuredClone(e)
}

/** The StatusError the replay throws, as {code, reason, message}. */
function refusal(rec: RecordedRequest, podSecurity: 'baseline' | 'restricted' = 'restricted'): {code: number; reason: string; message: string; causes?: any[]} {
  try {
    replayRequest(rec, {podSecurity})
  } catch (e: any) {
    return {code: e.code, reason: e.reason, message: e.message, causes: e.details?.causes}
  }
  assert.fail(`accepted: ${requestShape(rec)}`)
}

describe('recorded corpus', () => {
  test('the shapes in the corpus are what the recorder computes for them, and cover the CLI flow', () => {
    for (const e of CORPUS) assert.equal(requestShape(e), e.shape)
    for (const p of ['POST /api/v1/namespaces/{ns}/pods?', 'POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token?', 'POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews?',
      'DELETE /api/v1/namespaces/{ns}/pods/{name}?', 'GET /api/v1/namespaces/{ns}/pods/{name}/exec?', 'GET /api/v1/namespaces/{ns}/pods/{name}/portforward?']) entry(p)
  })

  test('every recorded request passes the validation (namespace enforcing Pod Security restricted)', () => {
    for (const e of CORPUS) assert.doesNotThrow(() => replayRequest(e, {podSecurity: 'restricted'}), e.shape)
  })

  test('the same shapes with values a real API server refuses are refused, with its Status', () => {
    const pod = entry('POST /api/v1/namespaces/{ns}/pods?')
    const b = pod.body as any
    const c = () => b.spec.containers[0]

    b.metadata.labels['tracebloc.io/table'] = 'abc_'
    let r = refusal(pod)
    assert.equal(r.code, 422)
    assert.match(r.message, /^Pod "[^"]+" is invalid: metadata\.labels: Invalid value: "abc_": a valid label must be an empty string/)
    assert.deepEqual(r.causes?.map((x) => x.field), ['metadata.labels'])
    b.metadata.labels['tracebloc.io/table'] = 'ok'

    b.metadata.annotations['x'] = 'y'.repeat(256 * 1024)
    r = refusal(pod)
    assert.match(r.message, /metadata\.annotations: Too long: may not be more than 262144 bytes$/)
    delete b.metadata.annotations['x']

    c().resources.requests.cpu = '2'
    r = refusal(pod)
    assert.match(r.message, /spec\.containers\[0\]\.resources\.requests: Invalid value: "2": must be less than or equal to cpu limit of 1$/)
    c().resources.requests.cpu = 'lots'
    r = refusal(pod)
    assert.equal(r.code, 400)
    assert.equal(r.message, `Pod in version "v1" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`)
    c().resources.requests.cpu = '50m'

    c().name = 'Stage'
    c().image = 42
    r = refusal(pod)
    assert.equal(r.code, 400, 'a type error is a decode error, reported before field validation')
    assert.match(r.message, /cannot unmarshal number into Go struct field Container\.spec\.containers\.image of type string$/)
    c().image = 'alpine'
    r = refusal(pod)
    assert.match(r.message, /spec\.containers\[0\]\.name: Invalid value: "Stage": a lowercase RFC 1123 label must consist of/)
    c().name = 'stage'

    delete c().securityContext.allowPrivilegeEscalation
    c().securityContext.capabilities = {add: ['SYS_ADMIN']}
    r = refusal(pod)
    assert.equal(r.code, 403)
    assert.equal(r.message, `pods "${b.metadata.name}" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "stage" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "stage" must set securityContext.capabilities.drop=["ALL"]; container "stage" must not include "SYS_ADMIN" in securityContext.capabilities.add)`)
    assert.equal(refusal(pod, 'baseline').message, `pods "${b.metadata.name}" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (container "stage" must not include "SYS_ADMIN" in securityContext.capabilities.add)`)
    c().securityContext.capabilities = {drop: ['ALL']}
    assert.doesNotThrow(() => replayRequest(pod, {podSecurity: 'baseline'}), 'baseline does not ask for allowPrivilegeEscalation=false')

    const del = entry('DELETE /api/v1/namespaces/{ns}/pods/{name}?')
    del.query.propagationPolicy = ['Bogus']
    r = refusal(del)
    assert.equal(r.message, 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Bogus": supported values: "Foreground", "Background", "Orphan", "nil"')
    del.query = {gracePeriodSeconds: ['soon']}
    assert.equal(refusal(del).code, 400)

    const token = entry('POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token? application/json {')
    ;(token.body as any).spec.expirationSeconds = 60
    r = refusal(token)
    assert.match(r.message, /^TokenRequest\.authentication\.k8s\.io "[^"]+" is invalid: spec\.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes$/)

    const ssar = entry('POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews? application/json {')
    ;(ssar.body as any).spec.nonResourceAttributes = {path: '/healthz', verb: 'get'}
    r = refusal(ssar)
    assert.match(r.message, /spec\.nonResourceAttributes: Invalid value: .*cannot be specified in combination with resourceAttributes$/)

    const ev = entry('POST /api/v1/namespaces/{ns}/events? application/json {')
    ;(ev.body as any).metadata.generateName = 'ingest-job-0.'
    r = refusal(ev)
    assert.match(r.message, /^Event "ingest-job-0\.[a-z0-9]{5}" is invalid: metadata\.generateName: Invalid value: "ingest-job-0\.": a lowercase RFC 1123 subdomain must consist of/)

    const exec = entry('GET /api/v1/namespaces/{ns}/pods/{name}/exec?')
    delete exec.query.command
    assert.equal(refusal(exec).message, 'you must specify at least 1 command')
  })
})

describe('live push on a validating, Pod Security restricted sandbox', () => {
  let sb: Sandbox
  let dir: string
  let file: string
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'api-contract-'))
    file = path.join(dir, 'requests.jsonl')
    sb = await startSandbox({podSecurity: 'restricted', recordFile: file})
  })
  after(async () => {
    await sb?.stop()
    rmSync(dir, {recursive: true, force: true})
  })

  test('push --table abc_ --detach succeeds; every request it sent has a corpus shape and passes', async () => {
    const r = await runCli(['dataset', 'push', CATS_DOGS, '--table', 'abc_', '--category', 'image_classification', '--label-column', 'label', '--kubeconfig', sb.kubeconfigPath, '--json', '--detach'], {
      env: {TRACEBLOC_STAGE_POD_TIMEOUT: '20', TRACEBLOC_POD_START_TIMEOUT: '20'},
    })
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(r.json?.status, 'detached')
    const recs: RecordedRequest[] = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((x: RecordedRequest) => x.userAgent !== SANDBOX_USER_AGENT)
    assert.ok(recs.length > 10, `only ${recs.length} requests recorded`)
    for (const rec of recs) {
      assert.ok(SHAPES.has(requestShape(rec)), `a request shape the corpus lacks: ${requestShape(rec)} — run npm run record:api-requests and review the diff`)
      assert.doesNotThrow(() => replayRequest(rec, {podSecurity: 'restricted'}), requestShape(rec))
      assert.ok(rec.status < 400 || rec.status === 404, `${rec.status} for ${rec.method} ${rec.path}`)
    }
    const created = recs.find((x) => x.method === 'POST' && x.path.endsWith('/pods')) as any
    assert.equal(created.body.metadata.labels['tracebloc.io/table'], tableLabelValue('abc_'))
    assert.equal(created.body.metadata.annotations['tracebloc.io/table'], 'abc_')
  })
})
