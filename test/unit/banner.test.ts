import assert from 'node:assert/strict'
import {test} from 'node:test'

import {BannerParser} from '../../src/lib/watch/banner.js'

const C = '\u001B[96m'
const B = '\u001B[1m'
const R = '\u001B[0m'
const eq = '═'.repeat(60)
const dash = '─'.repeat(60)

function banner(n: {total: number; processed: number; inserted: number; api: number; skipped: number; ft: number; db: number}): string[] {
  const fmt = (x: number) => x.toLocaleString('en-US')
  return [
    '',
    `${C}${eq}${R}`,
    `${B}${C}📊 INGESTION SUMMARY 📊${R}`,
    `${C}${eq}${R}`,
    `Ingestor ID:                0b7c1d7e-9c3a-4a53-8f7e-2f1f3c1b9a10`,
    `📈 Total Records Found:     ${fmt(n.total)}`,
    `✅ Successfully Processed:  ${fmt(n.processed)}`,
    `💾 Inserted to Database:    ${fmt(n.inserted)}`,
    `🚀 Sent to API:             ${fmt(n.api)}`,
    `⏭️  Skipped Records:        ${fmt(n.skipped)}`,
    `📁 File Transfer Failures:  ${fmt(n.ft)}`,
    `❌ Failed DB Insertion:     ${fmt(n.db)}`,
    `❌ Failed to Send to API:   ${fmt(Math.max(0, n.inserted - n.api))}`,
    dash,
    `📊 Success Rate: [${'█'.repeat(30)}] 100.0%`,
    dash,
    '🎉 Ingestion completed successfully!',
    `${C}${eq}${R}`,
    '',
  ]
}

test('parses the clean cats/dogs banner (576 rows) with ANSI codes', () => {
  const p = new BannerParser()
  for (const l of ['MySQL is ready.', 'All validations passed successfully', ...banner({total: 576, processed: 576, inserted: 576, api: 576, skipped: 0, ft: 0, db: 0})]) p.push(l)
  const s = p.result()
  assert.ok(s)
  assert.equal(s.ingestorId, '0b7c1d7e-9c3a-4a53-8f7e-2f1f3c1b9a10')
  assert.equal(s.totalRecords, 576)
  assert.equal(s.insertedRecords, 576)
  assert.equal(s.successRate, 100)
  assert.equal(s.hasFailures, false)
})

test('comma-grouped numbers and the skipped-rows shortfall count as failures', () => {
  const p = new BannerParser()
  for (const l of banner({total: 12345, processed: 12000, inserted: 12000, api: 12000, skipped: 345, ft: 0, db: 0})) p.push(l)
  const s = p.result()!
  assert.equal(s.totalRecords, 12345)
  assert.equal(s.skippedRecords, 345)
  assert.equal(s.hasFailures, true)
  assert.equal(s.successRate, 97.2)
})

test('no banner → undefined; only the first complete banner counts', () => {
  const none = new BannerParser()
  none.push('Ingestion failed: boom')
  assert.equal(none.result(), undefined)
  const p = new BannerParser()
  for (const l of banner({total: 10, processed: 10, inserted: 10, api: 10, skipped: 0, ft: 0, db: 0})) p.push(l)
  for (const l of banner({total: 99, processed: 1, inserted: 1, api: 1, skipped: 0, ft: 0, db: 0})) p.push(l)
  assert.equal(p.result()!.totalRecords, 10)
})

test('file transfer and DB failures are failures', () => {
  const p = new BannerParser()
  for (const l of banner({total: 576, processed: 480, inserted: 480, api: 480, skipped: 0, ft: 96, db: 0})) p.push(l)
  assert.equal(p.result()!.fileTransferFailures, 96)
  assert.equal(p.result()!.hasFailures, true)
})
