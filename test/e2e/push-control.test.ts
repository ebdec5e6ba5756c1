// Push control: --sample (label-stratified, seeded, sidecars follow their rows) checked against the rows the
// ingestor really wrote, and --dry-run's per-file plan checked against what a real push then sends (the
// staged files whose inode changed), plus the dry run without any cluster. The built CLI against the sandbox.
import assert from 'node:assert/strict'
import {copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {CATS_DOGS, runCli, sandboxPerFile, SAMPLES} from './push-cli.js'

const sandbox = sandboxPerFile()
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tb-push-control-'))
const env = {TRACEBLOC_STAGE_POD_TIMEOUT: '20', TRACEBLOC_POD_START_TIMEOUT: '20', XDG_CACHE_HOME: path.join(tmp, 'cache')}
after(() => rmSync(tmp, {recursive: true, force: true}))

/** 70 images in three classes of unequal size (40 cat, 25 dog, 5 fox), one image per row. */
const COUNTS: Record<string, number> = {cat: 40, dog: 25, fox: 5}
function threeClasses(): string {
  const dir = path.join(tmp, 'three')
  mkdirSync(path.join(dir, 'images'), {recursive: true})
  const src = path.join(CATS_DOGS, 'images', 'cat1.jpeg')
  const rows = ['filename,label']
  let i = 0
  for (const [label, n] of Object.entries(COUNTS)) {
    for (let k = 0; k < n; k++) {
      const name = `img_${String(i++).padStart(3, '0')}.jpeg`
      copyFileSync(src, path.join(dir, 'images', name))
      rows.push(`${name},${label}`)
    }
  }
  writeFileSync(path.join(dir, 'labels.csv'), rows.join('\n') + '\n')
  return dir
}

function push(dir: string, table: string, extra: string[]) {
  return runCli(['dataset', 'push', dir, '--table', table, '--category', 'image_classification', '--label-column', 'label', '--kubeconfig', sandbox().kubeconfigPath, '--json', ...extra], {env})
}

test('--sample keeps every label within one record of its share, the same rows for a seed, only their images', async () => {
  const dir = threeClasses()
  const r = await push(dir, 'three_sample', ['--sample', '20', '--seed', '5'])
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.equal(r.json.status, 'succeeded')
  assert.equal(r.json.sample.records, 20)
  assert.equal(r.json.sample.of, 70)
  assert.match(r.json.sample.full_push_command, /dataset push .* --table three .*--category image_classification/)
  assert.doesNotMatch(r.json.sample.full_push_command, /--sample|--seed/)
  // the rows the ingestor wrote
  const out = await sandbox().mysql.query('SELECT label, COUNT(*) FROM training_test_datasets.`three_sample` GROUP BY label ORDER BY label')
  const got = Object.fromEntries(out.trim().split('\n').map((l) => l.split('\t')).map(([k, v]) => [k, Number(v)]))
  assert.deepEqual(Object.keys(got).sort(), Object.keys(COUNTS).sort(), 'every label kept')
  const total = Object.values(got).reduce((a, b) => a + b, 0)
  assert.equal(total, 20)
  for (const [label, n] of Object.entries(COUNTS)) assert.ok(Math.abs(got[label]! - (20 * n) / 70) < 1, `${label}: ${got[label]} vs ${(20 * n) / 70}`)
  // only the sample's images were sent: one per row
  assert.equal(r.json.files, 21)

  // the same seed picks the same rows; another seed other rows (the dry run lists the files)
  const plan = async (seed: string) => {
    const d = await runCli(['dataset', 'push', dir, '--table', 'three_sample', '--category', 'image_classification', '--sample', '20', '--seed', seed, '--dry-run', '--json', '--kubeconfig', path.join(tmp, 'none')], {env})
    assert.equal(d.code, 0, d.stderr + d.stdout)
    return d.json.dry_run.files.map((f: {name: string}) => f.name).filter((n: string) => n.startsWith('images/'))
  }
  const a = await plan('5')
  assert.deepEqual(await plan('5'), a)
  assert.equal(a.length, 20)
  assert.notDeepEqual(await plan('6'), a)
})

test('--sample P% of an object-detection set: a uniform sample whose annotations follow their images', async () => {
  const src = path.join(SAMPLES, 'object_detection/data')
  const dir = path.join(tmp, 'boxes')
  mkdirSync(path.join(dir, 'images'), {recursive: true})
  mkdirSync(path.join(dir, 'annotations'), {recursive: true})
  const img = readdirSync(path.join(src, 'images'))[0]!
  const ann = readdirSync(path.join(src, 'annotations'))[0]!
  const rows = ['filename,image_label']
  for (let i = 0; i < 30; i++) {
    copyFileSync(path.join(src, 'images', img), path.join(dir, 'images', `b${i}${path.extname(img)}`))
    copyFileSync(path.join(src, 'annotations', ann), path.join(dir, 'annotations', `b${i}.xml`))
    rows.push(`b${i},${i % 2 ? "car" : "truck"}`)
  }
  writeFileSync(path.join(dir, 'labels.csv'), rows.join('\n') + '\n')
  const r = await runCli(['dataset', 'push', dir, '--table', 'boxes_sample', '--category', 'object_detection', '--label-column', 'image_label', '--sample', '20%', '--dry-run', '--json', '--kubeconfig', path.join(tmp, 'none')], {env})
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.equal(r.json.sample.records, 6)
  const names: string[] = r.json.dry_run.files.map((f: {name: string}) => f.name)
  const stems = (prefix: string) => names.filter((n) => n.startsWith(prefix)).map((n) => path.basename(n).replace(/\.[^.]+$/, '')).sort()
  assert.equal(stems('images/').length, 6)
  assert.deepEqual(stems('annotations/'), stems('images/'))
})

test("--dry-run's per-file plan is what the real push then does: the changed files are sent, the rest kept", async () => {
  const sb = sandbox()
  const dir = path.join(tmp, 'cats')
  cpSync(CATS_DOGS, dir, {recursive: true})
  const first = await push(dir, 'dry_match', ['--detach'])
  assert.equal(first.code, 0, first.stderr)
  await waitJob(first.json.job_name)
  // change two images (new bytes, same size) and leave the rest
  for (const f of ['cat2.jpeg', 'dog1.jpeg']) {
    const p = path.join(dir, 'images', f)
    const b = readFileSync(p)
    b[b.length - 3] ^= 0xff
    writeFileSync(p, b)
  }
  const dry = await push(dir, 'dry_match', ['--dry-run', '--overwrite'])
  assert.equal(dry.code, 0, dry.stderr)
  const plan = dry.json.dry_run
  assert.equal(plan.cluster.reachable, true)
  assert.equal(plan.cluster.staged_copy, true)
  assert.ok(plan.link.bytes_per_second > 0)
  assert.equal(typeof plan.eta_seconds, 'number')
  assert.equal(plan.ingest_config.table, 'dry_match')
  const send = plan.files.filter((f: {action: string}) => f.action === 'send').map((f: {name: string}) => f.name).sort()
  assert.deepEqual(send, ['images/cat2.jpeg', 'images/dog1.jpeg'])

  // the real push: files it sent land with a new inode, the unchanged ones are hard links of the old copy
  const staged = path.join(sb.pvcDir, '.tracebloc-staging', 'dry_match')
  const inodes = () => Object.fromEntries(plan.files.map((f: {name: string}) => [f.name, statSync(path.join(staged, f.name)).ino]))
  const before = inodes()
  const real = await push(dir, 'dry_match', ['--detach', '--overwrite'])
  assert.equal(real.code, 0, real.stderr)
  const now = inodes()
  const sent = Object.keys(now).filter((n) => now[n] !== before[n]).sort()
  assert.deepEqual(sent, send)
  assert.equal(real.json.staged.sent_files, plan.totals.send_files)
  assert.equal(real.json.staged.skipped_files, plan.totals.unchanged_files)
  await waitJob(real.json.job_name)
})

test('--dry-run without a cluster: exit 0, the local plan, and what needs the cluster', async () => {
  const r = await runCli(['dataset', 'push', CATS_DOGS, '--table', 'nocluster', '--category', 'image_classification', '--dry-run', '--json', '--kubeconfig', path.join(tmp, 'none')], {env})
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.equal(r.json.status, 'dry-run')
  const p = r.json.dry_run
  assert.equal(p.cluster.reachable, false)
  assert.match(p.cluster.error, /kubeconfig/)
  assert.equal(p.files.length, 7)
  assert.ok(p.files.every((f: {action: string}) => f.action === 'send'))
  assert.ok(p.needs_cluster.some((s: string) => /staged copy/.test(s)))
  assert.ok(p.needs_cluster.some((s: string) => /ETA/.test(s)))
  assert.equal(p.eta_seconds, undefined)
  assert.equal(p.ingest_config.csv, '/data/shared/.tracebloc-staging/nocluster/labels.csv')
  const human = await runCli(['dataset', 'push', CATS_DOGS, '--table', 'nocluster', '--category', 'image_classification', '--dry-run', '--kubeconfig', path.join(tmp, 'none')], {env})
  assert.equal(human.code, 0, human.stderr)
  assert.match(human.stdout, /send +images\/cat1\.jpeg/)
  assert.match(human.stdout, /needs the cluster: which files the staged copy already holds/)
})

async function waitJob(job: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const j = sandbox().store.get({group: 'batch', version: 'v1', resource: 'jobs'}, sandbox().namespace, job)
    if ((j?.status?.conditions ?? []).some((c: {type: string; status: string}) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`ingestion ${job} did not finish`)
}
