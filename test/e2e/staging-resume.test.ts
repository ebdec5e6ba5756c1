// Resume and progress on a slow link, through the built CLI against the sandbox (real stage pod, busybox tar
// and sha256sum on the real PVC directory, the sandbox's shared uplink throttled). A Ctrl-C part way keeps
// every file that landed whole (verified then, or checked by hash on the re-run), so the re-run sends only
// what had not arrived; the progress a push shows never counts more than is on client-pvc, says "measuring"
// before it has a rate, and names the verifying phase.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import type {Sandbox} from '../sandbox/index.js'
import {stagingSetup} from './staging-fixture.js'
import {runCli} from './push-cli.js'

let sb: Sandbox
const fx = stagingSetup('tb-staging-resume-e2e-', (s) => (sb = s))
const {tmp, cacheHome} = fx

const FILES = 400
const FILE_BYTES = 16 << 10

/** text_classification data: FILES distinct text files of FILE_BYTES each and their labels.csv. */
function texts(name: string): string {
  const dir = path.join(tmp, name)
  mkdirSync(path.join(dir, 'texts'), {recursive: true})
  const rows = ['filename,extension,label']
  for (let i = 0; i < FILES; i++) {
    writeFileSync(path.join(dir, 'texts', `d${i}.txt`), `${i} ${'words of a document '.repeat(FILE_BYTES / 20)}`.slice(0, FILE_BYTES))
    rows.push(`d${i},.txt,${i % 2 ? 'positive' : 'negative'}`)
  }
  writeFileSync(path.join(dir, 'labels.csv'), rows.join('\n') + '\n')
  return dir
}

const push = (dir: string, table: string, extra: string[], opts: Parameters<typeof runCli>[1] = {}) =>
  runCli(['dataset', 'push', dir, '--table', table, '--category', 'text_classification', '--kubeconfig', sb.kubeconfigPath, '--detach', '--parallel', '2', ...extra], {
    timeoutMs: 240_000,
    ...opts,
    // 1 MiB batches: 64 files each, several batches in the push
    env: {TRACEBLOC_STAGE_POD_TIMEOUT: '30', XDG_CACHE_HOME: cacheHome, TRACEBLOC_STAGE_BATCH_BYTES: String(1 << 20), ...opts.env},
  })

const stagingDir = (table: string) => path.join(sb.pvcDir, '.tracebloc-staging', table)
const workDir = (table: string) => `${stagingDir(table)}.staging-resume`

/** Dataset files in a directory on the PVC that have their full size. */
function wholeFiles(dir: string): number {
  try {
    return readdirSync(path.join(dir, 'texts')).filter((f) => statSync(path.join(dir, 'texts', f)).size === FILE_BYTES).length
  } catch {
    return 0
  }
}

/**
 * Bytes of dataset files the pod has verified on the PVC (named on the work dir's verified list, or all of
 * the staged copy once it is swapped in): the most the pod can have acknowledged.
 */
