// --sample's allocation (every stratum kept, each within one record of its share), its flag grammar and
// the full-push command shown after a sample.
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {allocate, parseSampleFlag} from '../../src/lib/local/sample.js'
import {fullPushCommand} from '../../src/lib/pipeline/plan.js'

test('allocate: sums to n, every stratum kept, each within one record of n × share', () => {
  for (const [sizes, n] of [[[40, 25, 5], 20], [[1000, 3, 1], 10], [[7, 7, 7], 5], [[50, 50], 99], [[9, 1], 3]] as Array<[number[], number]>) {
    const got = allocate(sizes, n)
    const total = sizes.reduce((a, b) => a + b, 0)
    assert.ok(got.every((g) => g >= 1), `${sizes}: every stratum kept (${got})`)
    // over n only by the strata rarer than one record that are kept anyway
    const rare = sizes.filter((s) => (n * s) / total < 1).length
    const sum = got.reduce((a, b) => a + b, 0)
    assert.ok(sum >= n && sum <= n + rare, `${sizes}: ${got}`)
    got.forEach((g, i) => assert.ok(Math.abs(g - (n * sizes[i]!) / total) < 1, `${sizes} → ${got}`))
  }
  assert.deepEqual(allocate([3, 2], 10), [3, 2])
})

test('parseSampleFlag: N or P%, anything else exit 2', () => {
  assert.deepEqual(parseSampleFlag('500'), {count: 500})
  assert.deepEqual(parseSampleFlag('2.5%'), {percent: 2.5})
  for (const bad of ['0', '0%', '101%', '-3', 'ten', '5 %']) assert.throws(() => parseSampleFlag(bad), (e: {exitCode?: number}) => e.exitCode === 2, bad)
})

test('fullPushCommand: drops --sample/--seed/--dry-run, the table loses _sample or gains --overwrite', () => {
  assert.equal(fullPushCommand('tracebloc dataset push', ['./d', '--table', 'cats_sample', '--sample=5%', '--seed', '3', '--dry-run'], 'cats_sample'), 'tracebloc dataset push ./d --table cats')
  assert.equal(fullPushCommand('tracebloc dataset push', ['./my data', '--name=cats', '--sample', '10'], 'cats'), "tracebloc dataset push './my data' --table cats --overwrite")
})
