// The one failure classifier `dataset push` and `dataset logs` (following or not) share.
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {classifyWatch, FailureLines} from '../../src/lib/watch/outcome.js'

test('failure lines: a header ending in ":" takes its cause from the next line; a new log record ends the block', () => {
  const f = new FailureLines()
  for (const l of [
    '2026-01-01 10:00:00 INFO starting',
    '\u001B[31mIngestion failed: Duplicate Validator Validator failed:\u001B[0m',
    'Image cat1.jpeg has resolution 255x256, expected 256x256',
    '  see the docs',
    '2026-01-01 10:00:01 INFO shutting down',
    'plain line',
  ]) f.push(l)
  assert.deepEqual(f.lines, ['Ingestion failed: Duplicate Validator Validator failed: Image cat1.jpeg has resolution 255x256, expected 256x256', '  see the docs'])
})

test('outcome: the cause line is quoted as the reason of a failed Job; a clean Complete is success', () => {
  const failed = classifyWatch({job: 'Failed', pods: ['p'], failureLines: ['Traceback (most recent call last):', 'Validator failed: bad label']})
  assert.equal(failed.status, 'failed')
  assert.equal(failed.exitCode, 9)
  assert.equal(failed.error, 'the ingestion Job failed: Validator failed: bad label')
  assert.deepEqual(classifyWatch({job: 'Complete', pods: ['p'], failureLines: []}), {status: 'succeeded', exitCode: 0})
  assert.equal(classifyWatch(undefined).reason, 'job_outcome_unknown')
})
