// Value-level pieces of preflight: schema inference parity, the streaming CSV reader, image headers.
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {scanCsv} from '../../src/lib/local/csv.js'
import {probeImage} from '../../src/lib/local/image-header.js'
import {inferColumnType, inferSchema} from '../../src/lib/local/infer.js'
import {pngHeader} from '../helpers/png.js'

const tmp = mkdtempSync(path.join(tmpdir(), 'tb-infer-'))
after(() => rmSync(tmp, {recursive: true, force: true}))

const parity = JSON.parse(readFileSync('test/fixtures/reference/parity/schema_inference_parity.json', 'utf8')) as {sample_cap: number; cases: Array<{name: string; values: string[]; expected: string}>}

test('schema inference matches schema_inference_parity.json case by case', () => {
  assert.equal(parity.sample_cap, 5000)
  for (const c of parity.cases) assert.equal(inferColumnType(c.values), c.expected, c.name)
})

test('inference extras: datetimes with one offset, mixed offsets are text, reserved/empty/id-like columns flagged', () => {
  assert.equal(inferColumnType(['2024-01-02T10:00:00+02:00', '2024-01-03T11:00:00+02:00']), 'DATETIME')
  assert.equal(inferColumnType(['2024-01-02T10:00:00+02:00', '2024-01-03T11:00:00Z']), 'VARCHAR(25)')
  assert.equal(inferColumnType(['2024-02-30']), 'VARCHAR(10)')
  const rows = Array.from({length: 12}, (_, i) => [String(i + 1), String(1000 + i), '', i % 2 ? 'a' : 'b'])
  const r = inferSchema(['id', 'code', 'empty', 'label'], rows, 'label')
  assert.deepEqual(r.schema, {code: 'INT', empty: 'VARCHAR(1)', label: 'VARCHAR(1)'})
  assert.match(r.warnings.join('\n'), /dropped column id: the ingestor creates a column of that name itself/)
  assert.match(r.warnings.join('\n'), /typed VARCHAR\(1\): empty/)
  assert.match(r.warnings.join('\n'), /look like row ids.*: code/)
})

async function rows(text: string | Buffer): Promise<{rows: string[][]; res: Awaited<ReturnType<typeof scanCsv>>}> {
  const f = path.join(tmp, 'x.csv')
  writeFileSync(f, text)
  const out: string[][] = []
  const res = await scanCsv(f, {onRow: (r) => out.push(r.cells())})
  return {rows: out, res}
}

test('CSV reader: quotes, escaped quotes, embedded newlines, CRLF, blank lines, trailing empty fields, BOM', async () => {
  const {rows: r, res} = await rows('\uFEFFa, b ,c\r\n1,"x,""y""\nz",\r\n\r\n2,,3\n"q"r,s,\n')
  assert.equal(res.bom, true)
  assert.deepEqual(res.header, ['a', 'b', 'c'])
  assert.deepEqual(r, [['1', 'x,"y"\nz', ''], ['2', '', '3'], ['qr', 's', '']])
  assert.equal(res.rows, 3)
  const noNl = await rows('a,b\n1,2')
  assert.deepEqual(noNl.rows, [['1', '2']])
  const wide = await rows('a,b\n1,2,3\n4,5\n')
  assert.deepEqual(wide.res.wideRows, [[2, 3]])
  assert.equal((await rows('a\n"open\n')).res.unterminatedQuote, true)
})

test('CSV reader: rows that straddle the 1 MiB chunk boundary parse the same', async () => {
  const long = 'v'.repeat((1 << 20) - 7)
  const {rows: r} = await rows(`a,b\n"${long}",é\nx,"y""z"\n`)
  assert.equal(r[0]![0]!.length, long.length)
  assert.equal(r[0]![1], 'é')
  assert.deepEqual(r[1], ['x', 'y"z'])
})

test('CSV reader: invalid UTF-8 and NUL bytes are located by byte offset', async () => {
  assert.equal((await rows(Buffer.from([0x61, 0x0a, 0x62, 0xfc, 0x0a]))).res.invalidUtf8At, 3)
  assert.equal((await rows(Buffer.from([0x61, 0x0a, 0x00, 0x0a]))).res.nulAt, 2)
})

test('image headers: PNG IHDR and JPEG SOF after a large APP segment; junk and empty files refused', async () => {
  const png = pngHeader(640, 480)
  writeFileSync(path.join(tmp, 'a.png'), png)
  assert.deepEqual(await probeImage(path.join(tmp, 'a.png')), {ok: true, width: 640, height: 480, format: 'png'})
  // SOI, an APP1 segment of 20 000 bytes (beyond the first read), then SOF2 (progressive) 300x200
  const app = Buffer.alloc(20_000)
  app.writeUInt16BE(0xffe1, 0)
  app.writeUInt16BE(20_000 - 2, 2)
  const sof = Buffer.from([0xff, 0xc2, 0x00, 0x11, 0x08, 0x00, 200, 0x01, 44, 0x03])
  writeFileSync(path.join(tmp, 'b.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8]), app, sof, Buffer.alloc(20)]))
  assert.deepEqual(await probeImage(path.join(tmp, 'b.jpg')), {ok: true, width: 300, height: 200, format: 'jpeg'})
  writeFileSync(path.join(tmp, 'c.jpg'), 'garbage')
  assert.equal((await probeImage(path.join(tmp, 'c.jpg'))).ok, false)
  writeFileSync(path.join(tmp, 'd.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]))
  assert.match(JSON.stringify(await probeImage(path.join(tmp, 'd.jpg'))), /ends before|truncated|ends inside/)
  writeFileSync(path.join(tmp, 'e.jpg'), '')
  assert.deepEqual(await probeImage(path.join(tmp, 'e.jpg')), {ok: false, reason: 'empty', detail: 'empty file, 0 bytes'})
  // the real sample photos: 256x256 JPEG with EXIF
  assert.deepEqual(await probeImage('test/fixtures/reference/samples/image_classification/data/images/cat1.jpeg'), {ok: true, width: 256, height: 256, format: 'jpeg'})
})
