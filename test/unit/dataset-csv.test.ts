// Byte-level CSV reader edge cases: RFC 4180 quoting, rows and UTF-8 sequences cut by the 1 MiB
// read boundary, invalid UTF-8 located by byte offset, raw-byte number shapes agreeing with the
// string rules; and the single-open image probe refusing symlinks and FIFOs.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {scanCsv} from '../../src/lib/local/csv.js'
import {openImage, openImageSync, probeImage} from '../../src/lib/local/image-header.js'
import {openImages} from '../../src/lib/local/layout.js'
import {pngHeader} from '../helpers/png.js'

const MiB = 1 << 20
const tmp = mkdtempSync(path.join(tmpdir(), 'tb-csv-'))
after(() => rmSync(tmp, {recursive: true, force: true}))

let n = 0
async function scan(content: string | Buffer): Promise<{rows: Array<{cells: string[]; line: number; shapes: number[]}>; res: Awaited<ReturnType<typeof scanCsv>>}> {
  const f = path.join(tmp, `t${n++}.csv`)
  writeFileSync(f, content)
  const rows: Array<{cells: string[]; line: number; shapes: number[]}> = []
  const res = await scanCsv(f, {onRow: (r, _i, line) => rows.push({cells: r.cells(), line, shapes: Array.from({length: r.length}, (_, k) => r.numberShape(k))})})
  return {rows, res}
}

/** Pad with a first row of filler so that `marker` lands at file offset `at`. */
function placeAt(at: number, before: string, marker: Buffer | string, after: string): Buffer {
  const head = Buffer.from(before)
  const fillLen = at - head.length - 'f,'.length - 1
  assert.ok(fillLen > 0)
  return Buffer.concat([head, Buffer.from('f,' + 'x'.repeat(fillLen) + '\n'), Buffer.from(marker), Buffer.from(after)])
}

test('quoted commas, newlines and escaped quotes; line numbers count newlines inside quotes', async () => {
  const {rows, res} = await scan('a,b,c\n"1,2","say ""hi""","multi\nline\r\nvalue"\n3,"",4\n""\n5,"x"y"z",6\n')
  assert.deepEqual(rows.map((r) => r.cells), [['1,2', 'say "hi"', 'multi\nline\r\nvalue'], ['3', '', '4'], [''], ['5', 'xy"z', '6']])
  assert.deepEqual(rows.map((r) => r.line), [2, 5, 6, 7])
  assert.equal(res.rows, 4)
  assert.equal(res.wideRowCount, 0)
})

test('CRLF rows, a quoted last field before CRLF, a bare CR inside a field, and EOF without a newline', async () => {
  const {rows} = await scan('a,b\r\n1,"q"\r\nx\ry,2\r\n\r\n3,4\r')
  // only a CR right before LF ends a row; a last line without LF keeps its CR (as before)
  assert.deepEqual(rows.map((r) => r.cells), [['1', 'q'], ['x\ry', '2'], ['3', '4\r']])
  const trailing = await scan('a,b\n1,')
  assert.deepEqual(trailing.rows.map((r) => r.cells), [['1', '']])
})

test('CRLF split across the 1 MiB read boundary (unquoted and quoted last field)', async () => {
  for (const quoted of [false, true]) {
    // the CR is the last byte of the first read, its LF the first byte of the second
    const last = quoted ? '"v"' : 'v'
    const body = placeAt(MiB - 1 - `k,${last}`.length, 'a,b\n', `k,${last}\r\nnext,row\r\n`, '')
    assert.equal(body[MiB - 1], 13)
    assert.equal(body[MiB], 10)
    const {rows} = await scan(body)
    assert.deepEqual(rows.at(-2)!.cells, ['k', 'v'])
    assert.deepEqual(rows.at(-1)!.cells, ['next', 'row'])
    assert.equal(rows.length, 3)
  }
})

test('multi-byte UTF-8 split across the read boundary decodes and validates', async () => {
  for (const ch of ['é', '€', '😀']) {
    const bytes = Buffer.from(ch)
    for (let cut = 1; cut < bytes.length; cut++) {
      // `cut` bytes of the character before the boundary, the rest after
      const data = placeAt(MiB - cut, 'a,b\n', Buffer.concat([bytes, Buffer.from(',"' + ch + '"')]), '\nz,1\n')
      const {rows, res} = await scan(data)
      assert.equal(res.invalidUtf8At, undefined, `${ch} cut after ${cut}`)
      assert.deepEqual(rows[1]!.cells, [ch, ch])
      assert.deepEqual(rows[2]!.cells, ['z', '1'])
    }
  }
})

test('invalid UTF-8 is reported at its byte offset, in any read and across the boundary', async () => {
  assert.equal((await scan(Buffer.from([0x61, 0x0a, 0x62, 0xfc, 0x0a]))).res.invalidUtf8At, 3)
  // overlong and surrogate encodings are invalid too
  assert.equal((await scan(Buffer.from([0x61, 0x0a, 0xc0, 0x80, 0x0a]))).res.invalidUtf8At, 2)
  assert.equal((await scan(Buffer.from([0x61, 0x0a, 0x62, 0xed, 0xa0, 0x80, 0x0a]))).res.invalidUtf8At, 3)
  // truncated sequence at end of file: the lead byte's offset
  assert.equal((await scan(Buffer.from([0x61, 0x0a, 0x62, 0xe2, 0x82]))).res.invalidUtf8At, 3)
  // in the second read
  assert.equal((await scan(placeAt(MiB + 5, 'a,b\n', Buffer.from([0xff]), '\n'))).res.invalidUtf8At, MiB + 5)
  // a lead byte that ends the first read followed by ASCII in the second
  assert.equal((await scan(placeAt(MiB - 1, 'a,b\n', Buffer.from([0xe2, 0x41, 0x41]), '\n'))).res.invalidUtf8At, MiB - 1)
  // with a BOM, offsets still count from the start of the file
  assert.equal((await scan(Buffer.from([0xef, 0xbb, 0xbf, 0x61, 0x0a, 0x00, 0x0a]))).res.nulAt, 5)
  const nul = await scan(placeAt(2 * MiB + 3, 'a,b\n', Buffer.from([0x00]), '\n'))
  assert.equal(nul.res.nulAt, 2 * MiB + 3)
})

