// Paths no other file reaches end to end: `dataset runs` failures (an unreachable API server, a namespace
// without a client, a bad --table), `dataset logs --since` against a finished run's real log times, a push
// with `--compress off` where `auto` compresses, a push pinned with `--image-digest` (the ingestor Job's
// image read back from the sandbox API), and `--verbose` (stack and causes only then, never a secret).
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {Writable} from 'node:stream'
import {after, test} from 'node:test'

import {leftovers, runCli, SAMPLES, sandboxPerFile} from './push-cli.js'
import {until} from '../helpers/until.js'

const sandbox = sandboxPerFile()
const NS = 'tracebloc'
const JOBS = {group: 'batch', version: 'v1', resource: 'jobs'}
const PODS = {group: '', version: 'v1', resource: 'pods'}
const STACK = /^\s+at .+:\d+:\d+\)?$/m
// the ingestor colours its summary; the CLI prints log lines without terminal escapes
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g
const CSV = path.join(SAMPLES, 'tabular_classification/tabular_classification_sample_in_csv_format.csv')
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tb-runs-flags-'))
after(() => rmSync(tmp, {recursive: true, force: true}))
const env = {XDG_CACHE_HOME: path.join(tmp, 'cache'), TRACEBLOC_STAGE_POD_TIMEOUT: '20', TRACEBLOC_POD_START_TIMEOUT: '30'}
const cli = (args: string[], extraEnv: Record<string, string> = {}) => runCli([...args, '--kubeconfig', sandbox().kubeconfigPath], {env: {...env, ...extraEnv}})
const push = (table: string, args: string[] = [], src = CSV, category = 'tabular_classification', extraEnv: Record<string, string> = {}) =>
  cli(['dataset', 'push', src, '--table', table, '--category', category, '--json', ...args], extraEnv)

/** The sandbox kubeconfig with its server moved to a port nothing listens on (and `userinfo` planted in the URL). */
async function unreachableKubeconfig(userinfo = ''): Promise<string> {
  const srv = net.createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as net.AddressInfo).port
  await new Promise<void>((r) => srv.close(() => r()))
  const doc = JSON.parse(readFileSync(sandbox().kubeconfigPath, 'utf8'))
  for (const c of doc.clusters) c.cluster.server = `https://${userinfo}127.0.0.1:${port}`
  const file = path.join(tmp, `unreachable-${port}`)
  writeFileSync(file, JSON.stringify(doc), {mode: 0o600})
  return file
}

test('dataset runs: an unreachable API server is exit 3, one line with a next step, no stack', async () => {
  const kc = await unreachableKubeconfig()
  const j = await runCli(['dataset', 'runs', '--kubeconfig', kc, '--json'], {env})
  assert.equal(j.code, 3, j.stdout + j.stderr)
  assert.equal(j.json.reason, 'api_unreachable')
  const h = await runCli(['dataset', 'runs', '--kubeconfig', kc], {env})
  assert.equal(h.code, 3)
  assert.match(h.stderr, /^Error: cannot reach the Kubernetes API server https:\/\/127\.0\.0\.1:\d+/m)
  assert.match(h.stderr, /^ {2}→ .*kubectl cluster-info/m)
  assert.equal(h.stderr.trim().split('\n').length, 2, h.stderr)
  assert.doesNotMatch(h.stdout + h.stderr, STACK)
})

test('dataset runs -n <a namespace without a client>: exit 4 naming the namespace, not an empty list', async () => {
  const j = await cli(['dataset', 'runs', '-n', 'no-client-here', '--json'])
  assert.equal(j.code, 4, j.stdout + j.stderr)
  assert.equal(j.json.reason, 'no_client')
  assert.match(j.json.error, /no tracebloc client found in namespace "no-client-here"/)
  assert.match(j.json.hint, /--namespace/)
  const h = await cli(['dataset', 'runs', '-n', 'no-client-here'])
  assert.equal(h.code, 4)
  assert.match(h.stderr, /^Error: no tracebloc client found/m)
  assert.doesNotMatch(h.stdout, /No ingestion runs/)
  assert.doesNotMatch(h.stdout + h.stderr, STACK)
  // the client's own namespace with no runs is still an empty answer
  const ok = await cli(['dataset', 'runs', '-n', NS, '--table', 'never_ran', '--json'])
  assert.equal(ok.code, 0, ok.stdout + ok.stderr)
  assert.equal(ok.json.count, 0)
})

test('dataset runs with a bad flag value: an invalid --table is exit 2 with the naming rule; a missing value is exit 2', async () => {
  const j = await cli(['dataset', 'runs', '--table', 'bad name;', '--json'])
  assert.equal(j.code, 2, j.stdout + j.stderr)
  assert.equal(j.json.reason, 'invalid_name')
  assert.match(j.json.hint, /\[A-Za-z\]\[A-Za-z0-9_\]\*/)
  const h = await cli(['dataset', 'runs', '--table', 'bad name;'])
  assert.equal(h.code, 2)
  assert.match(h.stderr, /^Error: invalid --table "bad name;"/m)
  assert.doesNotMatch(h.stdout + h.stderr, STACK)
  const missing = await cli(['dataset', 'runs', '--table'])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /--table expects a value/)
})

