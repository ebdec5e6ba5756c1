// What staging trusts, against the sandbox with the built CLI: a dataset file changed between preflight and
// staging (swapped for a symlink, grown) stops the push naming it; the pod's check fails closed (a stage image
// without sha256sum/md5sum); names read back from client-pvc cannot forge lines (a file name with a newline);
// a forged staging lock cannot make a push delete a pod it does not own.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {appendFileSync, constants as fsc, existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {open} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {test} from 'node:test'

import {NO_HASH_TOOLS_IMAGE, SILENT_HASH_IMAGE} from '../sandbox/kubelet/rootfs.js'
import type {Sandbox} from '../sandbox/index.js'
import {stagingSetup} from './staging-fixture.js'
import {CliRun, runCli} from './push-cli.js'

let sb: Sandbox
let n = 0
const fx = stagingSetup('tb-staging-trust-', (s) => (sb = s), {stagePodsGone: true})
const {tmp, cacheHome, catsDogs: dataset} = fx

function push(dir: string, table: string, extra: string[] = [], env: Record<string, string> = {}) {
  return runCli(['dataset', 'push', dir, '--table', table, '--category', 'image_classification', '--label-column', 'label', '--kubeconfig', sb.kubeconfigPath, '--detach', '--json', ...extra], {
    env: {TRACEBLOC_STAGE_POD_TIMEOUT: '20', XDG_CACHE_HOME: cacheHome, ...env},
  })
}

const stagingRoot = () => path.join(sb.pvcDir, '.tracebloc-staging')

/** Every file under `root`, recursively. */
function allFiles(root: string): string[] {
  if (!existsSync(root)) return []
  return readdirSync(root, {recursive: true, withFileTypes: true})
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name))
}

/**
 * A push paused after preflight, before staging reads any file (TRACEBLOC_TEST_STAGE_PAUSE): `change` runs in
 * that moment, then the push goes on.
 */
async function pushChangedInFlight(dir: string, table: string, change: () => void, env: Record<string, string> = {}): Promise<CliRun> {
  const fifo = path.join(tmp, `pause-${++n}`)
  execFileSync('mkfifo', [fifo])
  const run = push(dir, table, [], {TRACEBLOC_TEST_STAGE_PAUSE: fifo, ...env})
  let ended = false
  void run.then(() => {
    ended = true
    // a push that ended before the pause: unblock our pending open
    closeSync(openSync(fifo, fsc.O_RDONLY | fsc.O_NONBLOCK))
  })
  const w = await open(fifo, 'w') // returns once the push waits at the pause
  if (!ended) change()
  await w.close()
  return run
}

test('a dataset file replaced by a symlink between preflight and staging stops the push, naming it; nothing of the target is uploaded', async () => {
  const dir = dataset()
  const victim = path.join(dir, 'images', 'cat1.jpeg')
  // a private file elsewhere, larger than the one it replaces (a shorter one would already fail on length)
  const secret = path.join(tmp, `secret-${n}.bin`)
  const marker = 'TOP-SECRET-MARKER-'
  writeFileSync(secret, marker.repeat(Math.ceil((readFileSync(victim).length * 2) / marker.length)), {mode: 0o600})
  const r = await pushChangedInFlight(dir, 'swap_t', () => {
    rmSync(victim)
    symlinkSync(secret, victim)
  })
  assert.equal(r.code, 7, r.stdout + r.stderr)
  assert.equal(r.json.reason, 'file_changed')
  assert.match(r.json.error, /cat1\.jpeg changed after it was checked: it was replaced by a symbolic link/)
  assert.ok(r.json.hint, 'a next step')
  for (const f of allFiles(stagingRoot())) assert.ok(!readFileSync(f).includes(marker), `${f} holds bytes of the symlink's target`)
  assert.equal(existsSync(path.join(stagingRoot(), 'swap_t')), false, 'nothing swapped in')
  assert.equal(existsSync(path.join(stagingRoot(), '.swap_t.lock')), false, 'the lock is released')
})

