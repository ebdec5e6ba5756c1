// Staging at scale, small data: incremental re-push, resume after cut streams and after a SIGKILLed CLI,
// a damaged file on the PVC found and re-sent, exec v4-only servers, and the per-table lock. The built
// CLI against the sandbox (real pods, busybox tar/sha256sum on the real PVC directory). Pushes use
// --detach so the staged copy stays on the PVC for the next push to compare against.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {BUSYBOX, busyboxFor} from '../sandbox/kubelet/rootfs.js'
import type {Sandbox} from '../sandbox/index.js'
import {stagingSetup} from './staging-fixture.js'
import {runCli} from './push-cli.js'

let sb: Sandbox
let n = 0
const fx = stagingSetup('tb-staging-e2e-', (s) => (sb = s), {stagePodsGone: true})
const {tmp, cacheHome, catsDogs: dataset} = fx

function push(dir: string, table: string, extra: string[] = [], env: Record<string, string> = {}, opts: Parameters<typeof runCli>[1] = {}) {
  return runCli(['dataset', 'push', dir, '--table', table, '--category', 'image_classification', '--label-column', 'label', '--kubeconfig', sb.kubeconfigPath, '--detach', ...extra], {
    ...opts,
    env: {TRACEBLOC_STAGE_POD_TIMEOUT: '20', XDG_CACHE_HOME: cacheHome, ...env, ...opts.env},
  })
}

const stagingDir = (table: string) => path.join(sb.pvcDir, '.tracebloc-staging', table)

/** Wait for a detached ingestion to end: a re-push of the table then replaces it (--overwrite) without meeting its lock. */
async function ingestionDone(job: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const j = sb.store.get({group: 'batch', version: 'v1', resource: 'jobs'}, sb.namespace, job)
    if ((j?.status?.conditions ?? []).some((c: {type: string; status: string}) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`ingestion ${job} did not finish`)
}
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex')

/** The staged copy holds exactly the local files, byte for byte (plus the hidden manifest). */
function assertStagedEquals(dir: string, table: string) {
  const staged = stagingDir(table)
  const list = (root: string) =>
    readdirSync(root, {recursive: true, withFileTypes: true})
      .filter((d) => d.isFile() && !d.name.startsWith('.tracebloc-'))
      .map((d) => path.relative(root, path.join(d.parentPath, d.name)))
      .sort()
  const remote = list(staged)
  // the CSV is staged as labels.csv
  const local = list(dir).map((f) => (f.endsWith('.csv') ? 'labels.csv' : f)).sort()
  assert.deepEqual(remote, local)
  for (const f of remote) {
    const lp = f === 'labels.csv' ? path.join(dir, readdirSync(dir).find((x) => x.endsWith('.csv'))!) : path.join(dir, f)
    assert.equal(sha(path.join(staged, f)), sha(lp), `${f} differs`)
  }
  const manifest = readFileSync(path.join(staged, '.tracebloc-manifest'), 'utf8')
  assert.equal(manifest.trim().split('\n').length, remote.length)
}

function editLabels(dir: string) {
  const csv = path.join(dir, readdirSync(dir).find((x) => x.endsWith('.csv'))!)
  const text = readFileSync(csv, 'utf8')
  // swap one label: still a valid dataset, different bytes
  const lines = text.split('\n')
  const i = lines.findIndex((l, k) => k > 0 && /\bcat\b/.test(l))
  lines[i] = lines[i].replace(/\bcat\b/, 'dog')
  writeFileSync(csv, lines.join('\n'))
}

test('incremental: unchanged re-push sends nothing and skips the swap; a labels.csv fix sends 1 file', async () => {
  const dir = dataset()
  const first = await push(dir, 'inc_t', ['--json'])
  assert.equal(first.code, 0, first.stderr)
  assert.equal(first.json.staged.sent_files, 7)
  assert.equal(first.json.staged.skipped_files, 0)
  assertStagedEquals(dir, 'inc_t')

  // the table exists now: a re-push replaces it, and the staged copy it keeps spares the upload
  await ingestionDone(first.json.job_name)
  const same = await push(dir, 'inc_t', ['--json', '--overwrite'])
  assert.equal(same.code, 0, same.stderr)
  assert.equal(same.json.staged.sent_bytes, 0)
  assert.equal(same.json.staged.skipped_files, 7)
  assert.equal(same.json.staged.swapped, false)

  editLabels(dir)
  await ingestionDone(same.json.job_name)
  const fixed = await push(dir, 'inc_t', ['--json', '--overwrite'])
  assert.equal(fixed.code, 0, fixed.stderr)
  assert.equal(fixed.json.staged.sent_files, 1)
  assert.equal(fixed.json.staged.skipped_files, 6)
  assert.equal(fixed.json.staged.swapped, true)
  assertStagedEquals(dir, 'inc_t')
  // the swap leaves no work dir behind
  assert.equal(existsSync(`${stagingDir('inc_t')}.staging-resume`), false)
})

test('resume after cut streams: a failed run keeps its verified files, the next run sends only the rest', async () => {
  const dir = dataset()
  // one file per stream; every stream is cut after 20 kB: labels.csv (8 kB) gets through, each image is cut until the run gives up
  const env = {TRACEBLOC_STAGE_BATCH_FILES: '1'}
  sb.faults.set({cutExecAfterBytes: {bytes: 20_000, times: 100}})
  const failed = await push(dir, 'cut_t', ['--json', '--parallel', '1'], env)
  sb.faults.clear()
  assert.equal(failed.code, 7, failed.stderr)
  assert.equal(failed.json.reason, 'stream_cut')
  assert.ok(existsSync(`${stagingDir('cut_t')}.staging-resume`), 'the resumable work dir is kept')
  const again = await push(dir, 'cut_t', ['--json'], env)
  assert.equal(again.code, 0, again.stderr)
  assert.equal(again.json.staged.skipped_files, 1, 'labels.csv was verified by the failed run')
  assert.equal(again.json.staged.sent_files, 6)
  assertStagedEquals(dir, 'cut_t')
})

test('resume after the CLI is SIGKILLed mid-copy: the next run takes over the lock and continues', async () => {
  const dir = dataset()
  const env = {TRACEBLOC_STAGE_BATCH_FILES: '1'}
  sb.faults.set({execBytesPerSecond: 30_000})
  const killed = await push(dir, 'kill_t', ['--parallel', '1'], env, {interrupt: {signal: 'SIGKILL', when: (o) => /\b[2-5] (of 7 files )?verified/.test(o)}})
  sb.faults.clear()
  assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr)
  assert.ok(existsSync(path.join(sb.pvcDir, '.tracebloc-staging', '.kill_t.lock')), 'the killed run still holds the lock')
  const again = await push(dir, 'kill_t', ['--json'], env)
  assert.equal(again.code, 0, again.stderr)
  assert.ok(again.json.staged.skipped_files >= 2, `verified files are not sent again (skipped ${again.json.staged.skipped_files})`)
  assert.equal(again.json.staged.sent_files + again.json.staged.skipped_files, 7)
  assertStagedEquals(dir, 'kill_t')
  assert.equal(existsSync(path.join(sb.pvcDir, '.tracebloc-staging', '.kill_t.lock')), false)
})

