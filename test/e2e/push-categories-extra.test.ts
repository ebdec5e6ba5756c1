// The categories without a bundled sample, each pushed end to end through the sandbox (whose ingestor
// emulation runs that category's validators): small datasets built here in the documented layouts,
// tab-separated text records under texts/ with a filename,extension CSV, and a timestep CSV with
// sequence_id and timestamp columns.
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {runCli, sandboxPerFile} from './push-cli.js'

const sandbox = sandboxPerFile()
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tb-categories-'))
after(() => rmSync(tmp, {recursive: true, force: true}))

/** texts/<name>.txt holding one record each, and a CSV naming them (with a label column when given). */
function textDataset(name: string, records: string[], labels?: string[]): string {
  const dir = path.join(tmp, name)
  mkdirSync(path.join(dir, 'texts'), {recursive: true})
  const rows = [labels ? 'filename,extension,label' : 'filename,extension']
  records.forEach((r, i) => {
    const f = `rec${String(i + 1).padStart(3, '0')}`
    writeFileSync(path.join(dir, 'texts', `${f}.txt`), r + '\n')
    rows.push(labels ? `${f},'.txt',${labels[i]}` : `${f},'.txt'`)
  })
  writeFileSync(path.join(dir, 'labels.csv'), rows.join('\n') + '\n')
  return dir
}

function timeSeriesCsv(): string {
  const rows = ['sequence_id,timestamp,accel_x,accel_y,label']
  for (let s = 1; s <= 4; s++) {
    for (let t = 0; t < 5; t++) rows.push(`${s},2024-01-0${1 + t} 00:00:00,${(s * 0.1 + t * 0.01).toFixed(2)},${(t * 0.2).toFixed(1)},${s % 2 ? 'walking' : 'running'}`)
  }
  const f = path.join(tmp, 'series.csv')
  writeFileSync(f, rows.join('\n') + '\n')
  return f
}

const CASES: Array<[category: string, data: () => string, rows: number]> = [
  ['sentence_pair_classification', () => textDataset('pairs', ['A man plays a guitar.\tSomeone is making music.', 'A dog runs in a park.\tA cat sleeps indoors.', 'The sun is up.\tIt is daytime.'], ['entailment', 'contradiction', 'entailment']), 3],
  ['causal_language_modeling', () => textDataset('causal', ['Once upon a time there was a small village by the sea.', 'Question: what is two plus two?\tAnswer: four.', 'The quick brown fox jumps over the lazy dog.']), 3],
  ['seq2seq', () => textDataset('seq2seq', ['Good morning.\tGuten Morgen.', 'Thank you very much.\tVielen Dank.', 'Where is the station?\tWo ist der Bahnhof?']), 3],
  ['embeddings', () => textDataset('embeddings', ['How do I reset my password?\tSteps to change a forgotten password.', 'Best pizza in town\tA review of local pizzerias.\tInstructions for fixing a bicycle.', 'Weather tomorrow\tForecast for the next day.']), 3],
  ['time_series_classification', timeSeriesCsv, 20],
]

for (const [category, data, rows] of CASES) {
  test(`${category}: a small dataset in its layout is pushed, ingested and counted`, async () => {
    const sb = sandbox()
    const table = `extra_${category}`
    const r = await runCli(['dataset', 'push', data(), '--table', table, '--category', category, '--kubeconfig', sb.kubeconfigPath, '--json'], {env: {TRACEBLOC_STAGE_POD_TIMEOUT: '20'}, timeoutMs: 180_000})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(r.json.summary?.inserted_records ?? r.json.summary?.insertedRecords, rows, JSON.stringify(r.json.summary))
    assert.equal(Number((await sb.mysql.query(`SELECT COUNT(*) FROM training_test_datasets.\`${table}\``)).trim()), rows)
  })
}
