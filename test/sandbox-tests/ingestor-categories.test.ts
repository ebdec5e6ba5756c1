// The ingestor emulation per category (docs/protocol.md#ingestor-paths, #ingestor-validators): each reference sample under
// ../shared/reference/samples ingests cleanly with its category's validator lines, and a broken copy
// fails the way the real ingestor does — `<Name> Validator failed: ` then its errors, exit 1, no
// banner. Error texts pinned by the parity goldens (real ingestor) are asserted verbatim.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'
import {runIngestor} from '../sandbox/release/ingestor/ingestor.js'

const SAMPLES = 'test/fixtures/reference/samples'
const PARITY = 'test/fixtures/reference/parity/cases'
const roots: string[] = []
after(() => roots.forEach((r) => fs.rmSync(r, {recursive: true, force: true})))
const ESC = String.fromCharCode(27)
const strip = (s: string) => s.replace(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '')

interface Staged {
  root: string
  /** Host path of the staging dir (/data/shared/.tracebloc-staging/<table> in the pod). */
  dir: string
  table: string
  write(config: string): void
}

/** Copies a sample's data folder to <root>/data/shared/.tracebloc-staging/<table>/ (CSV → labels.csv). */
function stage(sample: string, table: string, csv: string): Staged {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ingestor-cat-'))
  roots.push(root)
  const dir = path.join(root, 'data/shared/.tracebloc-staging', table)
  fs.mkdirSync(dir, {recursive: true})
  fs.cpSync(path.join(SAMPLES, sample), dir, {recursive: true})
  fs.renameSync(path.join(dir, csv), path.join(dir, 'labels.csv'))
  fs.mkdirSync(path.join(root, 'etc'))
  return {root, dir, table, write: (config) => fs.writeFileSync(path.join(root, 'etc/ingest.yaml'), config)}
}

const P = (table: string) => `/data/shared/.tracebloc-staging/${table}`
const head = (category: string, table: string) => `apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: ${category}\ntable: ${table}\nintent: train\ncsv: ${P(table)}/labels.csv\n`

async function run(s: Staged) {
  let stdout = ''
  let stderr = ''
  const code = await runIngestor({
    env: {MYSQL_HOST: 'mysql-client', INGEST_CONFIG: '/etc/ingest.yaml', BACKEND_TOKEN: 't', MYSQL_WAIT_SECONDS: '0'},
    fsRoot: s.root,
    stdout: (x) => (stdout += x),
    stderr: (x) => (stderr += x),
  })
  return {code, stdout: strip(stdout), stderr}
}

const passed = (out: string) => out.split('\n').filter((l) => l.endsWith(' Validator successfully passed')).map((l) => l.slice(0, -' Validator successfully passed'.length))
const total = (out: string) => Number(/📈 Total Records Found: +([\d,]+)/.exec(out)?.[1].replace(/,/g, ''))

/** The failure as the ingestor prints it: "\nIngestion failed: " + one block per failing validator. */
function failure(r: {code: number; stdout: string; stderr: string}): string {
  assert.equal(r.code, 1, r.stderr)
  assert.doesNotMatch(r.stdout, /INGESTION SUMMARY/)
  const m = /\nIngestion failed: ([\s\S]*)\n$/.exec(r.stderr)
  assert.ok(m, r.stderr)
  return m[1]
}

const rewrite = (file: string, fn: (s: string) => string) => fs.writeFileSync(file, fn(fs.readFileSync(file, 'utf8')))

