// The stage pod's Kubernetes names and labels are valid for every table name the CLI accepts:
// checked with the sandbox API server's validation (kube-apiserver's rules, incl. Pod Security
// `restricted`) over edge cases and generated names.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {isLabelValue} from '../sandbox/apiserver/validation/field.js'
import {admitCreate} from '../sandbox/apiserver/validation/index.js'
import {findResource} from '../sandbox/apiserver/resources.js'
import {tableLabelValue} from '../../src/lib/pvc/k8s-names.js'
import {buildStagePod, stagePodName} from '../../src/lib/pvc/stage-pod.js'

const TABLE_RE = /^[A-Za-z_][A-Za-z0-9_]*$/
const PODS = findResource('', 'v1', 'pods')!

/** Deterministic generator (mulberry32), so a failure names a table that reproduces. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function tables(): string[] {
  const first = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_'
  const rest = first + '0123456789'
  const edge = ['abc_', '_x', '_', '__', 'A', 'a', 'Z9', '_9', 'x_y', 'a__b', '_'.repeat(63), 'a'.repeat(63), `_${'a'.repeat(62)}`, `${'a'.repeat(62)}_`, `A${'_'.repeat(61)}B`, `${'9'.repeat(0)}Q${'_'.repeat(62)}`]
  const out = [...edge, ...first]
  const r = rng(0x7ab1e)
  // weight '_' heavily at the ends: the invalid-label cases
  for (let i = 0; i < 2000; i++) {
    const len = 1 + Math.floor(r() * 63)
    let s = r() < 0.4 ? '_' : first[Math.floor(r() * first.length)]
    for (let j = 1; j < len; j++) s += j === len - 1 && r() < 0.4 ? '_' : rest[Math.floor(r() * rest.length)]
    out.push(s)
  }
  for (const t of out) assert.match(t, TABLE_RE, `generator produced a table the CLI rejects: ${t}`)
  return out
}

test('the table label is the table itself when Kubernetes allows it, else a valid deterministic encoding', () => {
  const seen = new Map<string, string>()
  for (const t of tables()) {
    const v = tableLabelValue(t)
    assert.deepEqual(isLabelValue(v), [], `label value for table ${JSON.stringify(t)}: ${v}`)
    assert.equal(tableLabelValue(t), v, 'deterministic')
    if (isLabelValue(t).length === 0) assert.equal(v, t, `a valid table keeps the Go CLI's label: ${t}`)
    else assert.ok(v.includes('-'), `an encoded value carries '-', which no table name has: ${v}`)
    const other = seen.get(v)
    assert.ok(other === undefined || other === t, `tables ${JSON.stringify(other)} and ${JSON.stringify(t)} share the label value ${v}`)
    seen.set(v, t)
  }
  assert.equal(tableLabelValue('abc_'), `abc-${tableLabelValue('abc_').slice(-10)}`)
  assert.equal(tableLabelValue('cats_dogs_train'), 'cats_dogs_train')
})

test('the whole stage pod passes kube-apiserver validation and Pod Security restricted for every accepted table', () => {
  const restricted = {metadata: {name: 'tracebloc', labels: {'pod-security.kubernetes.io/enforce': 'restricted'}}}
  for (const t of tables()) {
    const pod = buildStagePod({name: stagePodName(t), namespace: 'tracebloc', table: t, serviceAccount: 'ingestor', image: 'alpine:3.20', runId: '3efdee9fa1e60ae6b960d7d7aa52a352'})
    assert.doesNotThrow(() => admitCreate(PODS, 'tracebloc', structuredClone(pod) as any, {namespace: restricted, serviceAccountExists: () => true}), `table ${JSON.stringify(t)}`)
    assert.equal(pod.metadata!.annotations!['tracebloc.io/table'], t, 'the annotation keeps the table verbatim')
  }
})

test('the validation these tests rely on does refuse the label the CLI used to write for `abc_`', () => {
  const pod = buildStagePod({name: stagePodName('abc_'), namespace: 'tracebloc', table: 'abc_', serviceAccount: 'ingestor', image: 'alpine:3.20', runId: 'r1'}) as any
  pod.metadata.labels['tracebloc.io/table'] = 'abc_'
  assert.throws(() => admitCreate(PODS, 'tracebloc', pod, {namespace: {metadata: {name: 'tracebloc'}}, serviceAccountExists: () => true}), (e: any) => {
    assert.equal(e.code, 422)
    assert.match(e.message, /^Pod "tracebloc-stage-abc-[0-9a-f]{8}" is invalid: metadata\.labels: Invalid value: "abc_": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '\.', and must start and end with an alphanumeric character \(e\.g\. 'MyValue', {2}or 'my_value', {2}or '12345', regex used for validation is '\(\(\[A-Za-z0-9\]\[-A-Za-z0-9_\.\]\*\)\?\[A-Za-z0-9\]\)\?'\)$/)
    assert.deepEqual(e.details.causes.map((c: any) => [c.reason, c.field]), [['FieldValueInvalid', 'metadata.labels']])
    return true
  })
})
