// The hash cache holds one entry per dataset file, so a million-file dataset means a million entries: it must
// stay compact (no object and no strings per entry), and its table must survive growing and a reload.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'

import {HashCache} from '../../src/lib/staging/hash-cache.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const dir = mkdtempSync(path.join(tmpdir(), 'hash-cache-memory-'))
after(() => rmSync(dir, {recursive: true, force: true}))

const ENTRIES = 150_000
const file = (i: number) => `/data/corpus/texts/doc${String(i).padStart(7, '0')}.txt`
const sha = (i: number) => createHash('sha256').update(String(i)).digest('hex')

/** JS heap and ArrayBuffer memory still reachable after a full collection. */
function retained(): number {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

test(`${ENTRIES} cached hashes hold under 160 bytes each, and every one is found again after growing and a reload`, () => {
  const before = retained()
  const c = HashCache.load('/data/corpus', dir)
  // the digests are made first so the figure is the cache's alone
  const digests = Array.from({length: 64}, (_, i) => sha(i))
  for (let i = 0; i < ENTRIES; i++) c.set(file(i), 4096, 1_700_000_000_123.456 + i, digests[i % 64])
  const perEntry = (retained() - before) / ENTRIES
  assert.equal(c.size, ENTRIES)
  assert.ok(perEntry < 160, `the cache holds ${perEntry.toFixed(0)} bytes per entry`)

  assert.equal(c.save(), true)
  const again = HashCache.load('/data/corpus', dir)
  assert.equal(again.size, ENTRIES)
  for (const i of [0, 1, 63, 64, 4097, ENTRIES - 1]) assert.equal(again.get(file(i), 4096, 1_700_000_000_123.456 + i), digests[i % 64], `entry ${i}`)
  assert.equal(again.get(file(5), 4096, 1), undefined, 'another mtime misses')
  assert.equal(again.get(file(5), 4095, 1_700_000_000_123.456 + 5), undefined, 'another size misses')
  assert.equal(again.get(file(ENTRIES), 4096, 1_700_000_000_123.456 + ENTRIES), undefined, 'a path never cached misses')
})
