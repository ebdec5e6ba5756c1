// What staging trusts, against the sandbox with the built CLI: a dataset file changed between preflight and
// staging (swapped for a symlink, grown) stops the push naming it; the pod's check fails closed (a stage image
// without sha256sum/md5sum); names read back from client-pvc cannot forge lines (a file name with a newline);
// a forged staging lock cannot make a push delete a pod it does not own.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {appendFileSync, constants as fsc, cpSync, existsSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {open} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {after, afterEach, before, test} from 'node:test'

import {NO_HASH_TOOLS_IMAGE, SILENT_HASH_IMAGE} from '../sandbox/kubelet/rootfs.js'
import {startSandbox} from '../sandbox/index.js'
import {CATS_DOGS, CliRun, runCli} from './push-cli.js'

type Sandbox = Awaited<ReturnType<typeof startSandbox>>
let sb: Sandbox
let n = 0
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tb-staging-trust-'))
const cacheHome = path.join(tmp, 'cache')

before(async () => {
  sb = await startSandbox()
})
after(async () => {
  await sb?.stop()
  rmSync(tmp, {recursive: true, force: true})
})
afterEach(() => {
  sb.faults.clear()
  const left = sb.store.list({group: '', version: 'v1', resource: 'pods'}, {namespace: sb.namespace, labelSelector: 'tracebloc.io/component=stage-pod'}).items
  assert.deepEqual(left.map((p) => p.metadata.name), [], 'stage pods left behind')
})

function dataset(): string {
  const dir = path.join(tmp, `ds-${++n}`)
  cpSync(CATS_DOGS, dir, {recursive: true})
  return dir
}

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
    ['silent_large', {TRACEBLOC_STAGE_STREAM_HASH_MIN: '1', TRACEBLOC_STAGE_RANGE_BYTES: '8192'}],
  ] as const) {
    const dir = dataset()
    const r = await push(dir, table, ['--stage-image', SILENT_HASH_IMAGE, '--parallel', '1'], env)
    assert.equal(r.code, 7, `${table}: ${r.stdout}${r.stderr}`)
    assert.equal(r.json.reason, 'verify_failed', table)
    assert.doesNotMatch(r.stdout + r.stderr, /every file verified/)
    assert.equal(existsSync(path.join(stagingRoot(), table)), false, `${table}: nothing swapped in`)
  }
})
