// The CLI explaining itself, as a real process (no cluster): -h everywhere, unknown commands with
// suggestions (exit 1), help that survives a closed pipe, --version = version, the Node guard,
// help content (examples, categories, defaults, one table-name rule), and the dataset checks that
// run before any cluster access (table name, category fit and detection off a terminal).
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {before, test} from 'node:test'

import {TABLE_NAME_RE} from '../../src/lib/schema/index.js'
import {assertBuilt, bin, cli, root} from './cli.js'

const samples = 'test/fixtures/reference/samples'
const images = `${samples}/image_classification/data`
const tabular = `${samples}/tabular_regression/tabular_regression_sample_in_csv_format.csv`
// No cluster: the checks under test all run before the kubeconfig is read.
const noCluster = {KUBECONFIG: '/nonexistent/kubeconfig'}
const manifest = () => (JSON.parse(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {hidden?: boolean; pluginName?: string}>}).commands

before(assertBuilt)

test('-h and --help on the root, a topic and every command: help on stdout, exit 0', () => {
  for (const args of [['-h'], ['--help'], ['dataset', '-h'], ...Object.keys(manifest()).map((id) => [...id.split(':'), '-h'])]) {
    const r = cli(args)
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stdout, /USAGE/, args.join(' '))
    assert.equal(r.stderr, '', args.join(' '))
  }
})

test('every tracebloc command has examples in its help', () => {
  for (const [id, c] of Object.entries(manifest())) {
    if (c.hidden || c.pluginName !== '@tracebloc/cli') continue
    assert.match(cli([...id.split(':'), '--help']).stdout, /EXAMPLES/, id)
  }
})

test('unknown commands and help topics: exit 1, named with spaces, with "did you mean"', () => {
  for (const args of [['dataset', 'psh'], ['help', 'dataset', 'psh'], ['dataset', 'psh', '--help'], ['dataset', 'psh', '-h']]) {
    const r = cli(args)
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, /^Error: unknown command "dataset psh" for "tracebloc"\n {2}→ did you mean "tracebloc dataset push"\?/, args.join(' '))
    assert.doesNotMatch(r.stderr, /dataset:psh/)
  }
  const topic = cli(['clustr', 'info'])
  assert.equal(topic.status, 1)
  assert.match(topic.stderr, /unknown command "clustr".*\n.*did you mean "tracebloc cluster info"\?/)
  const none = cli(['xyzzy'])
  assert.equal(none.status, 1)
  assert.match(none.stderr, /see the commands with: tracebloc --help/)
  const json = cli(['dataset', 'psh', '--json'])
  assert.equal(json.status, 1)
  const doc = JSON.parse(json.stdout)
  assert.deepEqual([doc.status, doc.exit_code, doc.reason, doc.suggestions], ['error', 1, 'unknown_command', ['tracebloc dataset push']])
})

const hasBash = spawnSync('bash', ['-c', 'exit 0']).status === 0

test('help into a pipe that closes early: exit 0, no warning', {skip: hasBash ? false : 'needs bash'}, () => {
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${bin}" --help | head -1; exit \${PIPESTATUS[0]}`], {encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}})
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.split('\n').filter(Boolean).length, 1)
  assert.doesNotMatch(r.stderr, /Warning|unsettled|EPIPE/)
})

test('--version prints what `version` prints (fast path and oclif)', () => {
  const v = cli(['version'])
  assert.equal(v.status, 0)
  assert.match(v.stdout, /^tracebloc \d+\.\d+\.\d+\ningest schema v1/)
  assert.equal(cli(['--version']).stdout, v.stdout)
  assert.equal(cli(['--version'], {env: {TRACEBLOC_FAST_PATH: '0'}}).stdout, v.stdout)
  assert.deepEqual(JSON.parse(cli(['--version', '--json']).stdout), JSON.parse(cli(['version', '--json']).stdout))
})

// A Node older than engines.node on this machine (the system's), if any.
const oldNode = ['/usr/bin/node', '/usr/local/bin/node'].find((n) => existsSync(n) && spawnSync(n, ['-e', 'process.exit(+process.versions.node.split(".")[0] < 22 ? 0 : 1)']).status === 0)

