// The rate and ETA a push shows (staging/rate.ts), on an injected clock: acknowledged bytes only, averaged
// over a window so steps of one batch do not swing it, and no ETA until it means something.
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {AckedRate, ETA_AFTER_SECONDS, RATE_WINDOW_SECONDS} from '../../src/lib/staging/rate.js'

const MiB = 1 << 20

function clock() {
  let t = 1_000_000
  return {now: () => t, advance: (s: number) => (t += s * 1000)}
}

test('no ETA before two acknowledgements and ETA_AFTER_SECONDS of sending: "measuring", not a guess', () => {
  const c = clock()
  const r = new AckedRate(c.now)
  assert.equal(r.etaSeconds(100 * MiB), undefined)
  c.advance(1)
  r.ack(4 * MiB)
  assert.equal(r.etaSeconds(96 * MiB), undefined, 'one acknowledgement')
  c.advance(1)
  r.ack(8 * MiB)
  assert.equal(r.etaSeconds(92 * MiB), undefined, `only 2 s of ${ETA_AFTER_SECONDS}`)
  c.advance(1)
  r.ack(12 * MiB)
  assert.equal(r.etaSeconds(88 * MiB), 22, '4 MiB/s: 88 MiB in 22 s')
  c.advance(1)
  assert.equal(r.etaSeconds(88 * MiB), 21, 'counts down between acknowledgements')
  assert.equal(r.etaSeconds(0), 0)
})

test('steps of one batch each average out over the window; the rate is that of acknowledged bytes', () => {
  const c = clock()
  const r = new AckedRate(c.now)
  // 4 MiB/s, acknowledged in 8 MiB steps every 2 s, sampled every 0.5 s as the progress line is
  const rates: number[] = []
  for (let i = 1; i <= 40; i++) {
    c.advance(0.5)
    if (i % 4 === 0) r.ack((i / 4) * 8 * MiB)
    if (i * 0.5 > RATE_WINDOW_SECONDS) rates.push(r.bytesPerSecond() / MiB)
  }
  for (const x of rates) assert.ok(x > 3.4 && x < 4.6, `rate ${x.toFixed(2)} MiB/s swings off 4 MiB/s`)
})

test('a stall shows: nothing acknowledged for a window brings the rate down and the ETA up', () => {
  const c = clock()
  const r = new AckedRate(c.now)
  for (let i = 1; i <= 10; i++) {
    c.advance(1)
    r.ack(i * 4 * MiB)
  }
  const before = r.etaSeconds(40 * MiB)!
  c.advance(RATE_WINDOW_SECONDS * 0.75)
  assert.ok(r.bytesPerSecond() <= (4 * MiB) / 2 + 1, 'the rate falls while nothing arrives')
  assert.ok(r.etaSeconds(40 * MiB)! > before, 'the ETA grows')
  c.advance(RATE_WINDOW_SECONDS)
  assert.equal(r.bytesPerSecond(), 0)
  assert.equal(r.etaSeconds(40 * MiB), undefined, 'no rate, no ETA')
})

test('counts never go back: a lower total (a retried batch) is ignored', () => {
  const c = clock()
  const r = new AckedRate(c.now)
  c.advance(1)
  r.ack(10)
  r.ack(5)
  assert.equal(r.bytes, 10)
})
