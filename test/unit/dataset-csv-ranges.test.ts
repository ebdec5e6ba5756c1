// The parallel CSV preflight (a large CSV checked in byte ranges on worker threads) must say exactly
// what the single pass says: every file below goes through planDataset once in one pass and then
// split into small ranges (TRACEBLOC_CSV_RANGE_BYTES), and the plans or errors must be identical —
// quoted newlines across cuts, a BOM, ragged rows, bad UTF-8 and NUL near a seam, time order broken
// exactly at a seam, sequences spanning ranges, an unterminated quote swallowing later ranges.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {lastSplit} from '../../src/lib/local/csv-ranges.js'
import {planDataset, type PlanOptions} from '../../src/lib/local/index.js'
import {CliError} from '../../src/lib/output/errors.js'

const tmp = mkdtempSync(path.join(tmpdir(), 'tb-csv-ranges-'))
after(() => rmSync(tmp, {recursive: true, force: true}))

let n = 0
function csvFile(content: string | Buffer): string {
  const f = path.join(tmp, `d${n++}.csv`)
  writeFileSync(f, content)
  return f
}

async function outcome(opts: PlanOptions, rangeBytes?: number): Promise<unknown> {
  if (rangeBytes === undefined) delete process.env.TRACEBLOC_CSV_RANGE_BYTES
  else process.env.TRACEBLOC_CSV_RANGE_BYTES = String(rangeBytes)
  try {
    return {plan: await planDataset(opts)}
  } catch (error) {
    if (!(error instanceof CliError)) throw error
    return {error: error.message, exitCode: error.exitCode}
  } finally {
    delete process.env.TRACEBLOC_CSV_RANGE_BYTES
  }
}

/** The single pass and the split run for each range size agree; returns the single pass's outcome. */
async function sameSplit(opts: PlanOptions, sizes: number[], minRanges = 3): Promise<{plan?: {rows: number; warnings: string[]}; error?: string}> {
  const single = await outcome(opts)
  for (const size of sizes) {
    lastSplit.ranges = 0
    const split = await outcome(opts, size)
    assert.deepEqual(split, single, `range size ${size}`)
    assert.ok(lastSplit.ranges >= minRanges, `range size ${size}: split into ${lastSplit.ranges} range(s)`)
  }
  return single as {plan?: {rows: number; warnings: string[]}; error?: string}
}

const tab = (file: string, category = 'tabular_classification', extra: Partial<PlanOptions> = {}): PlanOptions => ({path: file, table: 't', category, labelColumn: 'label', ...extra})

/** 12 000 rows (default); every third note is a quoted field with newlines, commas and "" escapes. */
function tabular(opts: {bom?: boolean; bad?: boolean; rows?: number} = {}): string {
  const rows = ['id,age,note,score,label']
  for (let i = 0; i < (opts.rows ?? 12_000); i++) {
    let age = String(20 + (i % 60))
    if (opts.bad && i > 5000 && i % 997 === 0) age = 'abc'
    if (opts.bad && i > 5000 && i % 1499 === 0) age = '12.5'
    // multi-byte characters everywhere: reads and ranges end inside some of them
    const note = i % 3 === 0 ? `"line ${i}\nsecond, ""quoted"" é\r\nthird 😀"` : i % 3 === 1 ? `plain ${i} São Paulo` : '""'
    const extra = opts.bad && i > 5000 && i % 601 === 0 ? ',oops' : ''
    rows.push(`${i},${age},${note},${(i % 1000) / 10},${['a', 'b', 'c'][i % 3]}${extra}`)
  }
  return (opts.bom ? '\uFEFF' : '') + rows.join('\n') + '\n'
}

test('a clean CSV with quoted newlines at most cuts: same plan split or not, cuts inside quotes re-checked', async () => {
  const f = csvFile(tabular())
  const single = await sameSplit(tab(f), [301, 1000, 4099, 65_536])
  assert.equal(single.plan?.rows, 12_000)
  lastSplit.rechecked = 0
  await outcome(tab(f), 301)
  assert.ok(lastSplit.rechecked > 0, 'some cut fell inside a quoted field')
})

