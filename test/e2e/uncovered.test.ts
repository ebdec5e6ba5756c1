// Paths no other file reaches: failures of `cluster info` (an unreachable server, a namespace without a
// client), `dataset show` of a missing name, `autocomplete powershell`, and the human (non-JSON) output
// of `dataset list` and `dataset show`, `dataset list --all` and `dataset runs -A`. Real processes against the sandbox cluster.
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {runCli, SAMPLES, sandboxPerFile} from './push-cli.js'

const sandbox = sandboxPerFile()
const env = {TRACEBLOC_STAGE_POD_TIMEOUT: '20', TRACEBLOC_POD_START_TIMEOUT: '20'}
const STACK = /^\s+at .+:\d+:\d+\)?$/m
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tb-uncovered-'))
after(() => rmSync(tmp, {recursive: true, force: true}))

const cli = (args: string[]) => runCli([...args, '--kubeconfig', sandbox().kubeconfigPath], {env})

/** A TCP port on 127.0.0.1 that nothing listens on (bound once, then released). */
async function closedPort(): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as net.AddressInfo).port
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

test('cluster info against an unreachable API server: exit 3 api_unreachable, one line and a next step, no stack', async () => {
  const kc = path.join(tmp, 'unreachable')
  // the sandbox's kubeconfig with its server moved to a closed port: real CA and token, nothing listening
  const doc = JSON.parse(readFileSync(sandbox().kubeconfigPath, 'utf8'))
  for (const c of doc.clusters) c.cluster.server = `https://127.0.0.1:${await closedPort()}`
  writeFileSync(kc, JSON.stringify(doc), {mode: 0o600})
  const j = await runCli(['cluster', 'info', '--kubeconfig', kc, '--json'], {env})
  assert.equal(j.code, 3, j.stdout + j.stderr)
  assert.equal(j.json.reason, 'api_unreachable')
  const h = await runCli(['cluster', 'info', '--kubeconfig', kc], {env})
  assert.equal(h.code, 3)
  assert.match(h.stderr, /^Error: cannot reach the Kubernetes API server https:\/\/127\.0\.0\.1:\d+/m)
  assert.match(h.stderr, /→ .*kubectl cluster-info/)
  assert.doesNotMatch(h.stdout + h.stderr, STACK)
})

test('cluster info for a namespace without a tracebloc client: exit 4 naming the namespace', async () => {
  const r = await cli(['cluster', 'info', '--namespace', 'no-client-here', '--json'])
  assert.equal(r.code, 4, r.stdout + r.stderr)
  assert.match(r.json.error, /no-client-here/)
  assert.ok(r.json.hint, 'a next step')
})

test('dataset show of a missing name: exit 5 dataset_not_found', async () => {
  const r = await cli(['dataset', 'show', 'never_pushed', '--json'])
  assert.equal(r.code, 5, r.stdout + r.stderr)
  assert.equal(r.json.reason, 'dataset_not_found')
  const h = await cli(['dataset', 'show', 'never_pushed'])
  assert.equal(h.code, 5)
  assert.match(h.stderr, /^Error: .*never_pushed/m)
  assert.doesNotMatch(h.stdout + h.stderr, STACK)
})

test('dataset list and show without --json: a table naming the dataset and its record count', async () => {
  const csv = `${SAMPLES}/tabular_classification/tabular_classification_sample_in_csv_format.csv`
  const push = await cli(['dataset', 'push', csv, '--table', 'human_out', '--category', 'tabular_classification', '--json'])
  assert.equal(push.code, 0, push.stderr)
  const list = await cli(['dataset', 'list'])
  assert.equal(list.code, 0, list.stderr)
  assert.match(list.stdout, /^.*human_out.*\b8\b.*$/m)
  assert.doesNotMatch(list.stdout, /^\s*[{[]/, 'not JSON')
  const show = await cli(['dataset', 'show', 'human_out'])
  assert.equal(show.code, 0, show.stderr)
  assert.match(show.stdout, /human_out/)
  assert.match(show.stdout, /tabular_classification/)
  // --all adds the bookkeeping tables the plain list hides
  const plain = await cli(['dataset', 'list', '--json'])
  const all = await cli(['dataset', 'list', '--all', '--json'])
  assert.equal(all.code, 0, all.stderr)
  assert.ok(!plain.json.datasets.includes('tracebloc_ingest_runs'), plain.json.datasets.join(', '))
  assert.ok(all.json.datasets.includes('tracebloc_ingest_runs') && all.json.datasets.includes('human_out'), all.json.datasets.join(', '))
  // runs across every namespace finds the run of this push
  const runs = await cli(['dataset', 'runs', '-A', '--json'])
  assert.equal(runs.code, 0, runs.stderr)
  assert.match(JSON.stringify(runs.json), /"human_out"/)
})

test('autocomplete powershell: set-up steps for the PowerShell profile, exit 0', async () => {
  const r = await runCli(['autocomplete', 'powershell'], {env})
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /\$PROFILE/)
  assert.match(r.stdout, /tracebloc autocomplete script powershell/)
  const s = await runCli(['autocomplete', 'script', 'powershell'], {env})
  assert.equal(s.code, 0, s.stderr)
  // the script line dot-sources the generated completion file, inside this test file's own cache
  assert.match(s.stdout, /^\. .*[/\\]tracebloc[/\\]autocomplete[/\\]functions[/\\]powershell[/\\]tracebloc\.ps1/m)
  assert.ok(s.stdout.includes(os.homedir()) || (process.env.XDG_CACHE_HOME !== undefined && s.stdout.includes(process.env.XDG_CACHE_HOME)), s.stdout)
})