test('object_detection: Pascal VOC XML and image↔annotation pairing; annotations travel to DEST', async () => {
  const s = stage('object_detection/data', 'od', 'labels_file_sample.csv')
  s.write(head('object_detection', 'od') + `images: ${P('od')}/images/\nannotations: ${P('od')}/annotations/\nlabel: image_label\n`)
  const ok = await run(s)
  assert.equal(ok.code, 0, ok.stderr)
  assert.deepEqual(passed(ok.stdout), ['File Type Validator', 'File Type Validator', 'Pascal VOC XML Validator', 'File Pairing Validator', 'Image Resolution Validator', 'Table Name Validator', 'Duplicate Validator'])
  assert.equal(total(ok.stdout), 128)
  assert.deepEqual(fs.readdirSync(path.join(s.root, 'data/shared/od')).sort(), ['0000001_02999_d_0000005.jpg', '0000001_02999_d_0000005.xml'])

  // the real ingestor's verdict on the parity case objdet-bad-xml, and an orphan annotation
  const t = stage('object_detection/data', 'od2', 'labels_file_sample.csv')
  t.write(head('object_detection', 'od2') + `images: ${P('od2')}/images/\nannotations: ${P('od2')}/annotations/\nlabel: image_label\n`)
  const ann = path.join(t.dir, 'annotations', '0000001_02999_d_0000005.xml')
  fs.copyFileSync(path.join(PARITY, 'objdet-bad-xml/annotations/a.xml'), ann)
  fs.writeFileSync(path.join(t.dir, 'annotations', 'extra.xml'), '<annotation><filename>x.jpg</filename>\n<size></annotation>')
  const f = failure(await run(t))
  const x = '0000001_02999_d_0000005.xml'
  assert.equal(f, [
    'Pascal VOC XML Validator Validator failed: ',
    `${x}: Missing required root elements: ['size', 'source']`,
    `${x}: Missing required 'source' element`,
    `${x}: Missing required 'size' element`,
    `${x}: Object 0: xmin (20) must be less than xmax (2)`,
    'extra.xml: XML parse error: mismatched tag: line 2, column 7',
    'File Pairing Validator Validator failed: ',
    "1 annotation(s) have no matching image: ['extra']",
  ].join('\n'))
})

test('semantic_segmentation: masks/*.png paired by the _mask suffix; masks travel to DEST', async () => {
  const s = stage('semantic_segmentation/semantic_data', 'seg', 'labels_file_sample.csv')
  const cfg = (t: string) => head('semantic_segmentation', t) + `images: ${P(t)}/images/\nmasks: ${P(t)}/masks/\nlabel: image_label\n`
  s.write(cfg('seg'))
  const ok = await run(s)
  assert.equal(ok.code, 0, ok.stderr)
  assert.deepEqual(passed(ok.stdout), ['File Type Validator', 'File Type Validator', 'File Pairing Validator', 'Image Resolution Validator', 'Table Name Validator', 'Duplicate Validator'])
  assert.equal(total(ok.stdout), 3)
  assert.ok(fs.readdirSync(path.join(s.root, 'data/shared/seg')).includes('image_002_mask.png'))

  // goldens semseg-badname-mask: a mask without the suffix pairs with nothing; a .jpg mask is the wrong type
  const t = stage('semantic_segmentation/semantic_data', 'seg2', 'labels_file_sample.csv')
  t.write(cfg('seg2'))
  fs.renameSync(path.join(t.dir, 'masks/image_002_mask.png'), path.join(t.dir, 'masks/image_002.png'))
  fs.copyFileSync(path.join(t.dir, 'images/image_001.jpg'), path.join(t.dir, 'masks/image_001_mask.jpg'))
  assert.equal(failure(await run(t)), [
    'File Type Validator Validator failed: ',
    'Invalid file type: image_001_mask.jpg (expected .png)',
    'File Pairing Validator Validator failed: ',
    "1 image(s) have no matching mask: ['image_002']",
    "1 mask(s) have no matching image: ['image_002']",
  ].join('\n'))
})