test('rows wider than the initial field table (200 columns) keep every field', async () => {
  const cols = Array.from({length: 200}, (_, i) => `c${i}`)
  const {rows, res} = await scan(cols.join(',') + '\n' + cols.map((_, i) => (i % 3 === 0 ? `"v${i}"` : String(i))).join(',') + '\n')
  assert.equal(res.header!.length, 200)
  assert.equal(rows[0]!.cells.length, 200)
  assert.equal(rows[0]!.cells[198], 'v198')
  assert.equal(rows[0]!.cells[199], '199')
  assert.equal(rows[0]!.shapes[199], 1)
})

test('a row longer than the read buffer grows it and parses whole', async () => {
  const big = 'y'.repeat(3 * MiB + 17)
  const {rows, res} = await scan(`a,b\n1,"${big}\n""${big}"\n2,3\n`)
  assert.equal(res.rows, 2)
  assert.equal(rows[0]!.cells[1]!.length, 2 * big.length + 2)
  assert.deepEqual(rows[1]!.cells, ['2', '3'])
  assert.equal(rows[1]!.line, 4)
})

test('numberShape on raw bytes agrees with the numeric pattern the string checks use', async () => {
  const NUMERIC = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/
  const vals = ['0', '-12', '+7', '007', '1.', '.5', '1.5e3', '2E-4', '1e', '1e+', '.', '+', '-', 'e5', '1.2.3', '12a', ' 3', '3 ', 'NaN', '', '--1', '1_000', '٣']
  const {rows} = await scan('v,w\n' + vals.map((v) => `${v},x`).join('\n') + '\n"5",x\n')
  rows.forEach((r, i) => {
    const v = r.cells[0]!
    const shape = r.shapes[0]!
    if (i === vals.length) { assert.equal(shape, 0, 'quoted cells go through the string rules'); return }
    if (shape === 1) assert.match(v, /^[+-]?[0-9]+$/)
    if (shape !== 0) assert.ok(NUMERIC.test(v), v)
    // anything the pattern accepts without surrounding whitespace is recognised on bytes
    if (NUMERIC.test(v)) assert.notEqual(shape, 0, v)
  })
})

test('images are opened once: symlinks refused (ELOOP), FIFOs not read, sizes from the descriptor', async (t) => {
  const png = pngHeader(64, 32)
  const real = path.join(tmp, 'real.png')
  writeFileSync(real, png)
  const opened = await openImage(real)
  assert.equal(opened.size, 33)
  assert.ok(opened.mtimeMs > 0)
  assert.deepEqual(opened.probe, {ok: true, width: 64, height: 32, format: 'png'})
  assert.deepEqual(openImageSync(real), opened)
  const link = path.join(tmp, 'link.png')
  symlinkSync(real, link)
  await assert.rejects(openImage(link), {code: 'ELOOP'})
  assert.throws(() => openImageSync(link), {code: 'ELOOP'})
  assert.deepEqual(await probeImage(link), {ok: false, reason: 'unreadable', detail: 'ELOOP'})
  try {
    execFileSync('mkfifo', [path.join(tmp, 'fifo.png')])
  } catch {
    t.skip('mkfifo is not available: the FIFO case was not checked')
    return
  }
  assert.deepEqual((await openImage(path.join(tmp, 'fifo.png'))).probe, {ok: false, reason: 'invalid', detail: 'not a regular file'})
  assert.deepEqual(openImageSync(path.join(tmp, 'fifo.png')).probe, {ok: false, reason: 'invalid', detail: 'not a regular file'})
})

test('openImages: blocking batches, then the thread-pool path once the disk looks slow — same entries, in order, with progress', async () => {
  const dir = path.join(tmp, 'imgs')
  mkdirSync(dir)
  const names = Array.from({length: 300}, (_, i) => `i${String(i).padStart(3, '0')}.png`)
  names.forEach((n, i) => {
    writeFileSync(path.join(dir, n), pngHeader(i + 1, 7))
  })
  symlinkSync(path.join(dir, names[0]!), path.join(dir, 'zz-link.png'))
  for (const slowMs of [Infinity, -1]) {
    const progress: number[] = []
    const got = await openImages(dir + path.sep, names, (p) => progress.push(p.files!), slowMs)
    assert.deepEqual(got.map((f) => f.name), names)
    assert.ok(got.every((f, i) => f.size === 33 && f.header?.ok === true && f.header.width === i + 1 && f.path === path.join(dir, names[i]!)))
    assert.ok(progress.length > 0 && progress.at(-1)! <= names.length)
    // a symlink that slipped past the listing is refused on either path
    await assert.rejects(openImages(dir + path.sep, [...names.slice(0, slowMs === Infinity ? 5 : 40), 'zz-link.png'], undefined, slowMs), {message: /symbolic link/})
  }
})
