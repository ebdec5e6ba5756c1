// Every category's sample dataset goes through the whole pipeline against the sandbox, whose ingestor
// emulation runs that category's validators on the staged files.
import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {startSandbox} from '../sandbox/index.js'
import {runCli, SAMPLES} from './push-cli.js'

type Sandbox = Awaited<ReturnType<typeof startSandbox>>
let sb: Sandbox

before(async () => {
  sb = await startSandbox()
})
after(async () => {
  await sb?.stop()
})

const CASES: Array<[category: string, path: string, flags: string[], rows: number]> = [
  ['object_detection', 'object_detection/data', ['--label-column', 'image_label'], 128],
  ['keypoint_detection', 'keypoint_detection/data', ['--label-column', 'image_label', '--number-of-keypoints', '9'], 3],
  ['semantic_segmentation', 'semantic_segmentation/semantic_data', ['--label-column', 'image_label'], 3],
  ['text_classification', 'text_classification/data', [], 5],
  ['token_classification', 'token_classification/data', [], 3],
  ['masked_language_modeling', 'masked_language_modeling/data', [], 5],
  ['tabular_classification', 'tabular_classification/tabular_classification_sample_in_csv_format.csv', [], 8],
  ['tabular_regression', 'tabular_regression/tabular_regression_sample_in_csv_format.csv', ['--label-column', 'price'], 8],
  // lag_1 / moving_avg_7 have empty cells: the inferred schema leaves them out, as the ingestor requires
  ['time_series_forecasting', 'time_series_forecasting/time_series_forecasting_sample_in_csv_format.csv', ['--label-column', 'value'], 31],
  ['time_to_event_prediction', 'time_to_event_prediction/time_to_event_prediction_sample_in_csv_format.csv', ['--label-column', 'DEATH_EVENT'], 30],
]

for (const [category, rel, flags, rows] of CASES) {
  test(`${category}: the sample ingests end to end (${rows} rows)`, async () => {
    const r = await runCli(['dataset', 'push', `${SAMPLES}/${rel}`, '--table', `t_${category}`, '--category', category, ...flags, '--kubeconfig', sb.kubeconfigPath, '--json'], {
      env: {TRACEBLOC_STAGE_POD_TIMEOUT: '20', TRACEBLOC_POD_START_TIMEOUT: '20'},
    })
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(r.json.status, 'succeeded')
    assert.equal(r.json.category, category)
    assert.equal(r.json.summary.total_records, rows)
    assert.equal(r.json.summary.inserted_records, rows)
  })
}

test('without --category, data that leaves several tasks fails off a TTY listing them (exit 3: a prompt would be needed)', async () => {
  const r = await runCli(['dataset', 'push', `${SAMPLES}/tabular_regression/tabular_regression_sample_in_csv_format.csv`, '--table', 't_detect', '--kubeconfig', sb.kubeconfigPath, '--json'])
  assert.equal(r.code, 3)
  assert.equal(r.json.reason, 'category_required')
  assert.match(r.json.error, /tabular_classification, tabular_regression, time_series_forecasting/)
})
