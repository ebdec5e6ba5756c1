// --bwlimit: the rate parser (flag and profile), the shared token bucket on a virtual clock (bytes let through
// over t seconds stay within burst + cap × t, streams share it equally, a stream that asks less leaves its
// share to the others), and the stream governor under a cap (it never adds streams to fight the cap).
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {checkValue, settingKey} from '../../src/lib/config/keys.js'
import {parseRate, RATE_FORMS} from '../../src/lib/output/rate.js'
import {type BucketClock, BURST_SECONDS, throttled, TokenBucket} from '../../src/lib/staging/bandwidth.js'
import {type RateCap, StreamGovernor} from '../../src/lib/staging/parallelism.js'

const KiB = 1024
const MiB = 1024 * 1024

test('rates: byte and bit units, decimals, /s, off; anything else names the accepted forms', () => {
  const ok: Array<[string, number]> = [
    ['8MiB', 8 * MiB],
    ['500KiB', 500 * KiB],
    ['1GiB', 1024 * MiB],
    ['2KB', 2000],
    ['1.5MB', 1_500_000],
    ['3GB', 3e9],
    ['4096B', 4096],
    ['50Mbit', 6_250_000],
    ['81920bit', 10 * KiB],
    ['100Kbit', 12_500],
    ['1Gbit', 125_000_000],
    ['8 MiB/s', 8 * MiB],
    ['8mib', 8 * MiB],
    ['50mbit', 6_250_000],
  ]
  for (const [text, want] of ok) assert.deepEqual(parseRate(text), {bytesPerSecond: want}, text)
  for (const off of ['off', 'OFF', '0', '0.0']) assert.deepEqual(parseRate(off), {}, off)
  for (const bad of ['', 'fast', '8', '8M', '8Mb', '8kb', '-1MiB', '8 MiB per second', '1e6B', 'MiB', '8TiB']) {
    const {bytesPerSecond, problem} = parseRate(bad)
    assert.equal(bytesPerSecond, undefined, bad)
    assert.ok(problem?.includes(RATE_FORMS), `${bad}: ${problem}`)
  }
  assert.match(parseRate('100B').problem!, /below the lowest cap, 1 KiB\/s/)
})

test('a profile may hold bwlimit; a value that is not a rate is refused with the accepted forms', () => {
  const key = settingKey('bwlimit')
  assert.deepEqual(checkValue(key, '8MiB'), {value: '8MiB'})
  assert.deepEqual(checkValue(key, 'off'), {value: 'off'})
  const {problem} = checkValue(key, 'fast')
  assert.match(problem!, /^bwlimit: "fast" is not a rate; use .*8MiB.*50Mbit/)
})

/** Virtual time: sleepers wake in time order, each after everything already runnable has run. */
class VirtualClock implements BucketClock {
  t = 0
  private sleepers: Array<{at: number; wake: () => void}> = []
  now = () => this.t
  sleep = (ms: number) => new Promise<void>((wake) => this.sleepers.push({at: this.t + ms, wake}))
  /** Run until every task is done. */
  async run(tasks: Array<Promise<void>>): Promise<void> {
    let done = false
    void Promise.all(tasks).then(() => (done = true))
    for (;;) {
      await new Promise((r) => setImmediate(r))
      if (done) return
      if (this.sleepers.length === 0) continue
      this.sleepers.sort((a, b) => a.at - b.at)
      const s = this.sleepers.shift()!
      this.t = Math.max(this.t, s.at)
      s.wake()
    }
  }
}

async function* endless(chunk: number): AsyncGenerator<Buffer> {
  const b = Buffer.alloc(chunk)
  for (;;) yield b
}

