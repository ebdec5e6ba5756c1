// Pure parts of runs / logs / cancel: the recent-run cache (bounded, private, corrupt-tolerant, never a
// secret), the status a run gets from its Job and pods, and --since parsing.
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {parseSince} from '../../src/commands/dataset/logs.js'
import {MAX_RECENT_RUNS, RecentRuns} from '../../src/lib/runs/cache.js'
import {progressFromLog} from '../../src/lib/runs/cancel.js'
import {runFromJob} from '../../src/lib/runs/jobs.js'

const dirs: string[] = []
after(() => dirs.forEach((d) => rmSync(d, {recursive: true, force: true})))
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'tb-runs-unit-'))
  dirs.push(d)
  return d
}
const run = (i: number, ctx = 'c1') => ({key: `k${i}`, table: `t${i}`, namespace: 'ns', context: ctx, job_name: `ingest-job-${i}`, submitted_at: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`})

test('recent-run cache: newest first, last() per context, bounded, mode 0600, only the documented fields', () => {
  const dir = tmp()
  const c = RecentRuns.load(dir)
  for (let i = 0; i < MAX_RECENT_RUNS + 10; i++) c.record(run(i))
  c.record(run(999, 'other'))
  assert.ok(c.save())
  const again = RecentRuns.load(dir)
  assert.equal(again.all().length, MAX_RECENT_RUNS)
  assert.equal(again.last('c1')?.key, `k${MAX_RECENT_RUNS + 9}`)
  assert.equal(again.last('other')?.key, 'k999')
  assert.equal(again.last('nowhere'), undefined)
  if (process.platform !== 'win32') assert.equal(statSync(again.file).mode & 0o777, 0o600) // POSIX modes only
  const keys = new Set(JSON.parse(readFileSync(again.file, 'utf8')).runs.flatMap((r: object) => Object.keys(r)))
  assert.deepEqual([...keys].sort(), ['context', 'job_name', 'key', 'namespace', 'submitted_at', 'table'])
  // Re-recording a run moves it to the front instead of duplicating it.
  again.record(run(MAX_RECENT_RUNS))
  assert.equal(again.all()[0].key, `k${MAX_RECENT_RUNS}`)
  assert.equal(again.all().filter((r) => r.key === `k${MAX_RECENT_RUNS}`).length, 1)
})

test('recent-run cache: a corrupt file or malformed entries start empty instead of failing; cancels are remembered', () => {
  const dir = tmp()
  writeFileSync(path.join(dir, 'recent-runs.json'), '{not json')
  assert.deepEqual(RecentRuns.load(dir).all(), [])
  writeFileSync(path.join(dir, 'recent-runs.json'), JSON.stringify({runs: [{key: 1}, run(1), 'x']}))
  const c = RecentRuns.load(dir)
  assert.deepEqual(c.all().map((r) => r.key), ['k1'])
  c.markCancelled('c1', 'ns', 'k1', '2026-01-02T00:00:00Z')
  c.markCancelled('c1', 'ns', 'k-new', '2026-01-03T00:00:00Z', {table: 'tnew'})
  assert.equal(c.find('c1', (r) => r.key === 'k1')?.cancelled_at, '2026-01-02T00:00:00Z')
  assert.equal(c.find('c1', (r) => r.key === 'k-new')?.table, 'tnew')
})

test('recent-run cache: entries whose namespace, key or Job name the cluster could not have given are dropped; a bad table is kept for the caller to refuse', () => {
  const dir = tmp()
  const bad = [{...run(2), namespace: '../kube-system'}, {...run(3), key: 'k 3; rm'}, {...run(4), job_name: 'job\u001b[2K'}, {...run(5), namespace: 'NS'}]
  writeFileSync(path.join(dir, 'recent-runs.json'), JSON.stringify({runs: [...bad, {...run(6), table: '../../shared'}, run(7)]}))
  const c = RecentRuns.load(dir)
  assert.deepEqual(c.all().map((r) => r.key), ['k6', 'k7'])
})

const job = (status: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ({metadata: {name: 'ingest-job-1', namespace: 'ns', labels: {'tracebloc.io/ingestion-run': 'key1'}, creationTimestamp: new Date('2026-01-01T00:00:00Z'), ...extra}, status}) as never
const pod = (phase: string) => ({metadata: {name: `p-${phase}`, creationTimestamp: new Date('2026-01-01T00:00:01Z')}, status: {phase}}) as never
const summary = (hasFailures: boolean) => ({totalRecords: 2, processedRecords: 2, insertedRecords: hasFailures ? 1 : 2, apiSentRecords: 2, skippedRecords: 0, fileTransferFailures: 0, dbInsertFailures: 0, successRate: 50, hasFailures})

test('run status from the Job: pending, running, succeeded, completed with failures, failed with its reason, cancelled while deleting', () => {
  const start = new Date('2026-01-01T00:00:00Z')
  const end = new Date('2026-01-01T00:01:30Z')
  assert.equal(runFromJob(job({startTime: start, active: 1}), [pod('Pending')]).status, 'pending')
  assert.equal(runFromJob(job({startTime: start, active: 1}), [pod('Running')]).status, 'running')
  const complete = {startTime: start, completionTime: end, succeeded: 1, conditions: [{type: 'Complete', status: 'True', lastTransitionTime: end}]}
  const ok = runFromJob(job(complete), [pod('Succeeded')], summary(false))
  assert.deepEqual([ok.status, ok.duration_seconds, ok.finished_at, ok.key, ok.pod], ['succeeded', 90, '2026-01-01T00:01:30Z', 'key1', 'p-Succeeded'])
  assert.equal(runFromJob(job(complete), [pod('Succeeded')], summary(true)).status, 'completed_with_failures')
  const failed = runFromJob(job({startTime: start, failed: 1, conditions: [{type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: end}]}), [pod('Failed')])
  assert.deepEqual([failed.status, failed.reason, failed.duration_seconds], ['failed', 'BackoffLimitExceeded: Job has reached the specified backoff limit', 90])
  assert.equal(runFromJob(job({startTime: start, active: 1}, {deletionTimestamp: end}), [pod('Running')]).status, 'cancelled')
})

test('--since: h/m/s durations; anything else is bad input (exit 2)', () => {
  assert.equal(parseSince('30s'), 30)
  assert.equal(parseSince('5m'), 300)
  assert.equal(parseSince('1h30m'), 5400)
  for (const bad of ['', '10', 'm', '1d', '-5m']) assert.throws(() => parseSince(bad), (e: {exitCode?: number}) => e.exitCode === 2, bad)
})

test('progress of a cancelled run: the last complete `Ingesting records: … | n/N` of the log, counts with commas', () => {
  const bar = (n: string, total: string) => `Ingesting records:  40%|####      | ${n}/${total} [00:02<00:03, 99.1it/s]`
  assert.deepEqual(progressFromLog(`start\n${bar('1,000', '2,500')}\r${bar('2,000', '2,500')}\nINFO done\n`), {processed: 2000, total: 2500})
  // a later line without figures does not hide the last one that has them
  assert.deepEqual(progressFromLog(`${bar('7', '9')}\nIngesting records: (starting)\n`), {processed: 7, total: 9})
  assert.deepEqual(progressFromLog('no progress here\n'), {})
  assert.deepEqual(progressFromLog(''), {})
})
