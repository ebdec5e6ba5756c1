// The ingestor emulation run in-process over a real directory tree standing in for the pod's
// filesystem: exit codes and messages of docs/protocol.md#ingestor-config-errors and #ingestor-exit-codes, the #summary-banner, each `ingestor` fault.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'
import {runIngestor, type IngestorFault} from '../sandbox/release/ingestor/ingestor.js'
import {formatPyErrors, validatePy} from '../sandbox/release/pyjsonschema.js'

const SAMPLE = 'test/fixtures/reference/samples/image_classification/data'
const roots: string[] = []
after(() => roots.forEach((r) => fs.rmSync(r, {recursive: true, force: true})))
const ESC = String.fromCharCode(27)
const strip = (s: string) => s.replace(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '')

function stage(table = 'cats'): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ingestor-'))
  roots.push(root)
  const dir = path.join(root, 'data/shared/.tracebloc-staging', table)
  fs.mkdirSync(path.join(dir, 'images'), {recursive: true})
  for (const f of fs.readdirSync(path.join(SAMPLE, 'images'))) fs.copyFileSync(path.join(SAMPLE, 'images', f), path.join(dir, 'images', f))
  fs.copyFileSync(path.join(SAMPLE, 'labels_file_sample.csv'), path.join(dir, 'labels.csv'))
  fs.mkdirSync(path.join(root, 'etc'))
  writeConfig(root, `apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: image_classification\ntable: ${table}\nintent: train\ncsv: /data/shared/.tracebloc-staging/${table}/labels.csv\nimages: /data/shared/.tracebloc-staging/${table}/images/\nlabel: label\n`)
  return root
}

const writeConfig = (root: string, text: string) => fs.writeFileSync(path.join(root, 'etc/ingest.yaml'), text)

async function run(root: string, opts: {fault?: IngestorFault; env?: Record<string, string | undefined>} = {}) {
  let stdout = ''
  let stderr = ''
  const code = await runIngestor({
    env: {MYSQL_HOST: 'mysql-client', INGEST_CONFIG: '/etc/ingest.yaml', BACKEND_TOKEN: 't', MYSQL_WAIT_SECONDS: '0', ...opts.env},
    fsRoot: root,
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    fault: opts.fault,
    slowMs: 1,
  })
  return {code, stdout, stderr, plain: strip(stdout)}
}

const BANNER_CLEAN = `
════════════════════════════════════════════════════════════
📊 INGESTION SUMMARY 📊
════════════════════════════════════════════════════════════
Ingestor ID:                <id>
📈 Total Records Found:     576
✅ Successfully Processed:  576
💾 Inserted to Database:    576
🚀 Sent to API:             576
⏭️  Skipped Records:        0
📁 File Transfer Failures:  0
❌ Failed DB Insertion:     0
❌ Failed to Send to API:   0
────────────────────────────────────────────────────────────
📊 Success Rate: [██████████████████████████████] 100.0%
────────────────────────────────────────────────────────────
🎉 Ingestion completed successfully!
════════════════════════════════════════════════════════════
`

test('clean cats/dogs run: validator lines, exact banner, files copied flat, lock released, exit 0', async () => {
  const root = stage()
  const r = await run(root)
  assert.equal(r.code, 0, r.stderr)
  const lines = r.plain.split('\n')
  assert.deepEqual(lines.slice(0, 7), [
    'Waiting up to 0s for MySQL at mysql-client:3306...',
    'MySQL is ready.',
    'File Type Validator Validator successfully passed',
    'Image Resolution Validator Validator successfully passed',
    'Table Name Validator Validator successfully passed',
    'Duplicate Validator Validator successfully passed',
    'All validations passed successfully',
  ])
  const banner = r.plain.slice(r.plain.indexOf('All validations passed successfully\n') + 36).replace(/Ingestor ID: {16}[0-9a-f-]{36}/, 'Ingestor ID:                <id>')
  assert.equal(banner, BANNER_CLEAN + '\n')
  assert.ok(r.stdout.includes(`${ESC}[96m${'═'.repeat(60)}${ESC}[0m`))
  assert.deepEqual(fs.readdirSync(path.join(root, 'data/shared/cats')).sort(), ['cat1.jpeg', 'cat2.jpeg', 'cat3.jpeg', 'dog1.jpeg', 'dog2.jpeg', 'dog3.jpeg'])
  assert.equal(fs.existsSync(path.join(root, 'data/shared/.tracebloc-ingest-cats.lock')), false)

  const again = await run(root)
  assert.equal(again.code, 1)
  assert.match(again.stderr, /\nIngestion failed: Duplicate Validator Validator failed: \nDestination directory '\/data\/shared\/cats' already exists/)
  assert.doesNotMatch(again.plain, /INGESTION SUMMARY/)
})