/** `streams` readers of one bucket for `seconds` of virtual time; `pause(i)` ms each reader idles between pieces. */
async function share(rate: number, streams: number, seconds: number, pause: (i: number) => number = () => 0) {
  const clock = new VirtualClock()
  const bucket = new TokenBucket(rate, {clock})
  const log: Array<{t: number; total: number}> = []
  const per = Array.from({length: streams}, () => 0)
  let total = 0
  const reader = async (i: number) => {
    // chunks larger than the quantum (1 MiB reads, 256 KiB gzip pieces) are split
    for await (const piece of throttled(endless(1 * MiB), bucket)) {
      per[i] += piece.length
      total += piece.length
      log.push({t: clock.t, total})
      if (clock.t >= seconds * 1000) return
      if (pause(i) > 0) await clock.sleep(pause(i))
    }
  }
  await clock.run(Array.from({length: streams}, (_, i) => reader(i)))
  return {bucket, log, per, total, end: clock.t}
}

test('the bucket lets through at most burst + cap × t over any t, and the whole cap over time', async () => {
  for (const rate of [500 * KiB, 4 * MiB, 16 * MiB]) {
    const {bucket, log, total, end} = await share(rate, 4, 10)
    const burst = Math.max(bucket.quantum, rate * BURST_SECONDS)
    for (const {t, total: sent} of log) assert.ok(sent <= burst + (rate * t) / 1000 + 1, `${rate}: ${sent} bytes by ${t} ms`)
    // and it does not hold back more than a piece per stream
    assert.ok(total >= (rate * end) / 1000 - 4 * bucket.quantum, `${rate}: ${total} in ${end} ms`)
    assert.equal(bucket.granted, total)
  }
})

test('streams share the cap equally; a stream that asks less leaves its share to the others', async () => {
  const even = await share(8 * MiB, 3, 5)
  const q = new TokenBucket(8 * MiB).quantum
  assert.ok(Math.max(...even.per) - Math.min(...even.per) <= q, even.per.join(' '))

  // stream 0 idles 100 ms after each piece: the other two take the rest of the cap
  const uneven = await share(8 * MiB, 3, 5, (i) => (i === 0 ? 100 : 0))
  assert.ok(uneven.per[0]! <= (uneven.end / 100 + 1) * q, uneven.per.join(' '))
  assert.ok(Math.abs(uneven.per[1]! - uneven.per[2]!) <= q, uneven.per.join(' '))
  assert.ok(uneven.total >= (8 * MiB * uneven.end) / 1000 - 3 * q, `${uneven.total} in ${uneven.end} ms`)
})

/** A governor on a link carrying linkRate(streams) bytes/s, under `cap`, in 100 ms steps; the highest count it tried. */
function underCap(linkRate: (streams: number) => number, capBps: number) {
  let t = 0
  const cap: RateCap & {granted: number} = {bytesPerSecond: capBps, granted: 0}
  const g = new StreamGovernor({start: 2, max: 8, cap}, () => t)
  let most = g.limit
  for (let i = 0; i < 600; i++) {
    t += 100
    const bytes = Math.min(linkRate(g.limit), capBps) / 10
    cap.granted += bytes
    g.add(bytes)
    most = Math.max(most, g.limit)
  }
  return {g, most}
}

test('under a cap the governor settles where the aggregate reaches it and never adds streams to fight it', () => {
  // a link faster than the cap from the start: two streams already carry the cap, so it stays at two
  const fast = underCap((n) => n * 25 * MiB, 8 * MiB)
  assert.equal(fast.most, 2)
  assert.equal(fast.g.limit, 2)
  assert.ok(fast.g.decided)
  assert.deepEqual(fast.g.steps.map((s) => s.streams), [2])
  // 2 MiB/s per connection under a 6 MiB/s cap: four streams reach it, then no more are added
  const wan = underCap((n) => n * 2 * MiB, 6 * MiB)
  assert.deepEqual(wan.g.steps.map((s) => s.streams), [2, 4])
  assert.equal(wan.most, 4)
  assert.equal(wan.g.limit, 4)
  // a cap far above the link changes nothing: the measured doubling as without one
  const high = underCap((n) => Math.min(n * 25, 120) * MiB, 1024 * MiB)
  assert.deepEqual(high.g.steps.map((s) => s.streams), [2, 4, 8])
})