function verifiedOnPvc(table: string): number {
  const sizeIn = (root: string, name: string) => {
    try {
      return statSync(path.join(root, name)).size
    } catch {
      return 0
    }
  }
  const staged = stagingDir(table)
  const names = new Set<string>()
  let root = workDir(table)
  try {
    for (const line of readFileSync(path.join(staged, '.tracebloc-manifest'), 'utf8').split('\n')) if (line) names.add(line.slice(66))
    root = staged
  } catch {
    try {
      const lists = path.join(root, '.tracebloc-verified.d')
      for (const f of readdirSync(lists)) for (const line of readFileSync(path.join(lists, f), 'utf8').split('\n')) if (line) names.add(line.slice(66))
    } catch {
      // nothing verified yet
    }
  }
  let n = 0
  for (const name of names) n += sizeIn(root, name)
  return n
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex')

test('Ctrl-C part way on a slow link: the re-run keeps every file that landed whole (checked by hash) and sends only the rest', async () => {
  const dir = texts('resume-ds')
  const table = 'resume_t'
  sb.faults.set({uplinkBytesPerSecond: 400_000})
  // Ctrl-C once a good share has landed, whatever the pod has verified by then
  const cut = await push(dir, table, ['--json'], {interrupt: {signal: 'SIGINT', when: () => wholeFiles(workDir(table)) >= 130}})
  sb.faults.clear()
  assert.equal(cut.code, 130, cut.stdout + cut.stderr)
  const landed = wholeFiles(workDir(table))
  assert.ok(landed >= 130 && landed < FILES, `interrupted part way (${landed} of ${FILES} landed)`)
  // the interruption states the figure, not a promise
  assert.match(cut.json.error, /\d+ of \d+ files \([\d.]+ \w+\) are on client-pvc and verified/, cut.json.error)

  const again = await push(dir, table, ['--json'])
  assert.equal(again.code, 0, again.stderr + again.stdout)
  const s = again.json.staged
  assert.equal(s.files, FILES + 1)
  // only files not whole on the PVC at the cut travel again (at most one partly written file per stream)
  assert.ok(s.sent_files <= FILES + 1 - landed + 2, `re-sent ${s.sent_files} files; ${landed} of ${FILES + 1} had landed whole`)
  assert.ok(s.kept_files >= landed, `kept ${s.kept_files} of the ${landed} files that had landed`)
  assert.equal(s.sent_files + s.skipped_files, FILES + 1)
  assert.ok(
    again.json.warnings.some((w: string) => new RegExp(`^kept ${s.kept_files} files \\([\\d.]+ \\w+\\) already on client-pvc`).test(w)),
    `says what it kept: ${JSON.stringify(again.json.warnings)}`,
  )
  // what the user reads at the cut and on the re-run
  console.log(`cut: ${cut.json.error}\nre-run: ${again.json.warnings.join(' | ')}; landed ${landed}, kept ${s.kept_files}, sent ${s.sent_files}`)
  // and what was kept is the data, byte for byte
  const staged = stagingDir(table)
  assert.equal(readdirSync(path.join(staged, 'texts')).length, FILES)
  for (const f of readdirSync(path.join(dir, 'texts'))) assert.equal(sha(path.join(staged, 'texts', f)), sha(path.join(dir, 'texts', f)), f)
})

test('progress on a slow link counts only what the pod verified on client-pvc, says "measuring" before it has a rate, and names the verifying phase', async () => {
  const dir = texts('progress-ds')
  const table = 'progress_t'
  sb.faults.set({uplinkBytesPerSecond: 400_000})
  const UNIT: Record<string, number> = {B: 1, KiB: 1 << 10, MiB: 1 << 20, GiB: 1 << 30}
  const over: string[] = []
  const seen = new Set<string>()
  // each progress line, as it appears: its byte figure against what the pod had verified right then
  const watch = (out: string) => {
    for (const line of out.split('\n')) {
      if (seen.has(line)) continue
      seen.add(line)
      const m = /([\d.]+) (B|KiB|MiB|GiB) \/ ([\d.]+) (B|KiB|MiB|GiB)( acknowledged)? · /.exec(line)
      if (!m) continue
      const shown = Number(m[1]) * UNIT[m[2]]
      // humanBytes rounds to one decimal: allow half a unit
      const onPvc = verifiedOnPvc(table)
      if (shown - 0.05 * UNIT[m[2]] > onPvc) over.push(`${line.trim()} (verified on client-pvc: ${onPvc} B)`)
    }
    return false
  }
  const r = await push(dir, table, [], {interrupt: {signal: 'SIGINT', when: watch}})
  sb.faults.clear()
  assert.equal(r.code, 0, r.stderr + r.stdout)
  const out = r.stdout + r.stderr
  const lines = out.split('\n').filter((l) => / · \d+\/\d+ files sent/.test(l))
  assert.ok(lines.length >= 2, `progress lines shown:\n${out}`)
  assert.deepEqual(over, [], 'a progress line counted bytes the pod had not acknowledged')
  assert.match(lines[0], /measuring/, 'no ETA before the rate is measured')
  assert.match(out, /verifying in the pod: \d+ of \d+ files verified/)
  // acknowledged bytes never go back
  const shown = lines.map((l) => /([\d.]+) (B|KiB|MiB|GiB) \//.exec(l)!).map((m) => Number(m[1]) * UNIT[m[2]])
  for (let i = 1; i < shown.length; i++) assert.ok(shown[i] >= shown[i - 1], `progress went back: ${lines[i - 1]} → ${lines[i]}`)
})
