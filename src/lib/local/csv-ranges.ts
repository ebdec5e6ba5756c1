// Parallel preflight of a large CSV: the rows after the schema sample are cut into byte ranges at
// newlines and checked in worker threads (min(cores, 4)), each range with its own RangeChecker.
// A cut is a guess: a newline inside a quoted field looks like a row end. It is verified when the
// ranges are joined — the range before a cut, parsed from a verified row start, must stop exactly at
// the cut — and a range whose start was wrong is parsed again from where its predecessor really ended.
import {availableParallelism} from 'node:os'
import {open} from 'node:fs/promises'
import {Worker} from 'node:worker_threads'

import {CliError} from '../output/errors.js'

import {scanCsv, type CsvScanResult} from './csv.js'
import {RangeChecker, type CheckSpec, type RangeState} from './tabular-checks.js'

/**
 * Files (after the sample rows) smaller than this are checked on the calling thread: starting the
 * workers and warming their JIT costs ~0.2–0.35 s of CPU, which a 100 MB file does not win back on
 * two busy cores.
 */
export const PARALLEL_MIN_BYTES = 128 * 1024 * 1024
const MAX_WORKERS = 4
const MIN_RANGE_BYTES = 8 * 1024 * 1024
const MAX_RANGE_BYTES = 64 * 1024 * 1024

export interface RangeJob {
  file: string
  start: number
  /** Rows starting at or after this offset belong to the next range (undefined: to EOF). */
  end?: number
  headerLen: number
  spec: CheckSpec
}

/** One range's scan and checks; its lines count from 0 at the range's first row. */
export interface RangeOutcome {
  scan: CsvScanResult
  state: RangeState
}

/** Check the rows of one range on this thread (the worker's job, and the fallback). */
export async function checkRange(job: RangeJob): Promise<RangeOutcome> {
  const checker = new RangeChecker(job.spec)
  const scan = await scanCsv(job.file, {onRow: (row, _n, line) => checker.check(row, line)}, {start: job.start, end: job.end, headerLen: job.headerLen, line: 0})
  return {scan, state: checker.state}
}

/** The range size: TRACEBLOC_CSV_RANGE_BYTES forces one (tests split small files with it). */
export function rangeBytes(bytes: number, workers: number): number | null {
  const forced = Number(process.env.TRACEBLOC_CSV_RANGE_BYTES)
  if (Number.isFinite(forced) && forced > 0) return Math.floor(forced)
  if (workers < 2 || bytes < PARALLEL_MIN_BYTES) return null
  // several ranges per worker, handed out as workers free up: a core slowed by other work then takes
  // fewer ranges instead of holding the whole run back
  return Math.min(MAX_RANGE_BYTES, Math.max(MIN_RANGE_BYTES, Math.ceil(bytes / (4 * workers))))
}

/** min(cores, 4); TRACEBLOC_CSV_WORKERS overrides it (1 = never split, for comparisons). */
export function workerCount(): number {
  const forced = Number(process.env.TRACEBLOC_CSV_WORKERS)
  return Number.isInteger(forced) && forced > 0 ? forced : Math.min(availableParallelism(), MAX_WORKERS)
}

/** Offsets just after the first newline at or after each nominal cut (ranges never start mid-row unless a quoted newline fools the guess). */
async function cutPoints(file: string, from: number, size: number, step: number): Promise<number[]> {
  const fh = await open(file, 'r')
  const buf = Buffer.allocUnsafe(64 * 1024)
  const starts = [from]
  try {
    // each nominal cut is a step after the previous real one (a long row pushes the rest along)
    for (let at = from + step; at < size; at = starts.at(-1)! + step) {
      let p = at - 1
      let cut = size
      while (p < size) {
        const {bytesRead} = await fh.read(buf, 0, buf.length, p)
        if (bytesRead === 0) break
        const k = buf.subarray(0, bytesRead).indexOf(10)
        if (k >= 0) { cut = p + k + 1; break }
        p += bytesRead
      }
      if (cut >= size) break
      starts.push(cut)
    }
  } finally {
    await fh.close()
  }
  return starts
}

const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C'])

/**
 * The worker's Node flags: the parent's (tsx's --import under tests and benches) — except that a
 * parent run as `node --input-type=module -e …` (the preflight bench) has --input-type, which a worker
 * started from a file refuses; it then gets only the module-loading flags.
 */
function workerExecArgv(): string[] | undefined {
  const argv = process.execArgv
  if (!argv.some((a) => a === '--input-type' || a.startsWith('--input-type='))) return undefined
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const eq = a.indexOf('=')
    if (LOADER_FLAGS.has(eq > 0 ? a.slice(0, eq) : a)) {
      out.push(a)
      if (eq < 0 && i + 1 < argv.length) out.push(argv[++i]!)
    }
  }
  return out
}

