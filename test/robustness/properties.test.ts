// Property tests (fast-check) for the parsers and writers that meet arbitrary input: the CSV reader,
// the YAML loader, the tar writer and the ingestor banner parser. Each property states what must hold
// for every input, and fast-check searches for a counterexample (and shrinks it when it finds one).
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {Readable} from 'node:stream'
import {after, test} from 'node:test'

import fc from 'fast-check'
import {Parser} from 'tar'

import {scanCsv} from '../../src/lib/local/csv.js'
import {CliError} from '../../src/lib/output/errors.js'
import {dumpIngestYaml, loadIngestYaml} from '../../src/lib/schema/index.js'
import {type TarEntry, tarSize, tarStream} from '../../src/lib/staging/tar.js'
import {BannerParser} from '../../src/lib/watch/banner.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'tb-props-'))
after(() => rmSync(dir, {recursive: true, force: true}))
let fileNo = 0
const tmpFile = (content: string | Buffer) => {
  const f = path.join(dir, `f${++fileNo}`)
  writeFileSync(f, content)
  return f
}

// ---- CSV reader ----

const cell = fc.string({unit: fc.constantFrom('a', 'b', ' ', ',', '"', '\n', '\r\n', 'é', '😀', '1', '.', '-'), maxLength: 12})
/** RFC 4180: quote a cell that holds a separator, quote or line break (and, so it is never a blank line, an empty first cell). */
const csvCell = (s: string, first: boolean) => (/[",\r\n]/.test(s) || (first && s === '') ? `"${s.replaceAll('"', '""')}"` : s)

test('CSV reader: any table written as RFC 4180 reads back cell for cell', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({min: 2, max: 5}).chain((cols) => fc.tuple(fc.array(cell, {minLength: cols, maxLength: cols}), fc.array(fc.array(cell, {minLength: cols, maxLength: cols}), {maxLength: 8}))),
      fc.constantFrom('\n', '\r\n'),
      async ([header, rows], eol) => {
        // the reader trims header names: give it trimmed, distinct-enough names
        const head = header.map((h, i) => `c${i}${h.replace(/[",\r\n]/g, '').trim()}`)
        const text = [head, ...rows].map((r) => r.map((c, i) => csvCell(c, i === 0)).join(',')).join(eol) + eol
        const got: string[][] = []
        const res = await scanCsv(tmpFile(text), {onRow: (r) => got.push(r.cells())})
        assert.deepEqual(res.header, head)
        assert.deepEqual(got, rows)
        assert.equal(res.unterminatedQuote, false)
        assert.equal(res.bytes, Buffer.byteLength(text))
      },
    ),
    {numRuns: 150},
  )
})

test('CSV reader: any bytes at all are read to the end without throwing', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({maxLength: 3000}), async (bytes) => {
      const res = await scanCsv(tmpFile(Buffer.from(bytes)), {onRow: (r) => void r.cells()})
      assert.equal(res.bytes, bytes.length)
      assert.ok(res.rows >= 0)
    }),
    {numRuns: 150},
  )
})

// ---- YAML loader ----

const key = fc.string({unit: fc.constantFrom('a', 'b', 'z', '_', '1', ' ', ':', '#', "'", '"', 'é', '-', '.'), minLength: 1, maxLength: 8})
const scalar = fc.oneof(fc.string({maxLength: 20}), fc.integer(), fc.boolean(), fc.constant(null), fc.double({noNaN: true, noDefaultInfinity: true}))
const doc = fc.dictionary(key, fc.oneof(scalar, fc.array(scalar, {maxLength: 4}), fc.dictionary(key, scalar, {maxKeys: 4})), {minKeys: 1, maxKeys: 6})

test('YAML loader: what the writer dumps loads back to the same value (PyYAML-safe round trip)', () => {
  fc.assert(
    fc.property(doc, (value) => {
      const {value: back} = loadIngestYaml(dumpIngestYaml(value))
      // -0 dumps as -0.0 and loads back as -0, as in PyYAML; JSON compares it as 0 on both sides
      const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x))
      assert.deepEqual(plain(back), plain(value))
    }),
    {numRuns: 300},
  )
})

test('YAML loader: any text either loads or fails as bad input (exit 2), never anything else', () => {
  const yamlish = fc.string({unit: fc.constantFrom('a', ':', ' ', '\n', '-', '[', ']', '{', '}', '&a', '*a', '<<', '!', '!!', '"', "'", '#', '|', '>', '\t', '---', '0', '%', '?', ','), maxLength: 60})
  fc.assert(
    fc.property(fc.oneof(yamlish, fc.string({maxLength: 60})), (text) => {
      try {
        loadIngestYaml(text)
      } catch (error) {
        assert.ok(error instanceof CliError, `not a CliError: ${String(error)}`)
        assert.equal(error.exitCode, 2)
      }
    }),
    {numRuns: 500},
  )
})

