// cluster info and the legacy-token path, against a sandbox that also has the legacy
// kubernetes.io/service-account-token Secret; login is a documented placeholder.
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {startSandbox} from '../sandbox/index.js'
import {CATS_DOGS, runCli} from './push-cli.js'

type Sandbox = Awaited<ReturnType<typeof startSandbox>>
let sb: Sandbox

before(async () => {
  sb = await startSandbox({legacySecret: true})
})
after(async () => {
  await sb?.stop()
})

test('cluster info (admin): release, ready jobs-manager, TokenRequest token, PVC, matching schema, all permissions', async () => {
  const r = await runCli(['cluster', 'info', '--kubeconfig', sb.kubeconfigPath, '--json'])
  assert.equal(r.code, 0, r.stderr)
  const i = r.json
  assert.equal(i.release, 'tracebloc')
  assert.equal(i.chart_version, '1.9.62')
  assert.equal(i.namespace, 'tracebloc')
  assert.equal(i.ingestor_sa, 'tracebloc/ingestor')
  assert.equal(i.jobs_manager.ready, true)
  assert.equal(i.token.source, 'TokenRequest')
  assert.match(i.token.sha256_prefix, /^[0-9a-f]{16}$/)
  assert.ok(Date.parse(i.token.expires_at) > Date.now())
  assert.equal(i.pvc.phase, 'Bound')
  assert.equal(i.schema.match, true)
  assert.ok(i.permissions.length > 10 && i.permissions.every((p: {allowed: boolean}) => p.allowed))
  assert.equal(i.ready, true)
  assert.doesNotMatch(r.stdout + r.stderr, /eyJ[A-Za-z0-9_-]{10,}\./)
})

test('cluster info (human): readable sections, no token', async () => {
  const r = await runCli(['cluster', 'info', '--kubeconfig', sb.kubeconfigPath])
  assert.equal(r.code, 0, r.stderr)
  for (const s of ['Client release', 'Ingestor token', 'Permissions', 'Ready for `tracebloc dataset push`']) assert.ok(r.stdout.includes(s), s)
  assert.doesNotMatch(r.stdout + r.stderr, /eyJ[A-Za-z0-9_-]{10,}\./)
})

test('cluster info (reader): shows the denied verbs, is not ready, exits 7', async () => {
  const r = await runCli(['cluster', 'info', '--kubeconfig', sb.kubeconfigPath, '--context', 'sandbox-reader', '--json'])
  assert.equal(r.code, 7, r.stderr)
  assert.equal(r.json.ready, false)
  assert.ok(r.json.permissions.some((p: {permission: string; allowed: boolean}) => p.permission === 'create pods' && !p.allowed))
})

test('TokenRequest forbidden → the legacy Secret token is used and the push succeeds', async () => {
  const info = await runCli(['cluster', 'info', '--kubeconfig', sb.kubeconfigPath, '--context', 'sandbox-no-token-request', '-n', 'tracebloc', '--json'])
  assert.equal(info.json.token.source, 'secret')
  const r = await runCli(
    ['dataset', 'push', CATS_DOGS, '--table', 'cats_legacy', '--category', 'image_classification', '--label-column', 'label', '--kubeconfig', sb.kubeconfigPath, '--context', 'sandbox-no-token-request', '-n', 'tracebloc', '--json'],
    {env: {TRACEBLOC_STAGE_POD_TIMEOUT: '20'}},
  )
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.equal(r.json.summary.total_records, 576)
  assert.doesNotMatch(r.stdout + r.stderr, /eyJ[A-Za-z0-9_-]{10,}\./)
})

test('login is a placeholder that says no sign-in is needed and exits 0', async () => {
  const r = await runCli(['login'])
  assert.equal(r.code, 0)
  assert.match(r.stdout, /No sign-in needed/)
})
