// The recent-run cache is keyed by the cluster's identity: a run recorded for one cluster never shows
// for another reached through a context of the same name, and the other cluster's runs survive a save.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {RecentRuns} from '../../src/lib/runs/cache.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'tb-cache-cluster-'))
after(() => rmSync(dir, {recursive: true, force: true}))
const run = (key: string, cluster?: string) => ({key, table: 't', namespace: 'tracebloc', context: 'sandbox', ...(cluster ? {cluster} : {}), submitted_at: '2026-01-01T00:00:00Z'})

test('two clusters behind one context name keep their runs apart; an entry without a cluster shows for neither', () => {
  const seed = RecentRuns.load(dir)
  seed.record(run('legacy'))
  seed.record(run('demo', 'uid-demo'))
  assert.ok(seed.save())

  const mine = RecentRuns.load(dir, 'uid-mine')
  assert.equal(mine.last('sandbox'), undefined)
  assert.deepEqual(mine.all(), [])
  mine.record(run('mine'))
  mine.markCancelled('sandbox', 'tracebloc', 'gone', '2026-01-02T00:00:00Z')
  assert.ok(mine.save())

  assert.deepEqual(RecentRuns.load(dir, 'uid-mine').all().map((r) => r.key), ['gone', 'mine'])
  assert.deepEqual(RecentRuns.load(dir, 'uid-demo').all().map((r) => r.key), ['demo'])
  // the file keeps everything, newest first, each with the cluster it belongs to
  assert.deepEqual(RecentRuns.load(dir).all().map((r) => [r.key, r.cluster]), [['gone', 'uid-mine'], ['mine', 'uid-mine'], ['demo', 'uid-demo'], ['legacy', undefined]])
})
