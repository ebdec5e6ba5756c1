import assert from 'node:assert/strict'
import {test} from 'node:test'
import {MemoryStore} from '../sandbox/apiserver/store.js'
import {StatusError, type StoreEvent} from '../sandbox/types.js'

const pods = {group: '', version: 'v1', resource: 'pods'}
const secrets = {group: '', version: 'v1', resource: 'secrets'}
const pod = (name: string, labels: Record<string, string> = {}, phase = 'Running') => ({
  apiVersion: 'v1', kind: 'Pod', metadata: {name, namespace: 'ns', labels}, spec: {}, status: {phase},
})

test('create stamps uid, creationTimestamp and a cluster-wide resourceVersion; duplicates are 409', () => {
  const s = new MemoryStore()
  const a = s.create(pods, pod('a'))
  const b = s.create(secrets, {metadata: {name: 'x', namespace: 'ns'}, type: 'Opaque'})
  assert.match(a.metadata.uid, /^[0-9a-f-]{36}$/)
  assert.match(a.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  assert.equal(Number(b.metadata.resourceVersion), Number(a.metadata.resourceVersion) + 1)
  assert.throws(() => s.create(pods, pod('a')), (e: StatusError) => e.code === 409 && e.reason === 'AlreadyExists' && e.message === 'pods "a" already exists')
})

test('label and field selectors: equality, set-based, exists, metadata.name, status.phase, type', () => {
  const s = new MemoryStore()
  s.create(pods, pod('a', {app: 'manager', tier: 'x'}))
  s.create(pods, pod('b', {app: 'ingestor'}, 'Succeeded'))
  s.create(pods, pod('c', {}))
  s.create(secrets, {metadata: {name: 't', namespace: 'ns'}, type: 'kubernetes.io/service-account-token'})
  s.create(secrets, {metadata: {name: 'o', namespace: 'ns'}, type: 'Opaque'})
  const names = (o: {labelSelector?: string; fieldSelector?: string}) => s.list(pods, {namespace: 'ns', ...o}).items.map((p) => p.metadata.name)
  assert.deepEqual(names({labelSelector: 'app=manager'}), ['a'])
  assert.deepEqual(names({labelSelector: 'app in (manager, ingestor)'}), ['a', 'b'])
  assert.deepEqual(names({labelSelector: 'app notin (manager)'}), ['b', 'c'])
  assert.deepEqual(names({labelSelector: 'app,!tier'}), ['b'])
  assert.deepEqual(names({labelSelector: 'app!=manager'}), ['b', 'c'])
  assert.deepEqual(names({fieldSelector: 'metadata.name=b'}), ['b'])
  assert.deepEqual(names({fieldSelector: 'status.phase!=Succeeded,metadata.name!=c'}), ['a'])
  assert.deepEqual(s.list(secrets, {fieldSelector: 'type=kubernetes.io/service-account-token'}).items.map((x) => x.metadata.name), ['t'])
  assert.deepEqual(s.list(pods, {namespace: 'other'}).items, [])
  assert.throws(() => names({labelSelector: 'a in b'}), (e: StatusError) => e.code === 400)
})

test('update bumps the RV and emits MODIFIED; a no-op update emits nothing; delete emits DELETED', () => {
  const s = new MemoryStore()
  const seen: StoreEvent[] = []
  s.subscribe((e) => seen.push(e))
  s.create(pods, pod('a'))
  const u = s.update(pods, 'ns', 'a', (o) => {
    o.status.phase = 'Succeeded'
  })
  s.update(pods, 'ns', 'a', (o) => {
    o.status.phase = 'Succeeded'
  })
  s.delete(pods, 'ns', 'a')
  assert.deepEqual(seen.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED'])
  assert.equal(u.status.phase, 'Succeeded')
  assert.equal(seen[2].object.metadata.resourceVersion, s.currentResourceVersion())
  assert.throws(() => s.update(pods, 'ns', 'a', () => {}), (e: StatusError) => e.code === 404 && e.message === 'pods "a" not found')
})

test('eventsSince resumes after an RV and answers 410 Expired once history is compacted', () => {
  const s = new MemoryStore(3)
  const rv0 = s.currentResourceVersion()
  s.create(pods, pod('a'))
  const rv1 = s.currentResourceVersion()
  s.create(pods, pod('b'))
  s.create(secrets, {metadata: {name: 'x', namespace: 'ns'}})
  assert.deepEqual(s.eventsSince(pods, rv1).map((e) => e.object.metadata.name), ['b'])
  assert.deepEqual(s.eventsSince(pods, rv0).map((e) => e.object.metadata.name), ['a', 'b'])
  s.create(pods, pod('c')) // pushes 'a' out of the 3-entry history
  assert.throws(() => s.eventsSince(pods, rv0), (e: StatusError) => e.code === 410 && e.reason === 'Expired' && /^too old resource version: \d+ \(\d+\)$/.test(e.message))
  s.compact()
  assert.throws(() => s.eventsSince(pods, rv1), (e: StatusError) => e.code === 410)
  assert.deepEqual(s.eventsSince(pods, s.currentResourceVersion()), [])
})
