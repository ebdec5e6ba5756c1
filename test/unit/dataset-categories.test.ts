// Every category end to end on the reference samples (config shape per docs/protocol.md#config-synthesis, schema-valid),
// plus the checks we add beyond the Go CLI on small generated datasets.
import assert from 'node:assert/strict'
import {cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {planDataset, type PlanOptions} from '../../src/lib/local/index.js'
import {CliError} from '../../src/lib/output/errors.js'
import {validateIngestConfig} from '../../src/lib/schema/index.js'

const S = 'test/fixtures/reference/samples/'
const P = '/data/shared/.tracebloc-staging/t'
const tmp = mkdtempSync(path.join(tmpdir(), 'tb-cat-'))
after(() => rmSync(tmp, {recursive: true, force: true}))

const plan = (o: Omit<PlanOptions, 'table'>) => planDataset({table: 't', ...o})

async function rejects(p: Promise<unknown>, exitCode: number, re: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CliError, String(err))
    assert.equal(err.exitCode, exitCode, err.message)
    assert.match(err.message, re)
    return true
  })
}

function dir(name: string, files: Record<string, string>): string {
  const d = path.join(tmp, name)
  for (const [f, body] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(d, f)), {recursive: true})
    writeFileSync(path.join(d, f), body)
  }
  return d
}

test('image samples: detection adds annotations/, keypoints top-level fields, semseg masks/ + schema.mask_id', async () => {
  const od = await plan({path: S + 'object_detection/data', category: 'object_detection', labelColumn: 'image_label'})
  assert.equal(od.config.annotations, `${P}/annotations/`)
  assert.deepEqual(od.config.spec, {file_options: {extension: '.jpg', target_size: [1920, 1080]}})
  assert.deepEqual(od.files.map((f) => f.stagedPath), ['labels.csv', 'images/0000001_02999_d_0000005.jpg', 'annotations/0000001_02999_d_0000005.xml'])
  const kp = await plan({path: S + 'keypoint_detection/data', category: 'keypoint_detection', labelColumn: 'image_label', numberOfKeypoints: 9, minSize: [32, 32]})
  assert.deepEqual([kp.config.target_size, kp.config.number_of_keypoints, kp.config.spec], [[448, 448], 9, {file_options: {extension: '.jpg', min_size: [32, 32]}}])
  await rejects(plan({path: S + 'keypoint_detection/data', category: 'keypoint_detection', labelColumn: 'image_label', numberOfKeypoints: 17}), 3, /3 row\(s\) .*invalid keypoint JSON: line 2: Annotation has 9 keypoints, expected 17/)
  const ss = await plan({path: S + 'semantic_segmentation/semantic_data', category: 'semantic_segmentation', labelColumn: 'image_label'})
  assert.deepEqual([ss.config.masks, ss.config.schema, ss.config.label], [`${P}/masks/`, {mask_id: 'VARCHAR(255)'}, 'image_label'])
  for (const p of [od, kp, ss]) assert.deepEqual(validateIngestConfig(p.config), [])
})