test('on a Node older than required: one line naming found and required versions and how to upgrade, exit 1', {skip: oldNode ? false : 'no Node older than 22 on this machine'}, () => {
  for (const args of [['cluster', 'info'], ['version'], ['--help']]) {
    // as an install without a checkout's .node/ (bin/run.js would re-run itself on that Node: checkout-node.test.ts)
    const r = spawnSync(oldNode!, [bin, ...args], {encoding: 'utf8', env: {...process.env, TRACEBLOC_REEXEC: '1'}})
    assert.equal(r.status, 1, args.join(' '))
    assert.equal(r.stdout, '')
    assert.match(r.stderr, /^Error: tracebloc needs Node\.js >= 22\.19\.0, found v\d+\.\d+\.\d+ \(.*\); install Node\.js 22 or 24 LTS/)
    assert.equal(r.stderr.trimEnd().split('\n').length, 1)
    assert.doesNotMatch(r.stderr, /\n\s+at /)
  }
})

test('push help: the categories, the defaults and the table-name rule the validator applies', () => {
  const help = cli(['dataset', 'push', '--help']).stdout.replace(/\s+/g, ' ')
  for (const c of ['image_classification', 'object_detection', 'tabular_regression', 'time_to_event_prediction', 'embeddings']) assert.ok(help.includes(c), c)
  assert.match(help, /--intent=<option> .*\[default: train\]/)
  assert.match(help, /--compress=<option> .*\[default: auto\]/)
  assert.match(help, /\(default: label\)/)
  assert.match(help, /a letter, then letters, digits or _ \(≤ 63 chars\)/)
  assert.doesNotMatch(help, /A-Za-z_\]/)
})

test('--table 1cats: exit 2, and the suggested name is one the validator accepts', () => {
  const r = cli(['dataset', 'push', images, '--table', '1cats', '--category', 'image_classification', '--json'], {env: noCluster})
  assert.equal(r.status, 2)
  const doc = JSON.parse(r.stdout)
  assert.equal(doc.reason, 'table_name')
  const suggested = /e\.g\. "([^"]+)"/.exec(doc.error)?.[1]
  assert.ok(suggested && TABLE_NAME_RE.test(suggested), doc.error)
  const again = cli(['dataset', 'push', images, '--table', suggested, '--category', 'image_classification', '--json'], {env: noCluster})
  assert.notEqual(JSON.parse(again.stdout).reason, 'table_name')
})

test('a category that does not fit the data: exit 2 saying why, both ways', () => {
  const img = cli(['dataset', 'push', images, '--table', 'cats', '--category', 'tabular_classification'], {env: noCluster})
  assert.equal(img.status, 2, img.stderr)
  assert.match(img.stderr, /holds image data \(images\/ next to the CSV\), but tabular_classification is a tabular task/)
  assert.match(img.stderr, /→ pass the CSV file itself/)
  assert.equal(img.stderr.match(/holds image data/g)?.length, 1, 'the error is printed once')
  const tab = cli(['dataset', 'push', tabular, '--table', 'houses', '--category', 'image_classification', '--json'], {env: noCluster})
  assert.equal(tab.status, 2)
  assert.equal(JSON.parse(tab.stdout).reason, 'category_mismatch')
})

test('off a terminal the category is detected when the data leaves one task; otherwise exit 3 naming the choices', () => {
  const img = cli(['dataset', 'push', images, '--table', 'cats', '--label-column', 'label'], {env: noCluster})
  assert.match(img.stderr + img.stdout, /Validated 576 rows .* as image_classification \(detected: images\/ and a CSV/)
  assert.equal(img.status, 3, 'then stops at the missing kubeconfig')
  assert.match(img.stderr, /kubeconfig/)
  const tab = cli(['dataset', 'push', tabular, '--table', 'houses', '--json'], {env: noCluster})
  assert.equal(tab.status, 3)
  const doc = JSON.parse(tab.stdout)
  assert.equal(doc.reason, 'category_required')
  assert.match(doc.error, /looks like tabular data/)
  assert.match(doc.hint, /--category with one of: tabular_classification, tabular_regression/)
})

test('--json parse errors (missing or bad flag) carry reason bad_flag, exit 2', () => {
  for (const args of [['dataset', 'push', images, '--json'], ['dataset', 'push', images, '--table', 't', '--intent', 'bogus', '--json']]) {
    const r = cli(args, {env: noCluster})
    assert.equal(r.status, 2)
    const doc = JSON.parse(r.stdout)
    assert.deepEqual([doc.status, doc.exit_code, doc.reason], ['error', 2, 'bad_flag'])
  }
})

