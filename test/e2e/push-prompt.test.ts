// `dataset push` without --category on a terminal asks for the task when the data leaves several
// (a lone CSV: any tabular task), and asks nothing when it leaves one (images/ and a CSV). Driven
// through a real pseudo-terminal (python3's pty module) against the built CLI; no cluster is involved:
// KUBECONFIG points nowhere, so the dry run shows only the local half of its plan.
import assert from 'node:assert/strict'
import path from 'node:path'
import {before, test} from 'node:test'

import {assertBuilt, root} from './cli.js'
import {cliOnPty, hasPty} from './pty.js'

const tabular = path.join(root, 'test/fixtures/reference/samples/tabular_regression/tabular_regression_sample_in_csv_format.csv')
const images = path.join(root, 'test/fixtures/reference/samples/image_classification/data')

async function pushOnPty(answers: string[], sample = tabular, extra = ['--label-column', 'price']): Promise<{shown: string[]; all: string; code: number}> {
  // no cluster: KUBECONFIG points nowhere
  const r = await cliOnPty(['dataset', 'push', sample, '--table', 'prompt_test', '--dry-run', ...extra], {env: {KUBECONFIG: '/nonexistent/kubeconfig'}, prompt: 'Task [', answers})
  return {shown: r.shown, all: r.screen, code: r.code}
}

before(assertBuilt)

test('no --category on a terminal: the tabular tasks are offered before the task list, a bad answer is asked again, the pick is validated', {skip: hasPty ? false : 'python3 with pty is not installed'}, async () => {
  const r = await pushOnPty(['9', '2'])
  assert.equal(r.shown.length, 2, `the prompt never appeared on the terminal:\n${r.all}`)
  const first = r.shown[0]!
  // the question is on screen before anything is answered, and before the live task list starts
  assert.match(first, /This looks like tabular data \(.*\)\. Which task is it for\?/)
  assert.match(first, /1\) tabular_classification — predict a class from table columns/)
  assert.match(first, /5\) time_to_event_prediction/)
  assert.match(first, /Task \[1-5\]: $/)
  assert.doesNotMatch(first, /Validate the dataset locally/)
  assert.match(r.shown[1]!, /Please answer with a number from 1 to 5\./)
  // the validate step used the chosen category; with no cluster the dry run shows the local plan and why
  assert.match(r.all, /Validated 8 rows, 1 files \(.*\) as tabular_regression/)
  assert.match(r.all, /loading kubeconfig/)
  assert.equal(r.code, 0)
})

test('no --category on a terminal, data that leaves one task: no question, the detected category is named', {skip: hasPty ? false : 'python3 with pty is not installed'}, async () => {
  const r = await pushOnPty([], images, ['--label-column', 'label'])
  assert.doesNotMatch(r.all, /Which task is it for/)
  assert.match(r.all, /as image_classification \(detected: images\/ and a CSV/)
  assert.match(r.all, /loading kubeconfig/)
})