// the runner's timeout is the hang guard: an expansion that is not refused would take minutes
test('YAML loader: alias chains of any depth and width are refused or loaded, never expanded past the limits', {timeout: 120_000}, () => {
  fc.assert(
    fc.property(fc.integer({min: 1, max: 12}), fc.integer({min: 1, max: 12}), (depth, width) => {
      const lines = ['l0: &l0 [x]']
      for (let i = 1; i <= depth; i++) lines.push(`l${i}: &l${i} [${Array(width).fill(`*l${i - 1}`).join(', ')}]`)
      try {
        loadIngestYaml(lines.join('\n'))
        assert.ok(width ** depth <= 100_000 && depth * width <= 100, `an expansion of ${width}^${depth} was loaded`)
      } catch (error) {
        assert.ok(error instanceof CliError && error.reason === 'yaml_too_complex', String(error))
      }
    }),
    {numRuns: 100},
  )
})

// ---- tar writer ----

const tarName = fc
  .array(fc.string({unit: fc.constantFrom('a', 'B', '0', '-', '_', '.', ' ', 'é', 'ü', '😀'), minLength: 1, maxLength: 90}), {minLength: 1, maxLength: 3})
  .map((parts) => parts.map((p) => (p === '.' || p === '..' ? 'x' : p)).join('/'))

test('tar writer: any files archive to exactly tarSize() bytes and read back with the same names and bytes', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(fc.tuple(tarName, fc.uint8Array({maxLength: 2000})), {selector: ([n]) => n, minLength: 1, maxLength: 6}), async (files) => {
      const entries: TarEntry[] = files.map(([name, data]) => ({localPath: tmpFile(Buffer.from(data)), name, size: data.length}))
      const parts: Buffer[] = []
      for await (const c of tarStream(entries)) parts.push(Buffer.from(c))
      const archive = Buffer.concat(parts)
      assert.equal(archive.length, tarSize(entries))
      assert.equal(archive.length % 512, 0)
      const got = new Map<string, Buffer>()
      await new Promise<void>((resolve, reject) => {
        const p = new Parser({
          onReadEntry: (e) => {
            const chunks: Buffer[] = []
            e.on('data', (d: Buffer) => chunks.push(d))
            e.on('end', () => got.set(e.path, Buffer.concat(chunks)))
          },
        })
        p.on('end', resolve)
        p.on('error', reject)
        Readable.from([archive]).pipe(p)
      })
      assert.deepEqual([...got.keys()].sort(), files.map(([n]) => n).sort())
      for (const [name, data] of files) assert.deepEqual(got.get(name), Buffer.from(data), name)
    }),
    {numRuns: 60},
  )
})

// ---- banner parser ----

const count = fc.integer({min: 0, max: 5_000_000})
const ansi = fc.constantFrom('', '\u001B[96m', '\u001B[1m\u001B[92m', '\u001B[0m')
const noise = fc.array(fc.string({maxLength: 40}), {maxLength: 5})

test('banner parser: any counts printed in the ingestor banner (with colours and noise) parse back', () => {
  fc.assert(
    fc.property(fc.record({total: count, processed: count, inserted: count, api: count, skipped: count, ft: count, db: count}), ansi, noise, noise, (n, c, before, after) => {
      const fmt = (x: number) => x.toLocaleString('en-US')
      const eq = '═'.repeat(60)
      const p = new BannerParser()
      const lines = [
        ...before.filter((l) => !l.includes('INGESTION SUMMARY')),
        `${c}${eq}\u001B[0m`,
        `${c}📊 INGESTION SUMMARY 📊\u001B[0m`,
        `${c}${eq}\u001B[0m`,
        'Ingestor ID:                0b7c1d7e-9c3a-4a53-8f7e-2f1f3c1b9a10',
        `📈 Total Records Found:     ${c}${fmt(n.total)}\u001B[0m`,
        `✅ Successfully Processed:  ${fmt(n.processed)}`,
        `💾 Inserted to Database:    ${fmt(n.inserted)}`,
        `🚀 Sent to API:             ${fmt(n.api)}`,
        `⏭️  Skipped Records:        ${fmt(n.skipped)}`,
        `📁 File Transfer Failures:  ${fmt(n.ft)}`,
        `❌ Failed DB Insertion:     ${fmt(n.db)}`,
        `${c}${eq}\u001B[0m`,
        ...after,
      ]
      for (const l of lines) p.push(l)
      const s = p.result()
      assert.ok(s)
      assert.deepEqual(
        [s.totalRecords, s.processedRecords, s.insertedRecords, s.apiSentRecords, s.skippedRecords, s.fileTransferFailures, s.dbInsertFailures],
        [n.total, n.processed, n.inserted, n.api, n.skipped, n.ft, n.db],
      )
      assert.equal(s.hasFailures, n.db > 0 || n.ft > 0 || n.skipped > 0 || n.inserted < n.total || n.api < n.inserted)
    }),
    {numRuns: 300},
  )
})

test('banner parser: any lines at all never throw, and no banner means no summary', () => {
  fc.assert(
    fc.property(fc.array(fc.string({maxLength: 80}), {maxLength: 30}), (lines) => {
      const p = new BannerParser()
      for (const l of lines) p.push(l)
      if (!lines.some((l) => l.includes('INGESTION SUMMARY'))) assert.equal(p.result(), undefined)
    }),
    {numRuns: 300},
  )
})
