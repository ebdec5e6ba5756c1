// Parallel ranges of a large file: the file's sha256 in file order whatever order the ranges are read in
// (real files, real reads), and the stream count chosen by measured rates (virtual time).
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'
import {defaultRangeBytes, groupSize} from '../../src/lib/staging/large-file.js'
import {OrderedSha256} from '../../src/lib/staging/ordered-hash.js'
import {StreamGovernor, WINDOW_BYTES, WINDOW_MS} from '../../src/lib/staging/parallelism.js'
import {fileRange} from '../../src/lib/staging/tar.js'

const dir = mkdtempSync(path.join(tmpdir(), 'staging-parallel-'))
after(() => rmSync(dir, {recursive: true, force: true}))
const SIZE = (5 << 20) + 12345
const file = path.join(dir, 'big.bin')
const data = randomBytes(SIZE)
writeFileSync(file, data)
const fh = await open(file, 'r')
after(() => fh.close())
const ident = {localPath: file, size: SIZE}
const want = createHash('sha256').update(data).digest('hex')
const RANGE = 1 << 20
const ranges = Array.from({length: Math.ceil(SIZE / RANGE)}, (_, i) => ({offset: i * RANGE, length: Math.min(RANGE, SIZE - i * RANGE)}))

/** Read one range like a send does, in 64 KiB chunks, yielding to the event loop between chunks. */
async function readRange(h: OrderedSha256, r: {offset: number; length: number}, stopAfter = Infinity): Promise<void> {
  const reader = {}
  h.start(reader, r)
  let at = r.offset
  try {
    for await (const chunk of fileRange(fh, ident, r.offset, r.length, {buf: Buffer.allocUnsafe(64 << 10)})) {
      if (at - r.offset >= stopAfter) return // a cut attempt
      h.offer(reader, at, chunk)
      at += chunk.length
      await new Promise((resolve) => setImmediate(resolve))
    }
  } finally {
    h.end(reader)
  }
}

test('one stream: every byte is hashed from the send reads, none read back', async () => {
  const h = new OrderedSha256(fh, ident, SIZE)
  for (const r of ranges) await readRange(h, r)
  assert.equal(await h.digest(), want)
  assert.equal(h.reread, 0)
})

test('ranges read in parallel and out of order: the same sha256, gaps read back once', async () => {
  const h = new OrderedSha256(fh, ident, SIZE)
  // four at a time, the later ones of each group first
  for (let i = 0; i < ranges.length; i += 4) await Promise.all(ranges.slice(i, i + 4).reverse().map((r) => readRange(h, r)))
  assert.equal(await h.digest(), want)
  assert.ok(h.reread > 0 && h.reread < SIZE, `read back ${h.reread} of ${SIZE}`)
})

test('a cut attempt and its retry, with a later range already done: still the same sha256', async () => {
  const h = new OrderedSha256(fh, ident, SIZE)
  await readRange(h, ranges[1])
  await readRange(h, ranges[0], 200 << 10)
  await Promise.all([readRange(h, ranges[0]), readRange(h, ranges[2])])
  for (const r of ranges.slice(3)) await readRange(h, r)
  assert.equal(await h.digest(), want)
})

test('range size: a sixteenth of the file as a power of two, 32 MiB to 128 MiB', () => {
  assert.equal(defaultRangeBytes(20 << 20), 32 << 20)
  assert.equal(defaultRangeBytes(320 << 20), 32 << 20)
  assert.equal(defaultRangeBytes(700 << 20), 32 << 20)
  assert.equal(defaultRangeBytes(1280 << 20), 64 << 20)
  assert.equal(defaultRangeBytes(3 * 2 ** 30), 128 << 20)
  assert.equal(defaultRangeBytes(100 * 2 ** 30), 128 << 20)
})

/** Drive a governor with a link whose aggregate rate is rate(streams) bytes/s, in 100 ms steps. */
function settle(rate: (streams: number) => number, o: {start: number; max: number; pinned?: number}): StreamGovernor {
  let t = 0
  const g = new StreamGovernor(o, () => t)
  for (let i = 0; i < 600; i++) {
    t += 100
    g.add(rate(g.limit) / 10)
  }
  return g
}

test('the stream count doubles while the rate grows in proportion, adds one while it still grows, and steps back when it does not', () => {
  // a WAN: 25 MiB/s per connection until the client's CPU holds everything at 120 MiB/s
  const wan = settle((n) => Math.min(n * 25, 120) * 2 ** 20, {start: 2, max: 8})
  assert.deepEqual(wan.steps.map((s) => s.streams), [2, 4, 8])
  assert.equal(wan.limit, 8)
  // the CPU caps at 60 MiB/s: 4 streams still gain a little, 5 nothing, so it goes back to 4
  const capped = settle((n) => Math.min(n * 25, 60) * 2 ** 20, {start: 2, max: 8})
  assert.deepEqual(capped.steps.map((s) => s.streams), [2, 4, 5])
  assert.equal(capped.limit, 4)
  // a local link where two streams already saturate the CPU: it tries four, goes back to two
  const local = settle(() => 200 * 2 ** 20, {start: 2, max: 8})
  assert.deepEqual(local.steps.map((s) => s.streams), [2, 4])
  assert.equal(local.limit, 2)
  // every step is judged over a full window
  assert.ok(WINDOW_MS > 0 && WINDOW_BYTES > 0)
})

test('--parallel pins the stream count; the count never passes the maximum', () => {
  assert.equal(settle((n) => n * 25 * 2 ** 20, {start: 2, max: 8, pinned: 3}).limit, 3)
  assert.equal(settle((n) => n * 25 * 2 ** 20, {start: 2, max: 4}).limit, 4)
})

test('ranges share an exec only once the stream count is settled, with many ranges per stream left, and never longer than ~3 s of one stream', () => {
  const MiB = 2 ** 20
  // still measuring, or pinned (no rate): one range per exec
  assert.equal(groupSize(40, 64 * MiB, {decided: false, limit: 2, perStreamBytesPerSecond: 60 * MiB}), 1)
  assert.equal(groupSize(40, 64 * MiB, {decided: true, limit: 2, perStreamBytesPerSecond: 0}), 1)
  // a fast local stream (60 MiB/s): 180 MiB fit in 3 s → 2 ranges of 64 MiB, 4 of 32 MiB
  assert.equal(groupSize(40, 64 * MiB, {decided: true, limit: 2, perStreamBytesPerSecond: 60 * MiB}), 2)
  assert.equal(groupSize(40, 32 * MiB, {decided: true, limit: 2, perStreamBytesPerSecond: 60 * MiB}), 4)
  // few ranges left per stream: one by one
  assert.equal(groupSize(6, 32 * MiB, {decided: true, limit: 2, perStreamBytesPerSecond: 60 * MiB}), 1)
  // a capped link (8 MiB/s per connection): a range already takes longer than 3 s
  assert.equal(groupSize(40, 64 * MiB, {decided: true, limit: 4, perStreamBytesPerSecond: 8 * MiB}), 1)
})