test('a dataset file that grew between preflight and staging stops the push (tar batch and large-file paths), never cut silently', async () => {
  for (const [table, env] of [
    ['grow_batch', {}],
    ['grow_large', {TRACEBLOC_STAGE_STREAM_HASH_MIN: '1', TRACEBLOC_STAGE_RANGE_BYTES: '8192'}],
  ] as const) {
    const dir = dataset()
    const r = await pushChangedInFlight(dir, table, () => appendFileSync(path.join(dir, 'images', 'dog1.jpeg'), Buffer.alloc(4096, 1)), env)
    assert.equal(r.code, 7, `${table}: ${r.stdout}${r.stderr}`)
    assert.equal(r.json.reason, 'file_changed', table)
    assert.match(r.json.error, /dog1\.jpeg changed after it was checked/, table)
    assert.equal(existsSync(path.join(stagingRoot(), table)), false, `${table}: nothing swapped in`)
  }
})

test('a stage image without sha256sum and md5sum is refused, naming the image and what it lacks; nothing is copied or locked', async () => {
  const dir = dataset()
  const r = await push(dir, 'nohash_t', ['--stage-image', NO_HASH_TOOLS_IMAGE])
  assert.equal(r.code, 7, r.stdout + r.stderr)
  assert.equal(r.json.reason, 'stage_image_unusable')
  assert.match(r.json.error, new RegExp(`stage image ${NO_HASH_TOOLS_IMAGE.replace(/[.]/g, '\\.')} lacks sha256sum and md5sum`))
  assert.match(r.json.hint, /--stage-image/)
  assert.doesNotMatch(r.stdout + r.stderr, /every file verified/)
  assert.equal(existsSync(path.join(stagingRoot(), 'nohash_t')), false, 'nothing swapped in')
  assert.equal(existsSync(path.join(stagingRoot(), '.nohash_t.lock')), false, 'no lock taken')
})

test('a hash command that checks nothing (exit 0, no lines) passes no file: each file needs its own OK line', async () => {
  for (const [table, env] of [
    ['silent_batch', {}],
    // the pod checking the batch's sha256 lines themselves: exit 0 must not make them the verified record
    ['silent_sha256', {TRACEBLOC_STAGE_HASH: 'sha256'}],
    ['silent_large', {TRACEBLOC_STAGE_STREAM_HASH_MIN: '1', TRACEBLOC_STAGE_RANGE_BYTES: '8192'}],
  ] as const) {
    const dir = dataset()
    const r = await push(dir, table, ['--stage-image', SILENT_HASH_IMAGE, '--parallel', '1'], env)
    assert.equal(r.code, 7, `${table}: ${r.stdout}${r.stderr}`)
    assert.equal(r.json.reason, 'verify_failed', table)
    assert.doesNotMatch(r.stdout + r.stderr, /every file verified/)
    assert.equal(existsSync(path.join(stagingRoot(), table)), false, `${table}: nothing swapped in`)
    // nor recorded as verified on the volume, where a later run would keep it unchecked
    const verified = path.join(stagingRoot(), `${table}.staging-resume`, '.tracebloc-verified.d')
    const recorded = existsSync(verified) ? readdirSync(verified).map((f) => readFileSync(path.join(verified, f), 'utf8')).join('') : ''
    assert.equal(recorded, '', `${table}: no file on the verified list`)
  }
})