function workerUrl(): URL {
  // under tsx (tests, benches) this module is the .ts source
  return new URL(import.meta.url.endsWith('.ts') ? './csv-range-worker.ts' : './csv-range-worker.js', import.meta.url)
}

/**
 * A small pool of range workers; jobs are handed out as workers free up. A worker that dies fails its
 * job (the caller then checks that range itself); when none is left, the queued jobs fail too.
 */
class Pool {
  private readonly workers = new Set<Worker>()
  private readonly idle: Worker[] = []
  private readonly queue: Array<{id: number; job: RangeJob}> = []
  private readonly waiting = new Map<number, {resolve: (o: RangeOutcome) => void; reject: (e: Error) => void}>()
  private readonly running = new Map<Worker, number>()
  private nextId = 0

  constructor(n: number) {
    for (let i = 0; i < n; i++) {
      const w = new Worker(workerUrl(), {execArgv: workerExecArgv()})
      w.on('message', (m: {id: number; outcome?: RangeOutcome; error?: string; cli?: {exitCode: number; reason?: string; hint?: string}}) => {
        this.running.delete(w)
        if (m.error !== undefined) this.settle(m.id, m.cli ? new CliError(m.error, m.cli) : new Error(m.error))
        else this.settle(m.id, m.outcome!)
        this.idle.push(w)
        this.pump()
      })
      w.on('error', (e) => {
        this.workers.delete(w)
        const id = this.running.get(w)
        this.running.delete(w)
        if (id !== undefined) this.settle(id, e)
        if (this.workers.size === 0) for (const q of this.queue.splice(0)) this.settle(q.id, e)
      })
      this.workers.add(w)
      this.idle.push(w)
    }
  }

  run(job: RangeJob): Promise<RangeOutcome> {
    const id = this.nextId++
    const p = new Promise<RangeOutcome>((resolve, reject) => this.waiting.set(id, {resolve, reject}))
    if (this.workers.size === 0) this.settle(id, new Error('no range worker is running'))
    else {
      this.queue.push({id, job})
      this.pump()
    }
    return p
  }

  private settle(id: number, r: RangeOutcome | Error): void {
    const p = this.waiting.get(id)
    this.waiting.delete(id)
    if (r instanceof Error) p?.reject(r)
    else p?.resolve(r)
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const w = this.idle.pop()
      if (!w) return
      if (!this.workers.has(w)) continue
      const q = this.queue.shift()!
      this.running.set(w, q.id)
      w.postMessage(q)
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers].map((w) => w.terminate()))
  }
}

/** What the last checkRanges call did (tests assert that a file really was split). */
export const lastSplit = {ranges: 0, rechecked: 0}

export interface RangesResult {
  /** The verified ranges in file order (each range's lines count from 0). */
  ranges: RangeOutcome[]
  /** A range met a NUL or invalid UTF-8: the caller reports it from a single-threaded scan (exact offsets). */
  encodingProblem: boolean
}

/**
 * Check the rows in [from, size) — `from` a verified row start — in ranges of about `step` bytes on
 * `workers` threads, and return the ranges' outcomes in file order, seams verified.
 */
export async function checkRanges(file: string, from: number, size: number, step: number, workers: number, headerLen: number, spec: CheckSpec, onRange?: (bytesDone: number) => void): Promise<RangesResult> {
  const starts = await cutPoints(file, from, size, step)
  lastSplit.ranges = starts.length
  lastSplit.rechecked = 0
  const pool = new Pool(Math.max(1, Math.min(workers, starts.length)))
  try {
    const jobs = starts.map((start, i): RangeJob => ({file, start, end: starts[i + 1], headerLen, spec}))
    // null: the range's worker failed; it is checked here instead, in turn (one range in memory at a time)
    const pending = jobs.map((j) => pool.run(j).catch(() => null))
    const out: RangeOutcome[] = []
    let expected = from // where the previous verified range really stopped
    for (const [i, job] of jobs.entries()) {
      let o = await pending[i]!
      if (job.start !== expected) {
        // the cut was inside a quoted field (or the row before it swallowed this whole range)
        if (job.end !== undefined && expected >= job.end) continue
        lastSplit.rechecked++
        o = await checkRange({...job, start: expected})
      } else o ??= await checkRange(job)
      if (o.scan.nulAt !== undefined || o.scan.invalidUtf8At !== undefined) return {ranges: [], encodingProblem: true}
      out.push(o)
      expected = o.scan.end
      onRange?.(Math.min(expected, size))
    }
    return {ranges: out, encodingProblem: false}
  } finally {
    await pool.close()
  }
}
