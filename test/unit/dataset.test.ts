import assert from 'node:assert/strict'
import {cpSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {CATEGORIES, flagAppliesTo, parseSchemaFlag, parseSize, planDataset} from '../../src/lib/local/index.js'
import {CliError} from '../../src/lib/output/errors.js'
import {loadIngestYaml, validateIngestConfig} from '../../src/lib/schema/index.js'

const SAMPLES = 'test/fixtures/reference/samples'
const CATS = path.join(SAMPLES, 'image_classification/data')
const tmp = mkdtempSync(path.join(tmpdir(), 'tb-dataset-'))
after(() => rmSync(tmp, {recursive: true, force: true}))

async function rejects(p: Promise<unknown>, exitCode: number, re: RegExp): Promise<CliError> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof CliError, String(err))
    assert.equal(err.exitCode, exitCode, err.message)
    assert.match(err.message, re)
    return err
  }
  assert.fail('expected a rejection')
}

test('cats/dogs sample: 576 rows, staged as labels.csv + images/*.jpeg, config per docs/protocol.md#config-synthesis', async () => {
  const plan = await planDataset({path: CATS, table: 'cats_dogs', category: 'image_classification', labelColumn: 'label'})
  const P = '/data/shared/.tracebloc-staging/cats_dogs'
  assert.equal(plan.rows, 576)
  assert.equal(plan.stagingPrefix, P)
  assert.deepEqual(plan.config, {
    apiVersion: 'tracebloc.io/v1', kind: 'IngestConfig', category: 'image_classification', table: 'cats_dogs', intent: 'train',
    csv: `${P}/labels.csv`, images: `${P}/images/`, label: 'label',
    spec: {file_options: {extension: '.jpeg', target_size: [256, 256]}},
  })
  assert.deepEqual(plan.files.map((f) => f.stagedPath), ['labels.csv', ...['cat1', 'cat2', 'cat3', 'dog1', 'dog2', 'dog3'].map((n) => `images/${n}.jpeg`)])
  assert.equal(plan.totalBytes, plan.files.reduce((s, f) => s + f.size, 0))
  assert.deepEqual(plan.details.labels, {cat: 288, dog: 288})
  // the YAML round-trips to the same config and is valid for the ingestor
  assert.deepEqual(loadIngestYaml(plan.configYaml).value, plan.config)
  assert.deepEqual(validateIngestConfig(plan.config), [])
})