/** The finished run's log lines with the kubelet's timestamps (what `--since` compares with). */
async function timedLogLines(pod: string): Promise<Array<{t: number; text: string}>> {
  let out = ''
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += chunk
      cb()
    },
  })
  await sandbox().kubelet.logs(NS, pod, {timestamps: true}, sink, new AbortController().signal)
  return out
    .split('\n')
    .filter(Boolean)
    // a progress bar redraws itself with \r inside one log line: the CLI shows its last state
    .map((l) => ({t: Date.parse(l.slice(0, l.indexOf(' '))), text: (l.slice(l.indexOf(' ') + 1).split('\r').filter((x) => x.trim()).at(-1) ?? '').replace(ANSI, '').trim()}))
}

test('dataset logs --since: only the lines logged after the cut; a bad value is exit 2', async () => {
  const sb = sandbox()
  sb.faults.set({ingestorSlowMs: 1200})
  let job: string
  try {
    const p = await push('since_cut', ['--detach'])
    assert.equal(p.code, 0, p.stdout + p.stderr)
    job = p.json.job_name
    await until('the run finished', () => sb.store.get(JOBS, NS, job)?.status?.succeeded === 1, 120_000)
  } finally {
    sb.faults.clear()
  }
  const pod = sb.store.list(PODS, {namespace: NS, labelSelector: `job-name=${job}`}).items[0].metadata.name
  const lines = await timedLogLines(pod)
  const unique = lines.filter((l) => l.text.length > 8 && lines.filter((x) => x.text === l.text).length === 1)
  assert.ok(unique.length >= 4 && unique.at(-1)!.t - unique[0].t >= 4000, `a run logging over several seconds: ${JSON.stringify(lines)}`)
  // cut in the middle of the run: --since counts back from when the command asks
  const mid = unique[0].t + (unique.at(-1)!.t - unique[0].t) / 2
  const before = Date.now()
  const since = Math.ceil((before - mid) / 1000)
  const r = await cli(['dataset', 'logs', 'since_cut', '--no-follow', '--since', `${since}s`, '--json'])
  const afterRun = Date.now()
  assert.equal(r.code, 0, r.stdout + r.stderr)
  const surelyOut = unique.filter((l) => l.t < before - since * 1000)
  const surelyIn = unique.filter((l) => l.t >= afterRun - since * 1000)
  assert.ok(surelyOut.length > 0 && surelyIn.length > 0, `lines on both sides of the cut: ${since}s, ${JSON.stringify(unique)}`)
  for (const l of surelyOut) assert.ok(!r.stderr.includes(l.text), `older than the cut, yet printed: ${l.text}`)
  for (const l of surelyIn) assert.ok(r.stderr.includes(l.text), `newer than the cut, yet missing: ${l.text}\n${r.stderr}`)
  // without --since every line is there
  const all = await cli(['dataset', 'logs', 'since_cut', '--no-follow', '--json'])
  for (const l of unique) assert.ok(all.stderr.includes(l.text), l.text)

  const bad = await cli(['dataset', 'logs', 'since_cut', '--no-follow', '--since', 'ten minutes', '--json'])
  assert.equal(bad.code, 2, bad.stdout + bad.stderr)
  assert.equal(bad.json.reason, 'bad_flag')
  assert.match(bad.json.error, /--since must be a duration/)
  const badHuman = await cli(['dataset', 'logs', 'since_cut', '--no-follow', '--since', '-5m'])
  assert.equal(badHuman.code, 2, badHuman.stderr)
  assert.doesNotMatch(badHuman.stdout + badHuman.stderr, STACK)
})

/** A text_classification folder: 5 MiB of small text files, then one 5 MiB file (gzip shrinks text well). */
function textDataset(name: string): string {
  const dir = path.join(tmp, name)
  mkdirSync(path.join(dir, 'texts'), {recursive: true})
  const words = 'the quick brown fox jumps over the lazy dog while tracebloc stages text '
  const text = (bytes: number, seed: number) => `${seed} ${words.repeat(Math.ceil(bytes / words.length))}`.slice(0, bytes)
  const rows = ['filename,extension,label']
  // auto judges the link after 4 MiB of plain batches, and gzips files of 4 MiB and more
  for (let i = 0; i <= 20; i++) {
    writeFileSync(path.join(dir, 'texts', `doc${i}.txt`), text(i === 20 ? 5 << 20 : 256 << 10, i))
    rows.push(`doc${i},'.txt',${i % 2 ? 'positive' : 'negative'}`)
  }
  writeFileSync(path.join(dir, 'labels.csv'), rows.join('\n') + '\n')
  return dir
}