test('a damaged staged file is found before the swap and sent again', async () => {
  const dir = dataset()
  const first = await push(dir, 'dmg_t', ['--json'])
  assert.equal(first.code, 0, first.stderr)
  truncateSync(path.join(stagingDir('dmg_t'), 'images', 'cat2.jpeg'), 100)
  editLabels(dir)
  await ingestionDone(first.json.job_name)
  const again = await push(dir, 'dmg_t', ['--json', '--overwrite'])
  assert.equal(again.code, 0, again.stderr)
  assert.equal(again.json.staged.resent_files, 1)
  assertStagedEquals(dir, 'dmg_t')
})

test('exec v4-only API server: length-framed batches, no compression, staged copy correct', async () => {
  const dir = dataset()
  sb.faults.set({execV4Only: true})
  const r = await push(dir, 'v4_t', ['--json', '--compress', 'on'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.json.staged.compressed, false)
  assertStagedEquals(dir, 'v4_t')
})

test('large files without tar (one file per stream, hashed in the pod after writing): v5 and v4, cut + resume, re-push unchanged', async () => {
  const dir = dataset()
  // every file alone in its batch and over the threshold: the no-tar path for all of them, in 16 KiB ranges,
  // two consecutive ranges per exec (length-framed one after the other): labels.csv (8 KiB) is one range,
  // each image two
  const env = {TRACEBLOC_STAGE_BATCH_FILES: '1', TRACEBLOC_STAGE_STREAM_HASH_MIN: '1', TRACEBLOC_STAGE_RANGE_BYTES: '16384', TRACEBLOC_STAGE_RANGE_GROUP: '2'}
  // a few cuts inside ranges: only the cut ranges are sent again
  sb.faults.set({cutExecAfterBytes: {bytes: 10_000, times: 3}})
  const cut = await push(dir, 'rng_t', ['--json', '--parallel', '1'], env)
  sb.faults.clear()
  assert.equal(cut.code, 0, cut.stderr)
  // (a stream shorter than the cut point uses up one of the three without being cut)
  const retries = cut.json.staged.retries as number
  assert.ok(retries >= 1 && retries <= 3, `retries ${retries}`)
  const total = cut.json.staged.bytes as number
  // a cut re-sends what its exec had sent: at most its group of two ranges
  assert.ok(cut.json.staged.sent_bytes <= total + retries * 2 * 16384, `re-sent only the cut ranges: ${cut.json.staged.sent_bytes} of ${total}`)
  assertStagedEquals(dir, 'rng_t')
  // every image range cut, every time: the run fails, labels.csv (under the cut) stays verified for the next
  sb.faults.set({cutExecAfterBytes: {bytes: 10_000, times: 100}})
  const failed = await push(dir, 'tee_t', ['--json', '--parallel', '1'], env)
  sb.faults.clear()
  assert.equal(failed.code, 7, failed.stderr)
  assert.ok(existsSync(`${stagingDir('tee_t')}.staging-resume`), 'the resumable work dir is kept')
  const again = await push(dir, 'tee_t', ['--json'], env)
  assert.equal(again.code, 0, again.stderr)
  assert.equal(again.json.staged.skipped_files, 1, 'labels.csv was verified (checked in the pod) by the failed run')
  assert.equal(again.json.staged.sent_files, 6)
  assertStagedEquals(dir, 'tee_t')
  await ingestionDone(again.json.job_name)
  const same = await push(dir, 'tee_t', ['--json', '--overwrite'], env)
  assert.equal(same.code, 0, same.stderr)
  assert.equal(same.json.staged.sent_bytes, 0)
  assert.equal(same.json.staged.swapped, false)
  // v4: the same path, length-framed with dd count_bytes; a changed labels.csv is the one file sent
  editLabels(dir)
  sb.faults.set({execV4Only: true})
  await ingestionDone(same.json.job_name)
  const v4 = await push(dir, 'tee_t', ['--json', '--overwrite'], env)
  assert.equal(v4.code, 0, v4.stderr)
  assert.equal(v4.json.staged.sent_files, 1)
  assertStagedEquals(dir, 'tee_t')
})

test('a large file cut short by a killed CLI resumes inside the file: recorded ranges whose local bytes still match are not sent again', async () => {
  const dir = dataset()
  // one large file (JPEG + 200 KiB of trailing bytes the header check ignores), in 16 KiB ranges; the rest in tar batches
  const big = path.join(dir, 'images', 'cat1.jpeg')
  writeFileSync(big, Buffer.concat([readFileSync(big), Buffer.alloc(200 << 10, 7)]))
  const env = {TRACEBLOC_STAGE_STREAM_HASH_MIN: '100000', TRACEBLOC_STAGE_RANGE_BYTES: '16384'}
  const records = () => {
    try {
      return readdirSync(path.join(`${stagingDir('part_t')}.staging-resume`, '.tb-ranges')).filter((f) => !f.endsWith('.tmp')).length
    } catch {
      return 0
    }
  }
  // one shared uplink: ranges land one after another, whatever the client has queued
  sb.faults.set({uplinkBytesPerSecond: 60_000})
  const killed = await push(dir, 'part_t', ['--parallel', '1'], env, {interrupt: {signal: 'SIGKILL', when: () => records() >= 5}})
  sb.faults.clear()
  assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr)
  const recorded = records()
  assert.ok(recorded >= 5 && recorded < 15, `killed inside the file (${recorded} of 15 ranges recorded)`)
  // the first range changes locally (same size): its record must not be trusted, the others still match
  const b = readFileSync(big)
  b[100] ^= 0xff
  writeFileSync(big, b)
  const again = await push(dir, 'part_t', ['--json'], env)
  assert.equal(again.code, 0, again.stderr)
  assert.ok(again.json.staged.resumed_bytes >= (recorded - 1) * 16384, `resumed ${again.json.staged.resumed_bytes} bytes of ${recorded} recorded ranges`)
  assertStagedEquals(dir, 'part_t')
})

