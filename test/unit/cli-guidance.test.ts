// The pure logic behind the CLI's guidance: command suggestions, the table-name suggestion, category
// detection from the bundled samples on disk, the ingestor log view, the sent-files count, and the
// Node version bin/run.js requires.
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {test} from 'node:test'

import {suggestCommands} from '../../src/lib/command/not-found.js'
import {editDistance} from '../../src/lib/output/edit-distance.js'
import {detectCategories, parseCsvHead} from '../../src/lib/local/detect.js'
import {checkTableName, suggestTableName} from '../../src/lib/local/index.js'
import {TABLE_NAME_MAX, TABLE_NAME_RE} from '../../src/lib/schema/index.js'
import {filesWithin} from '../../src/lib/staging/stage-files.js'
import {LogView} from '../../src/lib/watch/log-view.js'

const root = path.resolve(import.meta.dirname, '../..')
const samples = path.join(root, 'test/fixtures/reference/samples')
const COMMANDS = ['dataset push', 'ingest validate', 'cluster info', 'version', 'login', 'autocomplete', 'autocomplete fish', 'dataset', 'ingest', 'cluster']

test('command suggestions: typos and swapped letters find the command; nothing close, nothing suggested', () => {
  assert.equal(editDistance('psuh', 'push'), 1)
  assert.deepEqual(suggestCommands(['dataset', 'psh'], COMMANDS.filter((c) => c.split(' ').length > 1)), ['dataset push'])
  assert.equal(suggestCommands(['datset', 'push', './x'], COMMANDS)[0], 'dataset push')
  assert.deepEqual(suggestCommands(['clster'], COMMANDS), ['cluster'])
  assert.deepEqual(suggestCommands(['verison'], COMMANDS), ['version'])
  assert.deepEqual(suggestCommands(['xyzzy'], COMMANDS), [])
})

test('table names: one rule (the ingestor\'s), and every suggestion passes it', () => {
  for (const bad of ['1cats', '_cats', 'my-data', 'cats dogs', 'cats.v2', '__1', '-', '9', 'ü', 'x'.repeat(40) + '-' + 'y'.repeat(40)]) {
    assert.throws(() => checkTableName(bad), (e: Error & {exitCode?: number}) => e.exitCode === 2, bad)
    const s = suggestTableName(bad)
    assert.match(s, TABLE_NAME_RE, `${bad} → ${s}`)
    assert.ok(s.length <= TABLE_NAME_MAX)
    assert.doesNotThrow(() => checkTableName(s), `${bad} → ${s}`)
  }
  assert.equal(suggestTableName('1cats'), 't_1cats')
  assert.equal(suggestTableName('my-data'), 'my_data')
  assert.doesNotThrow(() => checkTableName('Cats_2'))
  assert.throws(() => checkTableName('a'.repeat(TABLE_NAME_MAX + 1)), /max is 63/)
})

test('category detection on the bundled samples: one task where the files decide, every candidate where they cannot', async () => {
  const one = async (p: string) => (await detectCategories(path.join(samples, p))).candidates
  assert.deepEqual(await one('image_classification/data'), ['image_classification'])
  assert.deepEqual(await one('object_detection/data'), ['object_detection'])
  assert.deepEqual(await one('semantic_segmentation/semantic_data'), ['semantic_segmentation'])
  assert.deepEqual(await one('keypoint_detection/data'), ['keypoint_detection'])
  assert.deepEqual(await one('masked_language_modeling/data'), ['masked_language_modeling'])
  assert.deepEqual(await one('token_classification/data'), ['token_classification'])
  assert.deepEqual(await one('text_classification/data'), ['text_classification'])
  const tab = await detectCategories(path.join(samples, 'tabular_regression/tabular_regression_sample_in_csv_format.csv'))
  assert.deepEqual(tab.families, ['tabular'])
  assert.ok(tab.candidates.length > 1 && tab.candidates.includes('tabular_regression') && tab.candidates.includes('tabular_classification'))
})

test('category detection: tab-separated texts leave text vs sentence-pair classification open; sequence_id+timestamp is time-series classification', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'detect-'))
  try {
    mkdirSync(path.join(dir, 'texts'))
    writeFileSync(path.join(dir, 'labels.csv'), 'filename,label\na,yes\nb,no\n')
    writeFileSync(path.join(dir, 'texts/a.txt'), 'first sentence\tsecond sentence\n')
    writeFileSync(path.join(dir, 'texts/b.txt'), 'x\ty\n')
    assert.deepEqual((await detectCategories(dir)).candidates, ['text_classification', 'sentence_pair_classification'])
    const csv = path.join(dir, 'series.csv')
    writeFileSync(csv, 'sequence_id,timestamp,value,label\n1,2024-01-01,3,a\n')
    assert.deepEqual((await detectCategories(csv)).candidates, ['time_series_classification'])
    assert.deepEqual((await detectCategories(path.join(dir, 'texts'))).families, [])
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test('parseCsvHead: quoted fields with commas, doubled quotes and CRLF; a cut last line is left out', () => {
  assert.deepEqual(parseCsvHead('\uFEFFa,"b,c","say ""hi"""\r\n1,2,3\r\n4,5'), [['a', 'b,c', 'say "hi"'], ['1', '2', '3']])
})

test('LogView on a terminal: the progress bar is one line replaced in place, kept once other lines follow', () => {
  const frames: string[] = []
  const v = new LogView((t) => frames.push(t), true)
  v.push('All validations passed successfully')
  for (const p of [0, 50, 100]) v.push(`Ingesting records: ${String(p).padStart(3)}%|#####     | ${p}/100 [00:00]`)
  assert.equal(frames.at(-1), 'All validations passed successfully\nIngesting records: 100%|#####     | 100/100 [00:00]')
  v.push('INGESTION SUMMARY')
  assert.equal(frames.at(-1)!.split('\n').filter((l) => l.includes('Ingesting records')).length, 1)
  assert.match(frames.at(-1)!, /100\/100 \[00:00\]\nINGESTION SUMMARY$/)
})

test('LogView off a terminal: every line once, a progress line only when its percentage changes', () => {
  const lines: string[] = []
  const v = new LogView((t) => lines.push(t), false)
  for (const p of [0, 0, 8, 8, 8, 16]) v.push(`Ingesting records: ${String(p).padStart(3)}%|          | ${p}/576 [00:0${p % 3}]`)
  v.push('done')
  v.push('done')
  assert.deepEqual(lines.map((l) => l.slice(0, 23)), ['Ingesting records:   0%', 'Ingesting records:   8%', 'Ingesting records:  16%', 'done', 'done'])
})

test('filesWithin: the files of a batch whose bytes have all been sent', () => {
  const files = [{size: 10}, {size: 0}, {size: 5}, {size: 20}]
  assert.equal(filesWithin(files, 0), 0)
  assert.equal(filesWithin(files, 10), 2)
  assert.equal(filesWithin(files, 14), 2)
  assert.equal(filesWithin(files, 15), 3)
  assert.equal(filesWithin(files, 35), 4)
})

test('bin/run.js requires the Node of package.json engines', () => {
  const engines = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).engines.node as string
  const guard = /const REQUIRED_NODE = \[(\d+), (\d+), (\d+)\]/.exec(readFileSync(path.join(root, 'bin/run.js'), 'utf8'))
  assert.ok(guard, 'REQUIRED_NODE in bin/run.js')
  assert.equal(`>=${guard.slice(1).join('.')}`, engines)
})
