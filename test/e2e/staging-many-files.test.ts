// Staging at file-count scale: a text_classification dataset of many tiny files pushed through the built CLI
// into the sandbox (real stage pod, busybox tar/sha256sum/find/xargs on the real PVC directory). Ctrl-C during
// the copy keeps the verified batches, the next run sends only the rest, the ingested table counts every
// file, and an unchanged re-push sends nothing.
import assert from 'node:assert/strict'
import {closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import type {Sandbox} from '../sandbox/index.js'
import {stagingSetup} from './staging-fixture.js'
import {runCli} from './push-cli.js'

/**
 * Well past the few thousand files from which the pod's check of the staged files once broke, and small
 * enough for the suite's time budget on a 2-core machine. The same test passes with 100 000
 * (TRACEBLOC_TEST_MANY_FILES=100000: about two minutes, most of it ingestion and the overwrite's removal).
 */
const FILES = Number(process.env.TRACEBLOC_TEST_MANY_FILES) || 10_000

let sb: Sandbox
const fx = stagingSetup('tb-many-files-e2e-', (s) => (sb = s))
const {tmp, cacheHome} = fx

/** `count` distinct 24-byte text files in texts/ and their labels.csv: one write per file, no per-file buffers. */
function tinyTexts(count: number): string {
  const dir = path.join(tmp, 'texts-ds')
  mkdirSync(path.join(dir, 'texts'), {recursive: true})
  const body = Buffer.from('document 0000000 words\n')
  const rows: string[] = ['filename,extension,label']
  for (let i = 0; i < count; i++) {
    const id = String(i).padStart(7, '0')
    body.write(id, 9, 'latin1')
    const fd = openSync(path.join(dir, 'texts', `d${id}.txt`), 'w')
    writeSync(fd, body)
    closeSync(fd)
    rows.push(`d${id},.txt,${i % 2 ? 'positive' : 'negative'}`)
  }
  writeFileSync(path.join(dir, 'labels.csv'), rows.join('\n') + '\n')
  return dir
}

const push = (dir: string, table: string, extra: string[], opts: Parameters<typeof runCli>[1] = {}) =>
  runCli(['dataset', 'push', dir, '--table', table, '--category', 'text_classification', '--kubeconfig', sb.kubeconfigPath, '--detach', ...extra], {
    timeoutMs: 300_000,
    ...opts,
    env: {TRACEBLOC_STAGE_POD_TIMEOUT: '30', XDG_CACHE_HOME: cacheHome, ...opts.env},
  })

const stagingDir = (table: string) => path.join(sb.pvcDir, '.tracebloc-staging', table)

async function ingestionDone(job: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    const j = sb.store.get({group: 'batch', version: 'v1', resource: 'jobs'}, sb.namespace, job)
    if ((j?.status?.conditions ?? []).some((c: {type: string; status: string}) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`ingestion ${job} did not finish`)
}

test(`${FILES} tiny files: Ctrl-C mid-copy then resume, the table counts every file, an unchanged re-push sends nothing`, async () => {
  const dir = tinyTexts(FILES)
  const table = 'many_t'
  const verified = path.join(`${stagingDir(table)}.staging-resume`, '.tracebloc-verified.d')
  // small batches, so several have verified by the time the interrupt lands and several are still to go
  const env = {TRACEBLOC_STAGE_BATCH_FILES: '2500'}

  // Ctrl-C once the pod has verified a batch
  const hasVerifiedBatch = () => existsSync(verified) && readdirSync(verified).some((f) => !f.endsWith('.tmp'))
  const cut = await push(dir, table, ['--json'], {env, interrupt: {signal: 'SIGINT', when: hasVerifiedBatch}})
  assert.equal(cut.code, 130, cut.stdout + cut.stderr)
  assert.ok(hasVerifiedBatch(), 'the verified batches are kept for the next run')

  const resumed = await push(dir, table, ['--json'], {env})
  assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout)
  const s = resumed.json.staged
  assert.equal(s.files, FILES + 1)
  assert.ok(s.skipped_files >= 2500, `verified files are not sent again (skipped ${s.skipped_files})`)
  assert.equal(s.sent_files + s.skipped_files, FILES + 1)
  assert.equal(readdirSync(path.join(stagingDir(table), 'texts')).length, FILES)
  assert.equal(existsSync(`${stagingDir(table)}.staging-resume`), false)

  // the ingested table holds one record per file
  await ingestionDone(resumed.json.job_name)
  const show = await runCli(['dataset', 'show', table, '--kubeconfig', sb.kubeconfigPath, '--json'], {env: {XDG_CACHE_HOME: cacheHome}})
  assert.equal(show.code, 0, show.stderr)
  assert.equal(show.json.records, FILES)

  const again = await push(dir, table, ['--json', '--overwrite'])
  assert.equal(again.code, 0, again.stderr + again.stdout)
  assert.equal(again.json.staged.sent_bytes, 0)
  assert.equal(again.json.staged.skipped_files, FILES + 1)
  assert.equal(again.json.staged.swapped, false)
})

test('a batch whose result lines run past 1 MiB (long names, many files per batch) verifies every file', async () => {
  // 4 500 names of ~250 bytes in one batch: ~1.1 MiB of `<name>: OK` lines from the pod
  const dir = path.join(tmp, 'long-names-ds')
  mkdirSync(path.join(dir, 'texts'), {recursive: true})
  const rows: string[] = ['filename,extension,label']
  for (let i = 0; i < 4500; i++) {
    const id = `d${String(i).padStart(7, '0')}`.padEnd(240, 'x')
    writeFileSync(path.join(dir, 'texts', `${id}.txt`), `document ${i}\n`)
    rows.push(`${id},.txt,${i % 2 ? 'positive' : 'negative'}`)
  }
  writeFileSync(path.join(dir, 'labels.csv'), rows.join('\n') + '\n')
  const r = await push(dir, 'long_names_t', ['--json'], {env: {TRACEBLOC_STAGE_BATCH_FILES: '5000'}})
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.equal(r.json.staged.files, 4501)
  assert.equal(r.json.staged.resent_files, 0)
  assert.equal(readdirSync(path.join(stagingDir('long_names_t'), 'texts')).length, 4500)
})