test('the label column defaults to "label"; --target-size is honoured and checked against the images', async () => {
  const plan = await planDataset({path: CATS, table: 't', category: 'image_classification'})
  assert.equal(plan.config.label, 'label')
  await rejects(planDataset({path: CATS, table: 't', category: 'image_classification', targetSize: [128, 256]}), 3, /6 file\(s\) in images\/ don't match the 128×256 resolution: cat1\.jpeg \(256×256\).* … and 1 more/)
})

test('bad input is exit 2: table name, unknown category, misapplied flags, missing label column', async () => {
  await rejects(planDataset({path: CATS, table: 'my-table', category: 'image_classification'}), 2, /no hyphens/)
  await rejects(planDataset({path: CATS, table: 'x'.repeat(64), category: 'image_classification'}), 2, /64 characters/)
  await rejects(planDataset({path: CATS, table: 't', category: 'image_clf'}), 2, /isn't a recognized category/)
  await rejects(planDataset({path: CATS, table: 't', category: 'image_classification', schema: {a: 'INT'}}), 2, /--schema doesn't apply to image_classification/)
  await rejects(planDataset({path: CATS, table: 't', category: 'image_classification', labelColumn: 'species'}), 2, /label column "species" \(--label-column\) not found in "labels_file_sample.csv" \(columns: filename, label\)/)
  await rejects(planDataset({path: CATS, table: 't', category: 'keypoint_detection'}), 2, /--number-of-keypoints/)
})

test('environment and layout problems are exit 3', async () => {
  await rejects(planDataset({path: path.join(tmp, 'nope'), table: 't', category: 'image_classification'}), 3, /no such file or directory/)
  const d = path.join(tmp, 'noimages')
  cpSync(CATS, d, {recursive: true})
  rmSync(path.join(d, 'images'), {recursive: true})
  await rejects(planDataset({path: d, table: 't', category: 'image_classification'}), 3, /missing images\/ folder/)
})

test('category detection: images/ and a CSV with nothing else leave one task, named as detected', async () => {
  const detected: string[] = []
  const plan = await planDataset({path: CATS, table: 't', onDetected: (c, why) => detected.push(`${c}: ${why}`)})
  assert.equal(plan.category, 'image_classification')
  assert.deepEqual(detected, ['image_classification: images/ and a CSV, without annotations/, masks/ or keypoint columns'])
})

test('a category that does not fit the data is exit 2 (an image folder with a tabular task, a CSV file with an image task)', async () => {
  await rejects(planDataset({path: CATS, table: 't', category: 'tabular_classification'}), 2, /holds image data \(images\/ next to the CSV\), but tabular_classification is a tabular task/)
  await rejects(planDataset({path: path.join(CATS, 'labels_file_sample.csv'), table: 't', category: 'image_classification'}), 2, /holds tabular data .* but image_classification is an image task/)
})

test('registry: the 16 categories of the schema enum; task-scoped flags', async () => {
  const {readFileSync} = await import('node:fs')
  const schema = JSON.parse(readFileSync('schema/ingest.v1.json', 'utf8')) as {properties: {category: {enum: string[]}}}
  assert.deepEqual([...CATEGORIES].sort(), [...schema.properties.category.enum].sort())
  const layout = JSON.parse(readFileSync('test/fixtures/reference/schema/layout.v1.json', 'utf8')) as {tasks: Record<string, unknown>}
  assert.deepEqual([...CATEGORIES].sort(), Object.keys(layout.tasks).sort())
  assert.ok(flagAppliesTo('--target-size', 'object_detection'))
  assert.ok(!flagAppliesTo('--target-size', 'tabular_classification'))
  assert.ok(flagAppliesTo('labelPolicy', 'time_to_event_prediction'))
  assert.ok(!flagAppliesTo('labelPolicy', 'tabular_classification'))
  assert.ok(!flagAppliesTo('--label-column', 'seq2seq'))
  assert.ok(flagAppliesTo('--number-of-keypoints', 'keypoint_detection'))
})

test('flag parsers: WxH and col:TYPE with commas inside parentheses', () => {
  assert.deepEqual(parseSize('64x32'), [64, 32])
  assert.throws(() => parseSize('0x32'), /WxH/)
  assert.deepEqual(parseSchemaFlag('age:INT,price:DECIMAL(10,2),name:VARCHAR(20)'), {age: 'INT', price: 'DECIMAL(10,2)', name: 'VARCHAR(20)'})
  assert.throws(() => parseSchemaFlag('age'), /col:TYPE/)
})

test('a mixed-extension images/ folder and a missing image are reported together, five examples at most', async () => {
  const d = path.join(tmp, 'mixed')
  cpSync(CATS, d, {recursive: true})
  writeFileSync(path.join(d, 'labels_file_sample.csv'), 'filename,label\n' + Array.from({length: 8}, (_, i) => `ghost${i}.jpeg,${i % 2 ? 'cat' : 'dog'}`).join('\n') + '\ncat1.jpeg,cat\n')
  cpSync(path.join(d, 'images/cat1.jpeg'), path.join(d, 'images/extra.png'))
  const err = await rejects(planDataset({path: d, table: 't', category: 'image_classification'}), 3, /2 problems found/)
  assert.match(err.message, /mix file types \(\.jpeg ×6, \.png ×1\)/)
  assert.match(err.message, /8 row\(s\) .*"ghost0\.jpeg" \(line 2\), .*"ghost4\.jpeg" \(line 6\) … and 3 more/)
})