// The stage pod checks with sha256 where its sha256sum is fast (alpine 3.20's busybox: the sandbox gives it
// trixie's 1.37 when present) and md5 where it is not (busybox 1.35); each pod is asked. Both paths run here.
const OLD_BUSYBOX_IMAGE = 'busybox:1.35'
const alpineCheck = busyboxFor('alpine:3.20') === BUSYBOX ? 'md5' : 'sha256'

test('a byte damaged in transit is caught by the pod and only that file is sent again (tar batch and large-file paths, sha256 and md5 pods)', async () => {
  for (const [table, env, image, check] of [
    ['dmg_batch', {}, undefined, alpineCheck],
    ['dmg_large', {TRACEBLOC_STAGE_BATCH_FILES: '1', TRACEBLOC_STAGE_STREAM_HASH_MIN: '1', TRACEBLOC_STAGE_RANGE_BYTES: '8192', TRACEBLOC_STAGE_RANGE_GROUP: '3'}, undefined, alpineCheck],
    ['dmg_batch_md5', {}, OLD_BUSYBOX_IMAGE, 'md5'],
    ['dmg_large_md5', {TRACEBLOC_STAGE_BATCH_FILES: '1', TRACEBLOC_STAGE_STREAM_HASH_MIN: '1', TRACEBLOC_STAGE_RANGE_BYTES: '8192'}, OLD_BUSYBOX_IMAGE, 'md5'],
  ] as const) {
    const dir = dataset()
    // 2000 bytes in: inside the first file's data on both paths (after the 512-byte tar header on one)
    sb.faults.set({corruptExecStdinAt: {bytes: 2000, times: 1}})
    const r = await push(dir, table, ['--json', '--parallel', '1', ...(image ? ['--stage-image', image] : [])], env)
    const left = sb.faults.get().corruptExecStdinAt?.times
    sb.faults.clear()
    assert.equal(r.code, 0, r.stderr)
    assert.equal(left, 0, 'the damage was injected')
    assert.equal(r.json.staged.verified_with, check, `${table}: the pod's check`)
    assert.equal(r.json.staged.resent_files, 1, `${table}: the damaged file was re-sent`)
    assertStagedEquals(dir, table)
  }
})