test('keypoint_detection: Annotation / Visibility JSON, keypoint count', async () => {
  const cfg = (t: string, n: number) => head('keypoint_detection', t) + `images: ${P(t)}/images/\nlabel: image_label\ntarget_size: [448, 448]\nnumber_of_keypoints: ${n}\n`
  const s = stage('keypoint_detection/data', 'kp', 'labels_file_sample.csv')
  s.write(cfg('kp', 9))
  const ok = await run(s)
  assert.equal(ok.code, 0, ok.stderr)
  assert.deepEqual(passed(ok.stdout), ['File Type Validator', 'Image Resolution Validator', 'Keypoint Annotation', 'Keypoint Visibility', 'Table Name Validator', 'Duplicate Validator'])

  const t = stage('keypoint_detection/data', 'kp2', 'labels_file_sample.csv')
  t.write(cfg('kp2', 9))
  // row 2: Annotation not JSON (goldens kp-bad-annotation wording); row 3: a visibility of 2
  rewrite(path.join(t.dir, 'labels.csv'), (csv) => {
    const lines = csv.split('\n')
    lines[2] = lines[2].replace(/^(person_002,)"[^"]*(?:""[^"]*)*"/, '$1"not json at all"')
    lines[3] = lines[3].replace('""nose"": 1}', '""nose"": 2}').replace(/""nose"": 1,/, '""nose"": 2,')
    return lines.join('\n')
  })
  assert.equal(failure(await run(t)), [
    'Keypoint Annotation Validator failed: ',
    'Row 2: Invalid JSON in Annotation',
    'Keypoint Visibility Validator failed: ',
    "Row 3: Visibility of 'nose' must be 0 or 1, got 2",
  ].join('\n'))

  const u = stage('keypoint_detection/data', 'kp3', 'labels_file_sample.csv')
  u.write(cfg('kp3', 17))
  assert.equal(failure(await run(u)), ['Keypoint Annotation Validator failed: ', 'Row 1: Expected 17 keypoints, found 9', 'Row 2: Expected 17 keypoints, found 9', 'Row 3: Expected 17 keypoints, found 9'].join('\n'))
})

test('token_classification: BIO tags valid and aligned with the words of each text', async () => {
  const cfg = (t: string) => head('token_classification', t) + `texts: ${P(t)}/texts/\nlabel: label\n`
  const s = stage('token_classification/data', 'ner', 'labels_file_sample.csv')
  s.write(cfg('ner'))
  const ok = await run(s)
  assert.equal(ok.code, 0, ok.stderr)
  assert.deepEqual(passed(ok.stdout), ['File Type Validator', 'BIO Label', 'Table Name Validator', 'Duplicate Validator'])

  const t = stage('token_classification/data', 'ner2', 'labels_file_sample.csv')
  t.write(cfg('ner2'))
  // sample1: a non-BIO tag (goldens token-clf-bad-bio wording); sample2: 2 tags for 3 words
  rewrite(path.join(t.dir, 'labels.csv'), (csv) => csv.replace('B-PER I-PER O O B-ORG', 'PERSON I-PER O O B-ORG').replace('B-LOC O O', 'B-LOC O'))
  assert.equal(failure(await run(t)), [
    'BIO Label Validator failed: ',
    "Row 0 ('sample1.txt'): 1 invalid BIO tag(s), masked shapes ['xxxxxx']; each tag must be 'O' or 'B-<TYPE>' / 'I-<TYPE>'.",
    "Row 1 ('sample2.txt'): 2 BIO tag(s) for 3 whitespace-separated word(s); each word needs exactly one tag.",
  ].join('\n'))
})

test('masked_language_modeling needs tokenizer.json with [MASK] and [PAD]; text_classification passes', async () => {
  const cfg = (t: string) => head('masked_language_modeling', t) + `sequences: ${P(t)}/sequences/\n`
  const s = stage('masked_language_modeling/data', 'mlm', 'labels_file_sample.csv')
  s.write(cfg('mlm'))
  const ok = await run(s)
  assert.equal(ok.code, 0, ok.stderr)
  assert.deepEqual(passed(ok.stdout), ['File Type Validator', 'Tokenizer Validator', 'Table Name Validator', 'Duplicate Validator'])
  assert.ok(fs.existsSync(path.join(s.root, 'data/shared/mlm/tokenizer.json')))

  const t = stage('masked_language_modeling/data', 'mlm2', 'labels_file_sample.csv')
  t.write(cfg('mlm2'))
  // the token must be gone from model.vocab and added_tokens alike
  rewrite(path.join(t.dir, 'tokenizer.json'), (j) => j.replaceAll('"[MASK]"', '"[MASQUE]"'))
  assert.equal(failure(await run(t)), 'Tokenizer Validator Validator failed: \nTokenizer is missing required special token [MASK]')
  fs.rmSync(path.join(t.dir, 'tokenizer.json'))
  assert.equal(failure(await run(t)), `Tokenizer Validator Validator failed: \ntokenizer.json not found at ${P('mlm2')}/tokenizer.json (required for masked_language_modeling)`)

  const c = stage('text_classification/data', 'tc', 'labels_file_sample.csv')
  c.write(head('text_classification', 'tc') + `texts: ${P('tc')}/texts/\nlabel: label\n`)
  const tc = await run(c)
  assert.equal(tc.code, 0, tc.stderr)
  assert.deepEqual(passed(tc.stdout), ['File Type Validator', 'Table Name Validator', 'Duplicate Validator'])
})

test('time_series_forecasting: timestamp in the schema as TIMESTAMP, ascending, not in the future, numeric columns', async () => {
  const schema = 'schema:\n  timestamp: TIMESTAMP\n  day_of_week: INT\n  value: FLOAT\nlabel:\n  column: value\n  policy: passthrough\n'
  const csv = 'time_series_forecasting_sample_in_csv_format.csv'
  const s = stage('time_series_forecasting', 'tsf', csv)
  s.write(head('time_series_forecasting', 'tsf') + schema)
  const ok = await run(s)
  assert.equal(ok.code, 0, ok.stderr)
  assert.deepEqual(passed(ok.stdout), ['Time Format Validator', 'Time Ordered Validator', 'Time Before Today Validator', 'Numeric Columns Validator', 'Data Validator', 'Table Name Validator', 'Duplicate Validator'])
  assert.equal(total(ok.stdout), 31)

  const t = stage('time_series_forecasting', 'tsf2', csv)
  t.write(head('time_series_forecasting', 'tsf2') + schema)
  // swap the first two data rows (goldens tsf-unsorted-time wording), move the last into 2999
  rewrite(path.join(t.dir, 'labels.csv'), (text) => {
    const lines = text.split('\r\n')
    ;[lines[1], lines[2]] = [lines[2], lines[1]]
    const last = lines.findLastIndex((l) => l !== '')
    lines[last] = lines[last].replace(/^\d{4}/, '2999')
    return lines.join('\r\n')
  })
  assert.equal(failure(await run(t)), [
    'Time Ordered Validator Validator failed: ',
    'Found 1 out-of-order timestamp pair(s)',
    'Time Before Today Validator Validator failed: ',
    'Found 1 timestamp(s) in the future at rows [30]. Timestamps must not be after today.',
  ].join('\n'))

  // no timestamp in the schema, and a schema column with blanks (goldens tsf-missing-timestamp wording)
  const u = stage('time_series_forecasting', 'tsf3', csv)
  u.write(head('time_series_forecasting', 'tsf3') + 'schema:\n  lag_1: FLOAT\n  value: FLOAT\nlabel:\n  column: value\n  policy: passthrough\n')
  assert.equal(failure(await run(u)), [
    'Time Format Validator Validator failed: ',
    "Schema must contain a 'timestamp' column. For time series forecasting, a 'timestamp' column is required.",
    'Numeric Columns Validator Validator failed: ',
    "Column 'lag_1' contains 1 null value(s)",
  ].join('\n'))
})

test('time_to_event_prediction: time column present, numeric, non-negative; tabular schema columns present', async () => {
  const csv = 'time_to_event_prediction_sample_in_csv_format.csv'
  const cfg = (t: string, time = '') => head('time_to_event_prediction', t) + `${time}schema:\n  age: FLOAT\n  time: INT\n  DEATH_EVENT: INT\nlabel:\n  column: DEATH_EVENT\n  policy: bucket\n`
  const s = stage('time_to_event_prediction', 'tte', csv)
  s.write(cfg('tte'))
  const ok = await run(s)
  assert.equal(ok.code, 0, ok.stderr)
  assert.deepEqual(passed(ok.stdout), ['Time to Event Validator', 'Data Validator', 'Table Name Validator', 'Duplicate Validator'])

  const t = stage('time_to_event_prediction', 'tte2', csv)
  t.write(cfg('tte2'))
  rewrite(path.join(t.dir, 'labels.csv'), (text) => text.replace(/\n(75,0,582,0,20,1,265000,1\.9,130,1,0,)4,/, '\n$1-4,'))
  assert.equal(failure(await run(t)), "Time to Event Validator Validator failed: \nTime column 'time' contains 1 negative value(s) at rows [0]. Time values must be non-negative.")
  t.write(cfg('tte2', 'time_column: followup_days\n'))
  const missing = failure(await run(t))
  assert.ok(missing.startsWith("Time to Event Validator Validator failed: \nTime column 'followup_days' not found in dataset. Available columns: ['age', 'anaemia', "), missing)

  const c = stage('tabular_classification', 'tab', 'tabular_classification_sample_in_csv_format.csv')
  c.write(head('tabular_classification', 'tab') + 'schema:\n  feature_00: FLOAT\n  feature_09: FLOAT\nlabel: label\n')
  assert.equal(failure(await run(c)), 'Data Validator Validator failed: \nSchema columns not present in CSV: feature_09')
})