test('config errors exit 2 with the exact config-error texts', async () => {
  const root = stage()
  assert.deepEqual(await run(root, {env: {INGEST_CONFIG: undefined}}).then((r) => [r.code, r.stderr]), [2, 'INGEST_CONFIG env var not set. The official image expects the Helm subchart (client#86) to mount the ingest.yaml and set INGEST_CONFIG to its path.\n'])
  assert.deepEqual(await run(root, {env: {INGEST_CONFIG: '/etc/nope.yaml'}}).then((r) => [r.code, r.stderr]), [2, 'INGEST_CONFIG points to /etc/nope.yaml which does not exist.\n'])
  writeConfig(root, '- a\n- b\n')
  assert.deepEqual(await run(root).then((r) => [r.code, r.stderr]), [2, 'ingest.yaml must be a mapping at the top level (apiVersion / kind / category / ...).\n'])
  writeConfig(root, 'a: [1\n')
  const bad = await run(root)
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /^ingest\.yaml is not valid YAML:\n {2}\S/)
  writeConfig(root, 'apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: image_classification\ntable: t\nintent: train\ncsv: /x.csv\n')
  assert.deepEqual(await run(root).then((r) => [r.code, r.stderr]), [2, "ingest.yaml validation failed:\n  <root>: 'images' is a required property\n  <root>: 'label' is a required property\n"])
})

test('Python-jsonschema wording and path order (config-error table rows)', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../sandbox/release/schemas/ingest.v1.current.json'), 'utf8'))
  const lines = formatPyErrors(validatePy(schema, {apiVersion: 'tracebloc.io/v1', kind: 'IngestConfig', category: 'keypoint_detection', table: 't', intent: 'train', csv: '/a', images: '/i/', label: 'l', target_size: [0, 448, 3], number_of_keypoints: 0})).split('\n')
  assert.deepEqual(lines, ['  number_of_keypoints: 0 is less than the minimum of 1', '  target_size: [0, 448, 3] is too long', '  target_size.0: 0 is less than the minimum of 1'])
  const reg = formatPyErrors(validatePy(schema, {apiVersion: 'tracebloc.io/v1', kind: 'IngestConfig', category: 'tabular_regression', table: 't', intent: 'train', csv: '/a', schema: {a: 'INT'}, label: 'price'}))
  assert.equal(reg, "  label: 'price' is not of type 'object'")
  assert.equal(formatPyErrors(validatePy(schema, {table: 5, schema: {}, a: 1})).split('\n')[0], "  <root>: Additional properties are not allowed ('a' was unexpected)")
})

test('fault skipped-rows: exit 0 but the banner shows the shortfall', async () => {
  const r = await run(stage(), {fault: 'skipped-rows'})
  assert.equal(r.code, 0)
  assert.match(r.plain, /⏭️ {2}Skipped Records: {8}96\n/)
  assert.match(r.plain, /💾 Inserted to Database: {4}480\n/)
  assert.match(r.plain, /⚠️ {2}Ingestion completed with 0 failure\(s\), see logs\./)
})