test('a second push of the same table while one is staging fails clearly (lock), the first completes', async () => {
  const dir = dataset()
  // slow enough that the second run, which first checks the table in MySQL, still finds the first one staging
  sb.faults.set({execBytesPerSecond: 15_000})
  const firstP = push(dir, 'lock_t', ['--json'])
  // wait until the first run holds the lock
  const lock = path.join(sb.pvcDir, '.tracebloc-staging', '.lock_t.lock')
  for (let i = 0; i < 200 && !existsSync(lock); i++) await new Promise((r) => setTimeout(r, 100))
  const second = await push(dir, 'lock_t', ['--json'])
  const first = await firstP
  sb.faults.clear()
  assert.equal(second.code, 7, second.stderr)
  assert.equal(second.json.reason, 'staging_locked')
  assert.match(second.json.hint, /kubectl delete pod/)
  assert.equal(first.code, 0, first.stderr)
  assertStagedEquals(dir, 'lock_t')
})

/** text_classification data: `files` small text files of ~`kib` KiB, one large one, plus the labels CSV. */
function textDataset(files: number, kib: number, bigMiB: number): string {
  const dir = path.join(tmp, `txt-${++n}`)
  const words = 'the quick brown fox jumps over the lazy dog while tracebloc stages text '
  const text = (bytes: number, seed: number) => `${seed} ${words.repeat(Math.ceil(bytes / words.length))}`.slice(0, bytes)
  mkdirSync(path.join(dir, 'texts'), {recursive: true})
  const rows = ['filename,extension,label']
  for (let i = 0; i <= files; i++) {
    writeFileSync(path.join(dir, 'texts', `doc${i}.txt`), text(i === files ? bigMiB << 20 : kib << 10, i))
    rows.push(`doc${i},'.txt',${i % 2 ? 'positive' : 'negative'}`)
  }
  writeFileSync(path.join(dir, 'labels.csv'), rows.join('\n') + '\n')
  return dir
}

