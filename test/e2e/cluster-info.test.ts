// cluster info and the legacy-token path, against a sandbox that also has the legacy
// kubernetes.io/service-account-token Secret; login is a documented placeholder.
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, test} from 'node:test'

import {SANDBOX_USER_AGENT, startSandbox} from '../sandbox/index.js'
import {hasPty, cliOnPty} from './pty.js'
import {CATS_DOGS, runCli} from './push-cli.js'

type Sandbox = Awaited<ReturnType<typeof startSandbox>>
let sb: Sandbox
let dir: string
let record: string

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tb-info-'))
  // the corpus recorder's file when it runs (npm run record:api-requests), else one of our own
  record = process.env.TRACEBLOC_SANDBOX_RECORD || path.join(dir, 'requests.jsonl')
  writeFileSync(record, '', {flag: 'a'})
  sb = await startSandbox({legacySecret: true, recordFile: record})
})
after(async () => {
  await sb?.stop()
  rmSync(dir, {recursive: true, force: true})
})

/** The API requests the CLI sent while `fn` ran (the sandbox's own calls left out). */
async function requestsDuring(fn: () => Promise<unknown>): Promise<Array<{method: string; path: string; body?: any}>> {
  const start = readFileSync(record, 'utf8').length
  await fn()
  return readFileSync(record, 'utf8')
    .slice(start)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((r) => r.userAgent !== SANDBOX_USER_AGENT)
}
const isTokenRequest = (r: {method: string; path: string}) => r.method === 'POST' && r.path.endsWith('/token')

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
  assert.equal(i.token.lifetime_seconds, 600)
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

test('cluster info checks the token with a SelfSubjectAccessReview and mints none', async () => {
  let r: Awaited<ReturnType<typeof runCli>> | undefined
  const sent = await requestsDuring(async () => (r = await runCli(['cluster', 'info', '--kubeconfig', sb.kubeconfigPath, '--json'])))
  assert.equal(r!.code, 0, r!.stderr)
  assert.deepEqual(sent.filter(isTokenRequest), [], 'no TokenRequest')
  const review = sent.find((q) => q.path.endsWith('/selfsubjectaccessreviews') && q.body?.spec?.resourceAttributes?.subresource === 'token' && q.body.spec.resourceAttributes.name === 'ingestor')
  assert.ok(review, 'asked whether a token for the ingestor ServiceAccount can be requested')
  // denied TokenRequest: still nothing minted; the legacy Secret is what a push would use
  const legacy = await requestsDuring(() => runCli(['cluster', 'info', '--kubeconfig', sb.kubeconfigPath, '--context', 'sandbox-no-token-request', '-n', 'tracebloc', '--json']))
  assert.deepEqual(legacy.filter(isTokenRequest), [])
})

test('push mints the ingestor token for 10 minutes, with the default audience', async () => {
  let r: Awaited<ReturnType<typeof runCli>> | undefined
  const sent = await requestsDuring(async () => {
    r = await runCli(['dataset', 'push', CATS_DOGS, '--table', 'cats_token_life', '--category', 'image_classification', '--label-column', 'label', '--kubeconfig', sb.kubeconfigPath, '--detach', '--json'])
  })
  assert.equal(r!.code, 0, r!.stderr + r!.stdout)
  const minted = sent.filter(isTokenRequest)
  assert.ok(minted.length >= 1)
  for (const m of minted) {
    assert.equal(m.body.spec.expirationSeconds, 600)
    // jobs-manager's TokenReview names no audience, so the token keeps the API server's default one
    assert.deepEqual(m.body.spec.audiences ?? [], [])
  }
})

test('a token about to expire is minted again before the submit; a fresh one is kept', async () => {
  const {loadClusterTarget} = await import('../../src/lib/cluster/kube.js')
  const {freshIngestorToken, mintIngestorToken} = await import('../../src/lib/cluster/token.js')
  const t = await loadClusterTarget({kubeconfig: sb.kubeconfigPath})
  const tok = await mintIngestorToken(t, 'tracebloc', 'ingestor')
  assert.ok(tok.expiresAt && tok.expiresAt.getTime() - Date.now() <= 600_000)
  assert.equal(await freshIngestorToken(t, tok), tok, 'ten minutes left: kept')
  // as if the upload had taken 8 of its 10 minutes
  const later = await freshIngestorToken(t, tok, undefined, tok.expiresAt!.getTime() - 120_000)
  assert.notEqual(later.token, tok.token)
  assert.equal(later.source, 'TokenRequest')
})

test('a client found only by the cluster-wide search: an error off a terminal unless -n names it', async () => {
  const kc = path.join(dir, 'other-ns.kubeconfig')
  const doc = JSON.parse(readFileSync(sb.kubeconfigPath, 'utf8'))
  for (const c of doc.contexts) c.context.namespace = 'default'
  writeFileSync(kc, JSON.stringify(doc), {mode: 0o600})
  const off = await runCli(['cluster', 'info', '--kubeconfig', kc, '--json'])
  assert.equal(off.code, 3, off.stdout + off.stderr)
  assert.equal(off.json.reason, 'namespace_confirmation_needed')
  assert.match(off.json.error, /no tracebloc client in namespace "default", but there is one in namespace "tracebloc"/)
  assert.match(off.json.hint, /-n tracebloc/)
  const push = await runCli(['dataset', 'push', CATS_DOGS, '--table', 'cats_ns', '--category', 'image_classification', '--label-column', 'label', '--kubeconfig', kc, '--dry-run'])
  assert.equal(push.code, 3, push.stdout + push.stderr)
  assert.match(push.stderr, /pass -n tracebloc/)
  const named = await runCli(['cluster', 'info', '--kubeconfig', kc, '-n', 'tracebloc', '--json'])
  assert.equal(named.code, 0, named.stderr)
  assert.equal(named.json.namespace, 'tracebloc')
})

test('a client found only by the cluster-wide search: asked on a terminal', {skip: !hasPty && 'needs python3 pty'}, async () => {
  const kc = path.join(dir, 'other-ns-tty.kubeconfig')
  const doc = JSON.parse(readFileSync(sb.kubeconfigPath, 'utf8'))
  for (const c of doc.contexts) c.context.namespace = 'default'
  writeFileSync(kc, JSON.stringify(doc), {mode: 0o600})
  const yes = await cliOnPty(['cluster', 'info', '--kubeconfig', kc], {prompt: 'Use namespace "tracebloc"?', answers: ['y']})
  assert.equal(yes.code, 0, yes.screen)
  assert.match(yes.screen, /Ready for `tracebloc dataset push`/)
  const no = await cliOnPty(['cluster', 'info', '--kubeconfig', kc], {prompt: 'Use namespace "tracebloc"?', answers: ['n']})
  assert.equal(no.code, 4, no.screen)
  assert.match(no.screen, /not chosen/)
})

test('login is a placeholder that says no sign-in is needed and exits 0', async () => {
  const r = await runCli(['login'])
  assert.equal(r.code, 0)
  assert.match(r.stdout, /No sign-in needed/)
})