test('text samples: texts/ or sequences/, label only for supervised tasks, tokenizer.json staged', async () => {
  const tc = await plan({path: S + 'text_classification/data', category: 'text_classification'})
  assert.deepEqual(tc.config, {apiVersion: 'tracebloc.io/v1', kind: 'IngestConfig', category: 'text_classification', table: 't', intent: 'train', csv: `${P}/labels.csv`, texts: `${P}/texts/`, label: 'label'})
  const tok = await plan({path: S + 'token_classification/data', category: 'token_classification', intent: 'test'})
  assert.equal(tok.config.intent, 'test')
  const mlm = await plan({path: S + 'masked_language_modeling/data', category: 'masked_language_modeling'})
  assert.equal(mlm.config.sequences, `${P}/sequences/`)
  assert.ok(!('label' in mlm.config))
  assert.deepEqual(mlm.files.slice(0, 2).map((f) => f.stagedPath), ['labels.csv', 'tokenizer.json'])
  await rejects(plan({path: S + 'text_classification/data', category: 'seq2seq', labelColumn: 'x'}), 2, /--label-column doesn't apply to seq2seq/)
  // a task that would not read sequences/ is refused, naming the one that does
  await rejects(plan({path: S + 'masked_language_modeling/data', category: 'seq2seq'}), 2, /seq2seq would leave sequences\/ .* unused/)
  for (const p of [tc, tok, mlm]) assert.deepEqual(validateIngestConfig(p.config), [])
})

test('tabular samples: bare CSV staged as labels.csv, inferred schema, regression label object with policy', async () => {
  const tc = await plan({path: S + 'tabular_classification/tabular_classification_sample_in_csv_format.csv', category: 'tabular_classification'})
  assert.deepEqual(tc.files.map((f) => f.stagedPath), ['labels.csv'])
  assert.deepEqual(tc.config.schema, {feature_00: 'FLOAT', feature_01: 'FLOAT', feature_02: 'FLOAT', label: 'INT'})
  assert.match(tc.warnings.join('\n'), /inferred types of 3 columns.*override with --schema/)
  const tr = await plan({path: S + 'tabular_regression', category: 'tabular_regression', labelColumn: 'price', labelPolicy: 'passthrough'})
  assert.deepEqual(tr.config.label, {column: 'price', policy: 'passthrough'})
  const tsf = await plan({path: S + 'time_series_forecasting', category: 'time_series_forecasting', labelColumn: 'value'})
  assert.deepEqual([tsf.config.label, (tsf.config.schema as Record<string, string>).timestamp], [{column: 'value', policy: 'bucket'}, 'TIMESTAMP'])
  const tte = await plan({path: S + 'time_to_event_prediction', category: 'time_to_event_prediction', labelColumn: 'DEATH_EVENT', timeColumn: 'time'})
  assert.equal(tte.config.time_column, 'time')
  const typed = await plan({path: S + 'tabular_regression', category: 'tabular_regression', labelColumn: 'price', schema: {square_feet: 'DECIMAL(10,2)', price: 'FLOAT'}})
  assert.deepEqual(typed.config.schema, {square_feet: 'DECIMAL(10,2)', price: 'FLOAT'})
  for (const p of [tc, tr, tsf, tte, typed]) assert.deepEqual(validateIngestConfig(p.config), [])
  await rejects(plan({path: S + 'tabular_regression', category: 'tabular_regression', labelColumn: 'price', targetSize: [1, 1]}), 2, /--target-size doesn't apply/)
  await rejects(plan({path: S + 'tabular_regression', category: 'tabular_classification', labelPolicy: 'bucket'}), 2, /--label-policy doesn't apply/)
  await rejects(plan({path: S + 'tabular_regression', category: 'tabular_regression', labelColumn: 'price', schema: {price: 'MONEY'}}), 2, /unknown SQL type.*price:MONEY/)
  await rejects(plan({path: S + 'tabular_regression', category: 'tabular_regression', labelColumn: 'price', schema: {nope: 'INT'}}), 3, /schema column\(s\) not present.*"nope"/)
})

test('category detection: data that leaves several tasks is exit 3 off a terminal (a prompt would be needed), naming them', async () => {
  await rejects(plan({path: S + 'tabular_regression/tabular_regression_sample_in_csv_format.csv'}), 3, /tabular data.*tabular_classification, tabular_regression, time_series_forecasting, time_series_classification, time_to_event_prediction/)
  const pairs = dir('pairs', {'labels.csv': 'filename,label\na.txt,yes\n', 'texts/a.txt': 'one\ttwo\n'})
  await rejects(plan({path: pairs}), 3, /text data.*text_classification, sentence_pair_classification/)
  const free = dir('free', {'labels.csv': 'filename\na.txt\n', 'texts/a.txt': 'free text\n'})
  await rejects(plan({path: free}), 3, /causal_language_modeling, seq2seq, embeddings/)
  assert.equal((await plan({path: S + 'text_classification/data'})).category, 'text_classification')
})

test('beyond the Go CLI: BIO tag count, tokenizer tokens, TSF future timestamps, ragged rows, TSC sequences', async () => {
  const bio = dir('bio', {'labels.csv': 'filename,label\na.txt,B-PER O\n', 'texts/a.txt': 'John lives here\n'})
  await rejects(plan({path: bio, category: 'token_classification'}), 3, /line 2 \(a\.txt\): 2 tag\(s\) for 3 word\(s\)/)
  const tok = dir('tok', {'labels.csv': 'filename,label\na.txt,x\nb.txt,y\n', 'texts/a.txt': 'a', 'texts/b.txt': 'b', 'tokenizer.json': JSON.stringify({model: {vocab: {'[UNK]': 0}}, added_tokens: []})})
  await rejects(plan({path: tok, category: 'text_classification'}), 3, /tokenizer\.json has no \[PAD\] token/)
  writeFileSync(path.join(tok, 'tokenizer.json'), JSON.stringify({model: {vocab: {'[PAD]': 0}}}))
  assert.equal((await plan({path: tok, category: 'text_classification'})).rows, 2)
  const fut = dir('fut', {'d.csv': 'timestamp,value\n2024-01-01,1\n2999-01-01,2\n'})
  await rejects(plan({path: fut, category: 'time_series_forecasting', labelColumn: 'value'}), 3, /in the future: line 3: "2999-01-01"/)
  const rag = dir('rag', {'d.csv': 'a,label\n1,x\n2,y,extra\n'})
  await rejects(plan({path: rag, category: 'tabular_classification'}), 3, /1 row\(s\) .* more fields than the header's 2: line 3 \(3 fields\)/)
  const tsc = dir('tsc', {'d.csv': 'sequence_id,timestamp,v,label\ns1,1,0.5,a\ns1,2,0.7,a\ns2,1,0.1,b\n'})
  const p = await plan({path: tsc, category: 'time_series_classification'})
  assert.equal(p.details.sequences, 2)
  assert.deepEqual(p.config.schema, {sequence_id: 'VARCHAR(2)', timestamp: 'INT', v: 'FLOAT', label: 'VARCHAR(1)'})
})

test('layout: symlinks are refused, two CSVs need a labels.csv, hidden files and sub-folders are not staged', async () => {
  const d = path.join(tmp, 'lay')
  cpSync(S + 'image_classification/data', d, {recursive: true})
  writeFileSync(path.join(d, 'images/.DS_Store'), 'x')
  mkdirSync(path.join(d, 'images/sub'))
  writeFileSync(path.join(d, 'other.csv'), 'a\n')
  await rejects(plan({path: d, category: 'image_classification'}), 3, /2 CSV files .*labels_file_sample\.csv, other\.csv.*labels\.csv/)
  rmSync(path.join(d, 'other.csv'))
  const ok = await plan({path: d, category: 'image_classification'})
  assert.equal(ok.files.length, 7)
  assert.match(ok.warnings.join('\n'), /skipped 1 entry in images\/.*sub\//)
  const {symlinkSync} = await import('node:fs')
  symlinkSync('/etc/passwd', path.join(d, 'images/evil.jpeg'))
  await rejects(plan({path: d, category: 'image_classification'}), 3, /symbolic link.*evil\.jpeg/)
})