test('--compress on: many small text files travel gzipped inside tar batches (gzip -d | tar -x), staged byte-identical', async () => {
  // 40 × 64 KiB in 512 KiB batches: five or more multi-file gzipped tar streams
  const dir = textDataset(40, 64, 0)
  const r = await runCli(['dataset', 'push', dir, '--table', 'txt_small_gz', '--category', 'text_classification', '--kubeconfig', sb.kubeconfigPath, '--detach', '--json', '--compress', 'on'], {
    env: {TRACEBLOC_STAGE_POD_TIMEOUT: '20', XDG_CACHE_HOME: cacheHome, TRACEBLOC_STAGE_BATCH_BYTES: String(512 << 10)},
  })
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.equal(r.json.staged.compressed, true)
  assert.ok(r.json.staged.wire_bytes < r.json.staged.sent_bytes / 3, JSON.stringify(r.json.staged))
  assertStagedEquals(dir, 'txt_small_gz')
})

// The judgement compares the measured per-stream rate with a threshold: a link throttled to 1.5 MiB/s never
// measures above the default 10 MiB/s; for the fast link the threshold is pinned to 1 byte/s, so the
// outcome never depends on how fast this machine happens to be.
for (const [link, faults, expectCompressed, below] of [
  ['a slow link (1.5 MiB/s)', {execBytesPerSecond: 1.5 * 1024 * 1024}, true, undefined],
  ['a fast link', {}, false, '1'],
] as const) {
  test(`--compress auto on ${link}: the large text file is gzipped only when the plain batches before it measured a slow link`, async () => {
    sb.faults.set(faults)
    // 24 × 512 KiB in 2 MiB plain batches measure the link; then the 9 MiB file streams alone
    const dir = textDataset(24, 512, 9)
    const r = await runCli(['dataset', 'push', dir, '--table', `txt_auto_${++n}`, '--category', 'text_classification', '--kubeconfig', sb.kubeconfigPath, '--detach', '--json'], {
      env: {TRACEBLOC_STAGE_POD_TIMEOUT: '20', XDG_CACHE_HOME: cacheHome, TRACEBLOC_STAGE_BATCH_BYTES: String(2 << 20), ...(below ? {TRACEBLOC_TEST_COMPRESS_BELOW_BPS: below} : {})},
      timeoutMs: 120_000,
    })
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(r.json.staged.compressed, expectCompressed, JSON.stringify(r.json.staged))
    // gzip must shrink the 9 MiB text file on the wire (the plain small files ride as they are)
    if (expectCompressed) assert.ok(r.json.staged.sent_bytes - r.json.staged.wire_bytes > 5 << 20, JSON.stringify(r.json.staged))
  })
}

test('a large file over several streams at once: cut and damaged ranges are sent again, its sha256 is the file-order one (sha256 and md5 pods)', async () => {
  // every file in 16 KiB ranges; one image padded to ~40 ranges so that four stream at once
  const env = {TRACEBLOC_STAGE_BATCH_FILES: '1', TRACEBLOC_STAGE_STREAM_HASH_MIN: '1', TRACEBLOC_STAGE_RANGE_BYTES: '16384'}
  // sha256 pod: the file's sha256 is read back in the pod from confirmed ranges; md5 pod: hashed in file
  // order on the client while its ranges stream out of order
  for (const [table, faults, image, check] of [
    ['par_cut', {cutExecAfterBytes: {bytes: 10_000, times: 3}}, undefined, alpineCheck],
    ['par_dmg', {corruptExecStdinAt: {bytes: 2000, times: 1}}, undefined, alpineCheck],
    ['par_cut_md5', {cutExecAfterBytes: {bytes: 10_000, times: 3}}, OLD_BUSYBOX_IMAGE, 'md5'],
  ] as const) {
    const dir = dataset()
    const big = path.join(dir, 'images', 'cat1.jpeg')
    writeFileSync(big, Buffer.concat([readFileSync(big), Buffer.alloc(600 << 10, 7)]))
    sb.faults.set(faults)
    const r = await push(dir, table, ['--json', '--parallel', '4', ...(image ? ['--stage-image', image] : [])], env)
    sb.faults.clear()
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.staged.parallel, 4)
    assert.equal(r.json.staged.verified_with, check)
    if (table !== 'par_dmg') assert.ok(r.json.staged.retries >= 1, `retries ${r.json.staged.retries}`)
    else assert.equal(r.json.staged.resent_files, 1)
    assertStagedEquals(dir, table)
    const manifest = readFileSync(path.join(stagingDir(table), '.tracebloc-manifest'), 'utf8')
    assert.match(manifest, new RegExp(`^${sha(big)} +images/cat1\\.jpeg$`, 'm'))
  }
})
