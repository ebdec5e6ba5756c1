// The worst-case inputs of the ReDoS tests (redos.test.ts), run on a worker thread each (helpers/off-thread.ts):
// every function here feeds one user- or cluster-supplied text to the code that reads it, sized so the
// backtracking patterns these replaced would run for many minutes to hours.
import {detectCategories} from '../../src/lib/local/detect.js'
import {planDataset} from '../../src/lib/local/index.js'
import {inferColumnType} from '../../src/lib/local/infer.js'
import {runtimeIssues, sqlTypeProblem} from '../../src/lib/schema/checks.js'
import {BannerParser} from '../../src/lib/watch/banner.js'
import {LogView} from '../../src/lib/watch/log-view.js'

/** A label cell of many "O " and a bad last tag: each O had two parses (2^tokens). */
export async function bioDetection(dir: string): Promise<string[]> {
  return (await detectCategories(dir)).candidates
}

/** The numeric checks: schema inference and the FLOAT column check, on a cell of digits with a bad last character. */
export async function numericCell(csv: string, digits: number): Promise<{inferred: string; error: string}> {
  const inferred = inferColumnType(['1'.repeat(digits) + 'x'])
  const error = await planDataset({path: csv, table: 't', category: 'tabular_regression', labelColumn: 'y', schema: {x: 'FLOAT', y: 'FLOAT'}}).then(
    () => 'no error',
    (e: Error) => e.message,
  )
  return {inferred, error}
}

/** The progress parser on a long blank line (not a bar), then a real bar line; on a terminal and off one. */
export function progressLine(blanks: number): {live: string; plain: string[]} {
  let live = ''
  const plain: string[] = []
  const a = new LogView((t) => (live = t), true)
  const b = new LogView((t) => plain.push(t.length > 40 ? `${t.slice(0, 10)}…(${t.length})` : t), false)
  for (const v of [a, b]) {
    v.push(' '.repeat(blanks))
    v.push(' '.repeat(blanks) + 'Ingesting records: 50%|##   | 5/10')
    v.push(' '.repeat(blanks) + 'Ingesting records: 50%|##   | 5/10')
  }
  return {live: `${live.length} ${live.trimStart()}`, plain}
}

/** A long log: the live view after every line, as the task list gets it. */
export function logViewLines(n: number): {frames: number; lastLength: number; ok: boolean} {
  let frames = 0
  let last = ''
  const v = new LogView((t) => {
    frames++
    last = t
  }, true)
  const expected: string[] = []
  for (let i = 0; i < n; i++) {
    v.push(`line ${i}`)
    expected.push(`line ${i}`)
    if (i % 1000 === 0) v.push(`Ingesting records: ${i % 100}%|# | ${i}/${n}`)
  }
  v.push('Ingesting records: 100%|##| done')
  return {frames, lastLength: last.length, ok: last.startsWith('line 0\nIngesting records: 0%|# | 0/') && last.endsWith(`line ${n - 1}\nIngesting records: 100%|##| done`)}
}

/** The summary banner's id and count lines, as long lines from the cluster. */
export function banner(n: number): {id?: string; total: number; processed: number} {
  const p = new BannerParser()
  p.push('📊 INGESTION SUMMARY 📊')
  p.push('Ingestor ID: a' + ' '.repeat(n) + 'b\r')
  p.push('📈 Total Records Found: ' + '1'.repeat(n) + 'x')
  p.push('✅ Successfully Processed: ' + '1,'.repeat(n / 2) + '5  ')
  p.push('═'.repeat(60))
  const r = p.result()!
  return {id: r.ingestorId && `${r.ingestorId.slice(0, 2)}…${r.ingestorId.length}`, total: r.totalRecords, processed: r.processedRecords}
}

/** An SQL type from --schema or an ingest config: a name, a long run of blanks, a bad last character. */
export function sqlType(blanks: number): Array<string | undefined> {
  return [sqlTypeProblem('INT' + ' '.repeat(blanks) + '!')?.why, sqlTypeProblem('INT' + ' UNSIGNED'.repeat(blanks / 9) + '!')?.why, sqlTypeProblem('  DECIMAL (10, 2) ' + ' '.repeat(blanks))?.why]
}

/** A sidecar folder value from an ingest config: a long run of slashes that is not the end. */
export function sidecarSlashes(n: number): string[] {
  return runtimeIssues({images: '/data/' + '/'.repeat(n) + 'x', label_file: '/data/labels.csv'}).map((i) => i.keyword)
}

/** Every listed regex on its worst case: [pattern, flags, attack] → does it match. */
export function regexTable(cases: Array<[string, string, string]>): boolean[] {
  return cases.map(([source, flags, attack]) => new RegExp(source, flags.replaceAll('g', '')).test(attack))
}