test('BOM, ragged rows and type errors after the sample: same message with "… and N more"', async () => {
  const single = await sameSplit(tab(csvFile(tabular({bom: true, bad: true}))), [257, 1000, 8192])
  assert.match(single.error!, /byte-order mark/)
  assert.match(single.error!, /row\(s\) of "d\d+\.csv" have more fields than the header's 5: line \d+ \(6 fields\).* … and \d+ more/)
  assert.match(single.error!, /column "age" is typed INT but \d+ value\(s\) are not whole numbers: line \d+: "abc".* … and \d+ more/)
  // the same errors without the BOM, in a regression task
  await sameSplit(tab(csvFile(tabular({bad: true})), 'tabular_regression'), [500, 3000])
})

test('invalid UTF-8 and NUL after the sample, near seams: the same byte offset', async () => {
  // past the first 1 MiB, which the sample's read validates whole
  const text = tabular({rows: 60_000})
  for (const [bytes, what] of [[[0xff], /not valid UTF-8 — a non-UTF-8 byte was found at byte \d+/], [[0xe2, 0x82], /not valid UTF-8/], [[0x00], /NUL byte at byte \d+/]] as const) {
    for (const at of [0.6, 0.61, 0.95].map((x) => Math.floor(x * text.length))) {
      const buf = Buffer.from(text)
      const cut = buf.indexOf(10, at) + 1 // the first byte of a row
      const f = csvFile(Buffer.concat([buf.subarray(0, cut), Buffer.from(bytes), buf.subarray(cut)]))
      const single = await sameSplit(tab(f), [20_000, 65_536])
      assert.match(single.error!, what)
    }
  }
})

/** time_series_forecasting rows of a fixed 34 bytes, so cuts land on known rows. */
function forecasting(m: number): {file: string; step: number} {
  const ROW = 34
  const at = (i: number): string => new Date(Date.UTC(2020, 0, 1) + i * 60_000).toISOString().slice(0, 19).replace('T', ' ')
  const rows = ['timestamp,value,label']
  const seam = (k: number): number => 5000 + k * m // the data row that starts range k
  for (let i = 0; i < 5000 + 12 * m; i++) {
    let ts = at(i)
    if (i === seam(1) || i === seam(3)) ts = at(i - 10_000) // goes back exactly at a seam
    if (i === seam(2) - 1) ts = at(i + 10_000) // the last row of a range jumps ahead: the next range's first row is out of order
    if (i === seam(5) + 3) ts = '2999-01-01 00:00:00' // in the future
    if (i === seam(6) + 1) ts = 'not-a-timestamp    '
    const r = `${ts},${1000 + (i % 9000)}.5,${2000 + (i % 7000)}.5`
    assert.equal(r.length + 1, ROW)
    rows.push(r)
  }
  return {file: csvFile(rows.join('\n') + '\n'), step: ROW * m}
}

test('time_series_forecasting: order broken exactly at a seam and across one, future and bad timestamps', async () => {
  for (const m of [40, 97]) {
    const {file, step} = forecasting(m)
    const single = await sameSplit(tab(file, 'time_series_forecasting'), [step, 1000])
    assert.match(single.error!, /4 row\(s\) break the ascending "timestamp" order: line \d+, line \d+, line \d+, line \d+ —/)
    assert.match(single.error!, /1 "timestamp" value\(s\) are in the future: line \d+: "2999-01-01 00:00:00"/)
    assert.match(single.error!, /1 "timestamp" value\(s\) are not dates\/times/)
  }
})

test('time_series_classification: sequences spanning ranges, flips and order breaks at and inside seams, empty ids', async () => {
  const rows = ['sequence_id,timestamp,hr,label']
  for (let i = 0; i < 14_000; i++) {
    const s = i % 37
    let id = `p${s}`
    let t = Math.floor(i / 37)
    let label = String(s % 2)
    if (s === 5 && i > 6000) label = '0' // flips once the sample is over
    if (s === 7 && i > 7000 && i < 7100) t -= 5 // goes back
    if (s === 9 && i > 8000) { label = '0'; if (i < 8040) t -= 9 } // flip and order break on the same row: the flip is reported
    if (s === 11 && i > 9000) { if (i < 9040) t -= 9; if (i > 9500) label = '0' } // order first
    if (s === 13 && i > 9000 && i % 2 === 0) label = '1.0' // 1 and 1.0 are the same label
    if (s === 15 && i > 10_000) label = '0'
    if (s === 17 && i > 10_000) label = '0'
    if (s === 19 && i > 10_500) label = '0'
    if (s === 21 && i > 11_000) t = 0
    if (i > 6000 && i % 1000 === 3) id = i % 2 ? '' : 'NA'
    rows.push(`${id},${t},${60 + (i % 40)},${label}`)
  }
  const schema = {sequence_id: 'VARCHAR(64)', timestamp: 'INT', hr: 'FLOAT', label: 'INT'}
  const single = await sameSplit(tab(csvFile(rows.join('\n') + '\n'), 'time_series_classification', {schema}), [200, 777, 5000])
  assert.match(single.error!, /\d+ row\(s\) have an empty "sequence_id": line \d+.* … and \d+ more/)
  assert.match(single.error!, /5 sequence\(s\) change their label mid-sequence: "p5" \(line \d+\), "p9" \(line \d+\), "p15" \(line \d+\), "p17" \(line \d+\), "p19" \(line \d+\) —/)
  assert.match(single.error!, /3 sequence\(s\) have out-of-order "timestamp" values: "p7" \(line \d+\), "p11" \(line \d+\), "p21" \(line \d+\)/)
})

test('time_to_event_prediction: negative and non-numeric times across ranges; a clean file plans the same', async () => {
  const rows = ['time,event,label']
  for (let i = 0; i < 9000; i++) rows.push(`${i > 5000 && i % 211 === 0 ? '-' : ''}${(i % 500) / 2},${i % 2},${(i % 77) / 10}${i > 5000 && i % 1009 === 0 ? 'x' : ''}`)
  const bad = rows.map((r, i) => (i > 5000 && i % 1301 === 0 ? 'soon' + r.slice(r.indexOf(',')) : r))
  await sameSplit(tab(csvFile(rows.join('\n') + '\n'), 'time_to_event_prediction'), [300, 2048])
  const single = await sameSplit(tab(csvFile(bad.join('\n') + '\n'), 'time_to_event_prediction'), [300, 2048])
  assert.match(single.error!, /value\(s\) in time column "time" are not non-negative numbers: .*is negative.* … and \d+ more/)
})

test('an unterminated quote in a middle range runs to EOF over the later ranges; a short file is never split', async () => {
  const rows = ['id,note,label', ...Array.from({length: 12_000}, (_, i) => `${i},n${i},${i % 2}`)]
  rows.splice(9000, 0, '999,"never closed,1')
  const f = csvFile(rows.join('\n') + '\n')
  const single = await sameSplit(tab(f), [1000, 20_000])
  assert.match(single.error!, /ends inside a quoted field/)
  const short = ['a,label', ...Array.from({length: 300}, (_, i) => `${i},${i % 2}`)].join('\n')
  await sameSplit(tab(csvFile(short)), [100], 0)
})