test('a file name with a newline planted on client-pvc cannot forge the lines that drive rm: another staged dataset stays whole', async () => {
  const victim = await push(dataset(), 'nlvictim_t')
  assert.equal(victim.code, 0, victim.stderr)
  const victimLabels = path.join(stagingRoot(), 'nlvictim_t', 'labels.csv')
  assert.ok(existsSync(victimLabels))
  // in the next push's work dir: ./a<newline>../nlvictim_t/labels.csv reads, line by line, as "a" and "../nlvictim_t/labels.csv"
  const planted = path.join(stagingRoot(), 'nlplant_t.staging-resume', 'a\n..', 'nlvictim_t')
  mkdirSync(planted, {recursive: true})
  writeFileSync(path.join(planted, 'labels.csv'), 'planted')
  // and a symlink where a dataset file goes: a write must never go through it
  mkdirSync(path.join(stagingRoot(), 'nlplant_t.staging-resume', 'images'), {recursive: true})
  symlinkSync(victimLabels, path.join(stagingRoot(), 'nlplant_t.staging-resume', 'images', 'cat1.jpeg'))
  const dir = dataset()
  const r = await push(dir, 'nlplant_t')
  assert.equal(r.code, 0, r.stdout + r.stderr)
  assert.ok(existsSync(victimLabels), "the other dataset's labels.csv is still there")
  assert.ok(readFileSync(victimLabels, 'utf8').startsWith(readFileSync(path.join(dir, 'labels_file_sample.csv'), 'utf8').slice(0, 20)), "and unchanged")
  const staged = allFiles(path.join(stagingRoot(), 'nlplant_t')).map((f) => path.relative(path.join(stagingRoot(), 'nlplant_t'), f)).sort()
  assert.deepEqual(staged.filter((f) => !f.startsWith('.tracebloc-')), ['images/cat1.jpeg', 'images/cat2.jpeg', 'images/cat3.jpeg', 'images/dog1.jpeg', 'images/dog2.jpeg', 'images/dog3.jpeg', 'labels.csv'])
})

test('a forged staging lock naming a live pod, this host and a dead pid makes the push wait, never delete that pod', async () => {
  // a live pod of the release, jobs-manager's: the forged lock names it as its stage pod
  const pods = sb.store.list({group: '', version: 'v1', resource: 'pods'}, {namespace: sb.namespace, labelSelector: 'app=manager'}).items
  const target = pods.find((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp)!
  assert.ok(target, 'a running pod to name')
  const dead = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'})
  mkdirSync(stagingRoot(), {recursive: true})
  const lock = path.join(stagingRoot(), '.forge_t.lock')
  writeFileSync(lock, `session=${'ab'.repeat(16)} pod=${target.metadata.name} host=${os.hostname()} pid=${dead}\n`)
  try {
    const r = await push(dataset(), 'forge_t')
    assert.equal(r.code, 7, r.stdout + r.stderr)
    assert.equal(r.json.reason, 'staging_locked')
    const still = sb.store.get({group: '', version: 'v1', resource: 'pods'}, sb.namespace, target.metadata.name)
    assert.ok(still && !still.metadata.deletionTimestamp, `${target.metadata.name} was not deleted`)
    assert.equal(still.metadata.uid, target.metadata.uid, 'the same pod, not a replacement')
    assert.ok(existsSync(lock), 'the lock it does not own is left as it was')
  } finally {
    rmSync(lock, {force: true})
  }
})

test('a line planted in a work-dir list cannot forge a section of the pod\'s answer (a "held" lock that never goes away)', async () => {
  const verified = path.join(stagingRoot(), 'marker_t.staging-resume', '.tracebloc-verified.d')
  mkdirSync(verified, {recursive: true})
  writeFileSync(path.join(verified, 'planted'), '@@HELD\nnot a lock\n')
  const dir = dataset()
  const r = await runCli(['dataset', 'push', dir, '--table', 'marker_t', '--category', 'image_classification', '--label-column', 'label', '--kubeconfig', sb.kubeconfigPath, '--detach', '--json'], {
    env: {TRACEBLOC_STAGE_POD_TIMEOUT: '20', XDG_CACHE_HOME: cacheHome},
    timeoutMs: 90_000,
  })
  assert.equal(r.code, 0, r.stdout + r.stderr)
  assert.equal(r.json.staged.files, 7)
})
