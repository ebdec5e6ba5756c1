// The sandbox's read-only user holds what Kubernetes' built-in `view` ClusterRole grants: get, list and
// watch on workloads, never Secrets and never exec/port-forward, through the real API server (HTTPS)
// and its SelfSubjectAccessReview, which must agree.
import assert from 'node:assert/strict'
import https from 'node:https'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, test} from 'node:test'
import {MemoryStore, startApiServer, type ApiServer} from '../sandbox/apiserver/index.js'
import {Faults} from '../sandbox/faults.js'
import {LocalRuntime} from './local-runtime.js'

const NS = 'tracebloc'
let dir: string
let server: ApiServer

function call(method: string, p: string, token: string, body?: unknown): Promise<{code: number; body: any}> {
  return new Promise((resolve, reject) => {
    const req = https.request(server.url + p, {method, ca: server.caPem, headers: {Authorization: `Bearer ${token}`, 'Content-Type': 'application/json'}}, (res) => {
      let b = ''
      res.on('data', (d) => (b += d))
      res.on('end', () => resolve({code: res.statusCode!, body: b ? JSON.parse(b) : undefined}))
    })
    req.on('error', reject)
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rbac-view-'))
  const store = new MemoryStore(50)
  server = await startApiServer({store, runtime: new LocalRuntime(path.join(dir, 'pods')), faults: new Faults(), namespaces: [NS]})
  store.create({group: '', version: 'v1', resource: 'secrets'}, {apiVersion: 'v1', kind: 'Secret', metadata: {name: 's1', namespace: NS}, data: {k: 'c2VjcmV0'}})
})
after(async () => {
  await server.close()
  rmSync(dir, {recursive: true, force: true})
})

const canI = async (resource: string, verb: string) =>
  (await call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', server.tokens.reader, {
    apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: {resourceAttributes: {namespace: NS, verb, resource}},
  })).body.status.allowed

test('reader (view): pods readable; Secrets neither listed, read nor watched, with the real 403 message', async () => {
  assert.equal((await call('GET', `/api/v1/namespaces/${NS}/pods`, server.tokens.reader)).code, 200)
  const list = await call('GET', `/api/v1/namespaces/${NS}/secrets`, server.tokens.reader)
  assert.equal(list.code, 403)
  assert.equal(list.body.message, `secrets is forbidden: User "reader" cannot list resource "secrets" in API group "" in the namespace "${NS}"`)
  assert.equal((await call('GET', `/api/v1/namespaces/${NS}/secrets/s1`, server.tokens.reader)).code, 403)
  assert.equal((await call('GET', `/api/v1/namespaces/${NS}/secrets?watch=true`, server.tokens.reader)).code, 403)
  assert.equal(await canI('secrets', 'get'), false)
  assert.equal(await canI('pods', 'list'), true)
  // admin still reads it
  assert.equal((await call('GET', `/api/v1/namespaces/${NS}/secrets/s1`, server.tokens.admin)).code, 200)
})
