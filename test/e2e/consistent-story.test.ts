// The product tells one story: push, runs, list and show agree on the counts and name them the same
// way; what a push drops, infers, merges or removes is on screen before any byte moves; a category
// that would leave data unused is refused; a failed run's retry works and is printed; another
// cluster's runs never show up here.
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {cliOnPty, hasPty} from './pty.js'
import {CATS_DOGS, leftovers, runCli, SAMPLES, sandboxPerFile} from './push-cli.js'

const OBJECT_DETECTION = path.join(SAMPLES, 'object_detection/data')
const KEYPOINTS = path.join(SAMPLES, 'keypoint_detection/data')
const TABULAR = path.join(SAMPLES, 'tabular_classification/tabular_classification_sample_in_csv_format.csv')
const TABULAR_REGRESSION = path.join(SAMPLES, 'tabular_regression/tabular_regression_sample_in_csv_format.csv')

const homes: string[] = []
after(() => {
  for (const h of homes) rmSync(h, {recursive: true, force: true})
})

/** A machine of its own: its own recent-run cache. */
function machine(): Record<string, string> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'tb-story-'))
  homes.push(home)
  return {XDG_CACHE_HOME: path.join(home, 'cache'), TRACEBLOC_STAGE_POD_TIMEOUT: '30', TRACEBLOC_POD_START_TIMEOUT: '60'}
}

describe('without a cluster', () => {
  const noCluster = {env: {KUBECONFIG: '/nonexistent/kubeconfig'}}

  test('a category that leaves annotations/ unused is refused, exit 2, naming the folder and the category that reads it', async () => {
    const r = await runCli(['dataset', 'push', OBJECT_DETECTION, '--table', 'od', '--category', 'image_classification', '--dry-run'], noCluster)
    assert.equal(r.code, 2, r.stdout + r.stderr)
    assert.match(r.stderr, /image_classification would leave annotations\/ .* unused/)
    assert.match(r.stderr, /pass --category object_detection/)
  })

  test('keypoint columns pushed as image_classification: refused, exit 2, naming the columns and keypoint_detection', async () => {
    const r = await runCli(['dataset', 'push', KEYPOINTS, '--table', 'kp', '--category', 'image_classification', '--label-column', 'image_label', '--dry-run'], noCluster)
    assert.equal(r.code, 2, r.stdout + r.stderr)
    assert.match(r.stderr, /Annotation and Visibility \(keypoint\) columns/)
    assert.match(r.stderr, /pass --category keypoint_detection/)
  })

  test('a wrong --label-column: one wording, and the hint names the flag, not the data', async () => {
    const r = await runCli(['dataset', 'push', TABULAR, '--table', 't', '--category', 'tabular_classification', '--label-column', 'nope', '--dry-run'], noCluster)
    assert.equal(r.code, 2, r.stdout + r.stderr)
    assert.match(r.stderr, /label column "nope" \(--label-column\) not found in "tabular_classification_sample_in_csv_format\.csv"/)
    assert.match(r.stderr, /→ pass --label-column with one of the columns above/)
    assert.doesNotMatch(r.stderr, /Fix the data/)
    const def = await runCli(['dataset', 'push', OBJECT_DETECTION, '--table', 'od', '--category', 'object_detection', '--dry-run'], noCluster)
    assert.equal(def.code, 2, def.stdout + def.stderr)
    assert.match(def.stderr, /label column "label" not found in "labels_file_sample\.csv"/)
    assert.match(def.stderr, /→ pass --label-column with one of the columns above/)
  })

  test('on a terminal, a wrong --label-column is reported before the category question', {skip: hasPty ? false : 'python3 with pty is not installed'}, async () => {
    const r = await cliOnPty(['dataset', 'push', TABULAR_REGRESSION, '--table', 'prompt_test', '--dry-run', '--label-column', 'nope'], {env: {KUBECONFIG: '/nonexistent/kubeconfig'}, prompt: 'Task [', answers: ['1']})
    assert.equal(r.shown.length, 0, `the question was asked before the flag error:\n${r.screen}`)
    assert.equal(r.code, 2, r.screen)
    assert.match(r.screen, /label column "nope" \(--label-column\) not found/)
    const time = await cliOnPty(['dataset', 'push', TABULAR_REGRESSION, '--table', 'prompt_test', '--dry-run', '--time-column', ' '], {env: {KUBECONFIG: '/nonexistent/kubeconfig'}, prompt: 'Task [', answers: ['1']})
    assert.equal(time.shown.length, 0, `the question was asked before the flag error:\n${time.screen}`)
    assert.equal(time.code, 2, time.screen)
    assert.match(time.screen, /--time-column is empty/)
  })
})