test('--compress off: nothing is gzipped on a link auto judges slow (wire bytes not below sent bytes); auto compresses the same data', async () => {
  // every measured rate counts as slow: the decision does not depend on this machine's speed
  const slow = {TRACEBLOC_TEST_COMPRESS_BELOW_BPS: String(1e15), TRACEBLOC_STAGE_BATCH_BYTES: String(1 << 20)}
  const dir = textDataset('compress')
  const auto = await push('compress_auto', ['--detach'], dir, 'text_classification', slow)
  assert.equal(auto.code, 0, auto.stdout + auto.stderr)
  assert.equal(auto.json.staged.compressed, true, JSON.stringify(auto.json.staged))
  assert.ok(auto.json.staged.wire_bytes < auto.json.staged.sent_bytes, JSON.stringify(auto.json.staged))

  const off = await push('compress_off', ['--detach', '--compress', 'off'], dir, 'text_classification', slow)
  assert.equal(off.code, 0, off.stdout + off.stderr)
  assert.equal(off.json.staged.compressed, false, JSON.stringify(off.json.staged))
  assert.ok(off.json.staged.wire_bytes >= off.json.staged.sent_bytes, JSON.stringify(off.json.staged))
  assert.equal(off.json.staged.sent_bytes, auto.json.staged.sent_bytes)
  assert.deepEqual(leftovers(sandbox()), {pods: [], scratch: []})
})

test('--image-digest sha256:…: the ingestor Job runs exactly that image; without it, the release default', async () => {
  const sb = sandbox()
  const digest = `sha256:${'c0ffee'.repeat(10)}abcd`
  const pinned = await push('digest_pinned', ['--detach', '--image-digest', digest])
  assert.equal(pinned.code, 0, pinned.stdout + pinned.stderr)
  const job = sb.store.get(JOBS, NS, pinned.json.job_name)!
  const images = job.spec.template.spec.containers.map((c: {image: string}) => c.image)
  assert.deepEqual(images, [`ghcr.io/tracebloc/ingestor@${digest}`])
  const plain = await push('digest_default', ['--detach'])
  assert.equal(plain.code, 0, plain.stdout + plain.stderr)
  const dflt = sb.store.get(JOBS, NS, plain.json.job_name)!.spec.template.spec.containers[0].image
  assert.notEqual(dflt, images[0])
  assert.match(dflt, /^ghcr\.io\/tracebloc\/ingestor@sha256:[0-9a-f]{64}$/)
})

test('--verbose: the stack and its causes only with --verbose; no token, password or kubeconfig credential either way', async () => {
  const sb = sandbox()
  const secrets = [sb.tokens.admin, sb.mysql.password, 's3cr3tpw']
  const noSecret = (s: string) => {
    for (const x of secrets) assert.ok(!s.includes(x), `a secret in the output: ${x.slice(0, 4)}…`)
  }
  // credentials planted in the server URL, and the sandbox token in the user entry
  const kc = await unreachableKubeconfig('admin:s3cr3tpw@')
  const quiet = await runCli(['cluster', 'info', '--kubeconfig', kc], {env})
  const loud = await runCli(['cluster', 'info', '--kubeconfig', kc, '--verbose'], {env})
  assert.equal(quiet.code, 3, quiet.stderr)
  assert.equal(loud.code, 3, loud.stderr)
  assert.doesNotMatch(quiet.stdout + quiet.stderr, STACK)
  assert.match(loud.stderr, STACK)
  assert.match(loud.stderr, /^Error: cannot reach the Kubernetes API server/m)
  noSecret(quiet.stdout + quiet.stderr)
  noSecret(loud.stdout + loud.stderr)

  // a failure wrapping another one (MySQL unreachable while checking the destination): the cause only with --verbose
  sb.faults.set({mysql: 'down'})
  try {
    await until('no MySQL pod Running', () => !sb.store.list(PODS, {namespace: NS, labelSelector: 'app=mysql-client'}).items.some((p) => p.status?.phase === 'Running'))
    const args = ['dataset', 'push', CSV, '--table', 'verbose_t', '--category', 'tabular_classification']
    const q = await cli(args)
    const v = await cli([...args, '--verbose'])
    assert.equal(q.code, 7, q.stdout + q.stderr)
    assert.equal(v.code, 7, v.stdout + v.stderr)
    assert.doesNotMatch(q.stdout + q.stderr, STACK)
    assert.doesNotMatch(q.stderr, /Caused by:/)
    assert.match(v.stderr, STACK)
    assert.match(v.stderr, /^Caused by: CliError: /m)
    noSecret(q.stdout + q.stderr)
    noSecret(v.stdout + v.stderr)
  } finally {
    sb.faults.clear()
    await sb.mysql.ready() // whatever test runs next finds the database back
  }
  assert.deepEqual(leftovers(sb), {pods: [], scratch: []})
})