test('fault file-transfer-failure: 96 failures in the banner, warning line, exit 1', async () => {
  const r = await run(stage(), {fault: 'file-transfer-failure'})
  assert.equal(r.code, 1)
  assert.match(r.plain, /📁 File Transfer Failures: {2}96\n/)
  assert.match(r.plain, /⚠️ {2}Ingestion completed with 96 failure\(s\), see logs\./)
  assert.match(r.plain, /\| WARNING {2}\| tracebloc_ingestor\.cli\.run \| run\.py:\d+ \| 96 record\(s\) failed during ingestion; see logs for details\./)
  assert.match(r.plain, /\| ERROR {4}\| .* Source image not found: \/data\/shared\/\.tracebloc-staging\/cats\/images\//)
})

test('faults validator-failure, config-error, crash, mysql-unreachable, slow', async () => {
  const v = await run(stage(), {fault: 'validator-failure'})
  assert.equal(v.code, 1)
  assert.match(v.stderr, /Ingestion failed: Image Resolution Validator Validator failed: \nImage cat1\.jpeg has resolution 255x256, expected 256x256/)
  assert.doesNotMatch(v.plain, /INGESTION SUMMARY/)

  const c = await run(stage(), {fault: 'config-error'})
  assert.deepEqual([c.code, c.stderr], [2, "ingest.yaml validation failed:\n  <root>: Additional properties are not allowed ('sandbox_skew' was unexpected)\n"])

  const t = await run(stage(), {fault: 'crash'})
  assert.equal(t.code, 1)
  assert.match(t.stderr, /^Traceback \(most recent call last\):\n[\s\S]*pymysql\.err\.OperationalError: \(2003/)

  const m = await run(stage(), {fault: 'mysql-unreachable'})
  assert.deepEqual([m.code, m.stderr], [65, 'ERROR: MySQL not reachable at mysql-client:3306 after 0s\n'])

  const s = await run(stage(), {fault: 'slow'})
  assert.equal(s.code, 0)
  assert.ok(s.stderr.split('\r').filter((x) => x.startsWith('Ingesting records')).length >= 12)
})

test('MYSQL_HOST unset → 64; missing backend credentials → traceback, exit 1; lock held → exit 1', async () => {
  const root = stage()
  assert.deepEqual(await run(root, {env: {MYSQL_HOST: undefined}}).then((r) => [r.code, r.stderr]), [64, 'ERROR: MYSQL_HOST must be set (the tracebloc client provides this)\n'])
  const creds = await run(root, {env: {BACKEND_TOKEN: undefined}})
  assert.equal(creds.code, 1)
  assert.match(creds.stderr, /ValueError: Missing required environment variables: BACKEND_TOKEN \(preferred\)/)
  fs.writeFileSync(path.join(root, 'data/shared/.tracebloc-ingest-cats.lock'), '{"ingestor_id": "x"}')
  const locked = await run(root)
  assert.equal(locked.code, 1)
  assert.match(locked.stderr, /Ingestion failed: Another ingest is already running for table 'cats' \(lock at \/data\/shared\/\.tracebloc-ingest-cats\.lock\)/)
})

test('wrong image resolution and SRC_PATH sidecar rule', async () => {
  const root = stage()
  const cfg = fs.readFileSync(path.join(root, 'etc/ingest.yaml'), 'utf8')
  writeConfig(root, cfg + 'spec:\n  file_options:\n    target_size: [128, 128]\n')
  const r = await run(root)
  assert.equal(r.code, 1)
  assert.match(r.stderr, /Image cat1\.jpeg has resolution 256x256, expected 128x128/)
  writeConfig(root, cfg.replace('/images/', '/pics/'))
  fs.renameSync(path.join(root, 'data/shared/.tracebloc-staging/cats/images'), path.join(root, 'data/shared/.tracebloc-staging/cats/pics'))
  const side = await run(root)
  assert.equal(side.code, 1)
  assert.match(side.stderr, /File Type Validator Validator failed: \nDirectory not found: \/data\/shared\/\.tracebloc-staging\/cats\/images/)
})

test('tabular and text families', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ingestor-'))
  roots.push(root)
  fs.mkdirSync(path.join(root, 'etc'))
  fs.mkdirSync(path.join(root, 'data/shared/tabsrc'), {recursive: true})
  fs.copyFileSync('test/fixtures/reference/samples/tabular_classification/tabular_classification_sample_in_csv_format.csv', path.join(root, 'data/shared/tabsrc/labels.csv'))
  writeConfig(root, 'apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: tabular_classification\ntable: tab\nintent: train\ncsv: /data/shared/tabsrc/labels.csv\nschema: {feature_00: FLOAT, feature_01: FLOAT}\nlabel: label\n')
  const t = await run(root)
  assert.equal(t.code, 0, t.stderr)
  assert.match(t.plain, /Data Validator Validator successfully passed\n/)
  assert.match(t.plain, /📈 Total Records Found: {5}8\n/)

  fs.cpSync('test/fixtures/reference/samples/text_classification/data', path.join(root, 'data/shared/txtsrc'), {recursive: true})
  writeConfig(root, 'apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: text_classification\ntable: txt_t\nintent: train\ncsv: /data/shared/txtsrc/labels_file_sample.csv\ntexts: /data/shared/txtsrc/texts/\nlabel: label\n')
  const x = await run(root)
  assert.equal(x.code, 0, x.stderr)
  assert.match(x.plain, /📈 Total Records Found: {5}5\n/)
  assert.deepEqual(fs.readdirSync(path.join(root, 'data/shared/txt_t')).sort(), ['sample1.txt', 'sample2.txt', 'sample3.txt', 'sample4.txt', 'sample5.txt'])
})