describe('against the sandbox', () => {
  const sandbox = sandboxPerFile()
  const kc = () => ['--kubeconfig', sandbox().kubeconfigPath]

  test('counts agree: validation, push, runs, list and show give one number per thing, in the same words', async () => {
    const env = machine()
    const r = await runCli(['dataset', 'push', CATS_DOGS, '--table', 'story_counts', '--category', 'image_classification', ...kc()], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    // validation: rows and the distinct records they make; the plan: that repeats merge
    assert.match(r.stdout, /Validated 576 rows \(6 distinct records\), 7 files/)
    assert.match(r.stdout, /576 rows make 6 distinct records: 570 rows repeat an earlier row and merge into its record/)
    // the outcome: records read back from the table, next to the rows the ingestor processed, with the reason
    assert.match(r.stdout, /Ingestion complete — 6 records in the table from 576 of 576 rows \(100\.0%\)/)
    assert.match(r.stdout, /in the table {5}6 records \(rows with identical content share one record\)/)
    const list = await runCli(['dataset', 'list', '--json', ...kc()], {env})
    assert.equal(list.json.details.find((d: {name: string}) => d.name === 'story_counts').records, 6)
    const show = await runCli(['dataset', 'show', 'story_counts', '--json', ...kc()], {env})
    assert.equal(show.json.records, 6)
    const runs = await runCli(['dataset', 'runs', ...kc()], {env})
    assert.equal(runs.code, 0, runs.stderr)
    // runs counts what the ingestor counts (rows), under that name
    assert.match(runs.stdout, /\bROWS$/m)
    assert.match(runs.stdout, /story_counts .* 576\/576$/m)
    if (hasPty) {
      // logs on a terminal: the progress bar on one line, as push shows it; a finished run's pod is not "followed"
      const logs = await cliOnPty(['dataset', 'logs', 'story_counts', ...kc()], {env, prompt: 'a prompt no screen shows', answers: [], idleSeconds: 60})
      assert.equal(logs.code, 0, logs.screen)
      assert.equal(logs.screen.split('\n').filter((l) => l.includes('Ingesting records')).length, 1, logs.screen)
      assert.match(logs.screen, /logs of pod \S+ \(the run has finished\)/)
      assert.match(logs.screen, /Ingestion complete — processed 576 of 576 rows/)
    }
    const pushJson = await runCli(['dataset', 'push', CATS_DOGS, '--table', 'story_counts_json', '--category', 'image_classification', '--json', ...kc()], {env})
    assert.equal(pushJson.code, 0, pushJson.stderr)
    assert.equal(pushJson.json.rows, 576)
    assert.equal(pushJson.json.distinct_rows, 6)
    assert.equal(pushJson.json.records_in_table, 6)
    assert.equal(pushJson.json.summary.inserted_records, 576)
  })

  test('a re-push into the empty table its failed run left goes ahead and says so; the failure ends with that exact retry', async () => {
    const sb = sandbox()
    const env = machine()
    sb.faults.set({ingestor: 'validator-failure'})
    let failed
    try {
      failed = await runCli(['dataset', 'push', CATS_DOGS, '--table', 'story_retry', '--category', 'image_classification', ...kc()], {env})
    } finally {
      sb.faults.clear()
    }
    assert.equal(failed.code, 9, failed.stdout + failed.stderr)
    const last = failed.stdout.trimEnd().split('\n').at(-1)!
    const m = /→ fix the cause above, then retry: (tracebloc dataset push .*)$/.exec(last)
    assert.ok(m, `the failure output does not end with the retry command:\n${failed.stdout}`)
    assert.match(failed.stdout, /→ logs: tracebloc dataset logs [0-9a-f]{32} -n tracebloc/)
    // the printed command, run as printed
    const args = m[1]!.split(' ').slice(1)
    const retry = await runCli(args, {env})
    assert.equal(retry.code, 0, retry.stdout + retry.stderr)
    assert.match(retry.stdout, /"story_retry" is an empty table a failed run left .*: it is removed before the upload and this push loads the data/)
    assert.match(retry.stdout, /Removed the empty table "story_retry"/)
    assert.match(retry.stdout, /6 records in the table/)
    assert.deepEqual(leftovers(sb), {pods: [], scratch: []})
  })

  test('everything dropped, inferred or removed is on screen before staging, and in --dry-run; --overwrite is a step of its own', async () => {
    const env = machine()
    const first = await runCli(['dataset', 'push', TABULAR, '--table', 'story_plan', '--category', 'tabular_classification', ...kc()], {env})
    assert.equal(first.code, 0, first.stdout + first.stderr)
    const dry = await runCli(['dataset', 'push', TABULAR, '--table', 'story_plan', '--category', 'tabular_classification', '--overwrite', '--dry-run', ...kc()], {env})
    assert.equal(dry.code, 0, dry.stdout + dry.stderr)
    assert.match(dry.stdout, /! dropped column id: the ingestor creates a column of that name itself/)
    assert.match(dry.stdout, /! inferred types of 3 columns .*: feature_00:FLOAT, feature_01:FLOAT, feature_02:FLOAT; the label column label \(INT values\) is stored as text/)
    assert.match(dry.stdout, /! --overwrite: the existing dataset "story_plan" \(table training_test_datasets\.story_plan, 8 records\) would be removed \(dry run: nothing removed\)/)
    const r = await runCli(['dataset', 'push', TABULAR, '--table', 'story_plan', '--category', 'tabular_classification', '--overwrite', ...kc()], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const at = (re: RegExp) => {
      const i = r.stdout.search(re)
      assert.ok(i >= 0, `${re} is not in the output:\n${r.stdout}`)
      return i
    }
    const staging = at(/Stage files into client-pvc/)
    assert.ok(at(/dropped column id/) < staging)
    assert.ok(at(/inferred types of 3 columns/) < staging)
    assert.ok(at(/--overwrite: the existing dataset "story_plan" .* is removed before the upload/) < at(/✔ Removed the existing dataset "story_plan"/))
    assert.ok(at(/✔ Removed the existing dataset "story_plan"/) < staging)
    // said once: no warning repeating it after the upload
    assert.doesNotMatch(r.stderr, /dropped column|inferred types|removed the existing dataset/)
  })

  test("no ghost runs: another cluster's runs in the cache (same context name) never show in runs or logs", async () => {
    const env = machine()
    // what the demo (another sandbox, also reached as context "sandbox") leaves in a shared cache
    const dir = path.join(env.XDG_CACHE_HOME!, 'tracebloc')
    mkdirSync(dir, {recursive: true})
    const ghost = (key: string, cluster?: string) => ({key, table: 'ghost_table', namespace: 'tracebloc', context: 'sandbox', ...(cluster ? {cluster} : {}), job_name: `ingest-job-${key.slice(0, 10)}`, category: 'image_classification', intent: 'train', submitted_at: new Date().toISOString()})
    writeFileSync(path.join(dir, 'recent-runs.json'), JSON.stringify({version: 1, runs: [ghost('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'), ghost('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'another-cluster-uid')]}))
    const runs = await runCli(['dataset', 'runs', '--json', ...kc()], {env})
    assert.equal(runs.code, 0, runs.stderr)
    assert.deepEqual(runs.json.runs.filter((x: {table?: string}) => x.table === 'ghost_table'), [])
    const logs = await runCli(['dataset', 'logs', ...kc()], {env})
    assert.notEqual(logs.code, 0)
    assert.match(logs.stderr, /no recent run recorded on this machine/)
    // a run pushed here is remembered for this cluster, and the other cluster's entry is kept for it
    const p = await runCli(['dataset', 'push', TABULAR, '--table', 'story_mine', '--category', 'tabular_classification', '--detach', '--json', ...kc()], {env})
    assert.equal(p.code, 0, p.stderr)
    const mine = await runCli(['dataset', 'logs', '--json', ...kc()], {env})
    assert.equal(mine.json?.key, p.json.idempotency_key, mine.stdout + mine.stderr)
  })
})
