// Text a user or the cluster supplies (CSV cells, labels, file names, flags, ingest configs, log lines)
// must never meet a regex that backtracks super-linearly. Two kinds of test:
// - the code that reads such text, each on the generated worst case of the pattern it used to have;
// - every regex literal under src/ on attacks generated from its own atoms (helpers/regex-attacks.ts), and
//   the subtle ones also on hand-written worst cases (WORST); a regex built at run time (`new RegExp`) fails
//   this file until an instance of it is listed in DYNAMIC.
// Each runs on a worker thread: a catastrophic regex blocks its thread, and the test's timeout (the
// hang guard, no timing) can only fire on a thread that is not blocked.
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'
import {fileURLToPath} from 'node:url'

import ts from 'typescript'

import {offThread} from '../helpers/off-thread.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const cases = new URL('redos-worst-cases.ts', import.meta.url)
const HANG_GUARD = {timeout: 60_000}
const N = 100_000
const tmp = mkdtempSync(path.join(tmpdir(), 'tb-redos-'))
after(() => rmSync(tmp, {recursive: true, force: true}))

test('BIO label detection: 40 × "O " then "!" is not token classification (no --category)', HANG_GUARD, async (t) => {
  const dir = path.join(tmp, 'bio')
  mkdirSync(path.join(dir, 'texts'), {recursive: true})
  writeFileSync(path.join(dir, 'texts/a.txt'), 'w '.repeat(40) + '\n')
  writeFileSync(path.join(dir, 'texts/b.txt'), 'John lives here\n')
  writeFileSync(path.join(dir, 'labels.csv'), `filename,label\na.txt,${'O '.repeat(40)}!\nb.txt,B-PER O O\n`)
  assert.deepEqual(await offThread(t.signal, cases, 'bioDetection', [dir]), ['text_classification'])
  // the same long label with a good last tag is BIO
  writeFileSync(path.join(dir, 'labels.csv'), `filename,label\na.txt,${'O '.repeat(20_000)}B-PER\n`)
  assert.deepEqual(await offThread(t.signal, cases, 'bioDetection', [dir]), ['token_classification'])
})

test('numeric checks: a cell of 1 000 000 digits and a letter is text, and not a FLOAT', HANG_GUARD, async (t) => {
  const csv = path.join(tmp, 'num.csv')
  writeFileSync(csv, `x,y\n1.5,1\n2,2\n"${'1'.repeat(1_000_000)}x",3\n`)
  const r = await offThread<{inferred: string; error: string}>(t.signal, cases, 'numericCell', [csv, 1_000_000])
  assert.equal(r.inferred, 'TEXT')
  assert.match(r.error, /x.*FLOAT|FLOAT.*x/s)
  assert.match(r.error, /line 4/)
})

test('progress parser: a 1 000 000-blank log line is not a bar; a bar after blanks still is', HANG_GUARD, async (t) => {
  const r = await offThread<{live: string; plain: string[]}>(t.signal, cases, 'progressLine', [1_000_000])
  // live: the blank line stays, the bar is one line replaced in place
  assert.equal(r.live, `${1_000_000 + 1 + 1_000_000 + 34} Ingesting records: 50%|##   | 5/10`)
  // off a terminal: the repeated bar line (same percentage) is printed once
  assert.deepEqual(r.plain, [`          …(1000000)`, `          …(1000034)`])
})

test('LogView: 200 000 lines on a terminal, each update the whole view, without re-joining it', HANG_GUARD, async (t) => {
  const r = await offThread<{frames: number; lastLength: number; ok: boolean}>(t.signal, cases, 'logViewLines', [200_000])
  assert.equal(r.frames, 200_000 + 200 + 1)
  assert.ok(r.ok)
})

test('summary banner: long id and count lines from the cluster', HANG_GUARD, async (t) => {
  assert.deepEqual(await offThread(t.signal, cases, 'banner', [1_000_000]), {id: `a …${1_000_002}`, total: 0, processed: Number('1'.repeat(500_000) + '5')})
})

test('SQL types from --schema / ingest.yaml: long blank runs', HANG_GUARD, async (t) => {
  const r = await offThread<Array<string | undefined>>(t.signal, cases, 'sqlType', [N])
  assert.match(r[0]!, /write it as INT/)
  assert.match(r[1]!, /write it as INT/)
  assert.equal(r[2], undefined)
})

test('ingest.yaml sidecar folder: a long run of slashes', HANG_GUARD, async (t) => {
  assert.deepEqual(await offThread(t.signal, cases, 'sidecarSlashes', [1_000_000]), ['inPodPath', 'sidecarLayout'])
})

// ---- every regex literal where user or cluster text is read, with its worst case ----

const r = (n: number, s: string) => s.repeat(n)
/** regex literal as written in the source → [attack, does it match] */
const WORST: Record<string, Array<[string, boolean]>> = {
  "/'/g": [[r(N, "'"), true]],
  '/(Z|[+-]\\d{2}:?\\d{2})$/': [[r(N, '+1') + 'x', false]],
  '/-([a-z])/g': [[r(N, '-'), false]],
  '/Ingestion failed:|Validator failed:|validation failed:/': [[r(N / 10, 'Ingestion faile Validator faile'), false]],
  '/Ingestion failed:|Validator failed:|validation failed:|^ERROR|\\| ERROR|Traceback|Error:|is not valid YAML|must be a mapping|INGEST_CONFIG/': [[r(N / 10, 'ErrorIngestion failedTracebac| ERRO'), false]],
  '/[-/]/': [[r(N, '1'), false]],
  '/[: ]/': [[r(N, 'a'), false]],
  '/[A-Z]/g': [[r(N, 'a'), false]],
  '/[\\\\/]/': [[r(N, 'a'), false]],
  '/[\\u0000-\\u001f\\u007f]/': [[r(N, 'a'), false]],
  '/[\\u0000-\\u001f\\u007f`]/': [[r(N, 'a'), false]],
  '/[^A-Za-z0-9_]/g': [[r(N, 'a'), false]],
  '/\\.(jpe?g|png|xml|txt|text)$/i': [[r(N, '.jpeg') + 'x', false]],
  '/\\.csv$/i': [[r(N, '.csv') + 'x', false]],
  '/\\//g': [[r(N, 'a'), false]],
  '/\\r?\\n$/': [[r(N, '\r\n') + 'x', false]],
  '/\\r?\\n/': [[r(N, '\r'), false]],
  '/\\s+/': [[r(N, ' ') + 'x', true]],
  '/\\u001B\\[[0-9;]*m/g': [['\u001b[' + r(N, '1;'), false], [r(N / 100, '\u001b[' + r(98, '1')), false]],
  '/^#\\/?/': [[r(N, '/'), false]],
  '/^((?:---|\\.\\.\\.)(?:[ \\t][^\\n]*?)?)(:(?: |$))/gm': [[r(N / 200, '--- ' + r(100, ':x') + '\n'), false]],
  '/^(DATE|DATETIME)$/': [[r(N, 'DATE'), false]],
  '/^(O|[BI]-\\S+)$/': [['B-' + r(N, 'x') + ' ', false]],
  '/^([A-Za-z]+)(?:\\s*\\(([^()]*)\\))?((?:\\s+[A-Za-z]+)*)$/': [['INT' + r(N, ' ') + '!', false], ['INT' + r(N, ' a') + '!', false], ['INT' + r(N, 'a') + '!', false], ['DECIMAL' + r(N, ' ') + '(1)', true]],
  '/^([A-Za-z_][\\w.-]*)/': [[r(N, 'a') + '!', true]],
  '/^(image_id|data_id)$/i': [[r(N, 'image_id'), false]],
  '/^---(\\s|$)/': [[r(N, '-'), false]],
  '/^--/': [[r(N, '--'), true]],
  '/^Command (.+) not found\\.$/': [['Command ' + r(N, ' not found') + 'x', false]],
  '/^[&*]/': [[r(N, '&'), true]],
  '/^[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/': [[r(N, '1') + 'x', false], [r(N, '1') + '.' + r(N, '1') + 'x', false], [r(N, '1') + 'e' + r(N, '1') + 'x', false], ['.' + r(N, '1') + 'x', false], [r(N, '1') + '.' + r(N, '1') + 'e-' + r(N, '1'), true]],
  '/^[+-]?0[0-9]+$/': [[r(N, '0') + 'x', false]],
  '/^[+-]?[0-9]+$/': [[r(N, '1') + 'x', false]],
  '/^[A-Za-z]/': [[r(N, '_'), false]],
  '/^[A-Za-z][A-Za-z0-9_]*$/': [[r(N, 'a') + '!', false]],
  '/^[BIES]-/': [[r(N, 'B'), false]],
  '/^[BIOES](?:-\\S+)?(?: [BIOES](?:-\\S+)?)*$/': [[r(N, 'O ') + '!', false], [r(N, 'B-x ') + '!', false], ['B-' + r(N, 'x') + '\t', false], [r(N, 'B-PER I-PER O ') + 'O', true]],
  '/^\\d{1,10}$/': [[r(N, '1'), false]],
  '/^\\d{4}-\\d\\d-\\d\\dT/': [[r(N, '1'), false]],
  '/^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$/': [['2024-01-01T00:00:00.' + r(N, '1') + 'x', false]],
  '/^\\d{4}-\\d{2}-\\d{2}[ T]\\d|^(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\\b|^[A-Za-z ]+:\\s+\\d+%\\|/': [[r(N, 'a ') + ':' + r(N, ' ') + 'x', false], [r(N, 'a :'), false]],
  '/^\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?$/': [['2024-01-01T00:00:00.' + r(N, '1') + 'x', false]],
  '/^\\d{4}[-/]\\d{2}[-/]\\d{2}$/': [[r(N, '1'), false]],
  '/^\\d{4}[-/]\\d{2}[-/]\\d{2}([ T]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?)?(Z|[+-]\\d{2}:?\\d{2})?$/': [['2024-01-01T00:00:00.' + r(N, '1') + 'x', false], ['2024-01-01T00:00:00.' + r(N, '1') + '+0100x', false]],
  '/^\\s*([A-Za-z]+)/': [[r(N, ' ') + '1', false]],
  '/^\\s*(\\d+)\\s*[xX×,]\\s*(\\d+)\\s*$/': [['1x1' + r(N, ' ') + '!', false], [r(N, ' ') + '1' + r(N, ' ') + '!', false], [r(N, '1') + 'x' + r(N, '1') + '!', false]],
  '/^\\uFEFF/': [[r(N, 'a'), false]],
  '/^_+/': [[r(N, '_') + 'a', true]],
  '/_mask\\.png$/i': [[r(N, '_mask.png') + 'x', false]],
  '/\\\\/g': [[r(N, 'a'), false]],
  '/<%=\\s*config\\.bin\\s*%>/g': [['<%=' + r(N, ' ') + 'x', false], [r(N, '<%= config.bin ') + 'x', false]],
  '/^\\d+$/': [[r(N, '1') + 'x', false]],
  '/^(\\d+(?:\\.\\d+)?)%$/': [[r(N, '1') + '.' + r(N, '1') + 'x', false], [r(N, '1') + 'x', false]],
  '/[",\\r\\n]/': [[r(N, 'a'), false]],
  '/\\.xml$/i': [[r(N, '.xml') + 'x', false]],
  '/~0/g': [[r(N, '~'), false]],
  '/~1/g': [[r(N, '~'), false]],
}

const SCANNED = ['src/lib', 'src/commands']

function regexLiterals(): Map<string, string> {
  const found = new Map<string, string>() // literal → first file:line
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const p = path.join(dir, n)
      if (statSync(p).isDirectory()) return n === 'generated' ? [] : walk(p)
      return p.endsWith('.ts') ? [p] : []
    })
  for (const file of SCANNED.flatMap((d) => walk(path.join(root, d)))) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
    const visit = (n: ts.Node): void => {
      const where = `${path.relative(root, file)}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`
      if (n.kind === ts.SyntaxKind.RegularExpressionLiteral && !found.has(n.getText())) found.set(n.getText(), where)
      if ((ts.isNewExpression(n) || ts.isCallExpression(n)) && n.expression.getText() === 'RegExp') found.set(`RegExp(${n.getText()})`, where)
      ts.forEachChild(n, visit)
    }
    visit(sf)
  }
  return found
}

/** Regexes built at run time, by where they are built: an instance as the code builds it, and its worst cases. */
const DYNAMIC: Record<string, {source: string; flags: string; attacks: Array<[string, boolean]>}> = {
  // a profile or key name (file.ts: letters, digits, _ . -), escaped, then `\s*:`
  'src/lib/config/file.ts:RegExp(new RegExp(`"${escapeRe(profile)}"\\\\s*:`))': {source: '"prod\\.eu"\\s*:', flags: '', attacks: [['"prod.eu"' + r(N, ' ') + '!', false], [r(N, '"prod.eu" '), false]]},
  'src/lib/config/file.ts:RegExp(new RegExp(`"${escapeRe(key)}"\\\\s*:`))': {source: '"bwlimit"\\s*:', flags: '', attacks: [['"bwlimit"' + r(N, ' ') + ':', true]]},
  // a release tarball's name for a version (digits and dots, escaped) and this platform
  'src/lib/upgrade/releases.ts:RegExp(new RegExp(`^tracebloc-v${esc}-[0-9a-f]{7,40}-${target}\\\\.tar\\\\.gz$`))': {source: '^tracebloc-v1\\.2\\.3-[0-9a-f]{7,40}-linux-x64\\.tar\\.gz$', flags: '', attacks: [['tracebloc-v1.2.3-' + r(N, 'a') + '-linux-x64.tar.gz', false], ['tracebloc-v1.2.3-abcdef0-linux-x64.tar.gz', true]]},
  // a range check line of the pod, sha256 or md5 digits
  "src/lib/staging/large-file.ts:RegExp(new RegExp(`^R (\\\\d+) ([0-9a-f]{${HEX_DIGITS[h.algo]}})$`, 'gm'))": {source: '^R (\\d+) ([0-9a-f]{64})$', flags: 'gm', attacks: [['R ' + r(N, '1') + ' x', false], [r(N / 10, 'R 1 ' + r(6, 'a') + '\n'), false]]},
}

const literals = regexLiterals()
const inSource = (key: string) => [...literals].some(([lit, where]) => key === lit || key === `${where.replace(/:\d+$/, '')}:${lit}`)

test('every regex built at run time is listed in DYNAMIC; nothing listed is gone from the source', () => {
  const missing = [...literals].filter(([lit, where]) => lit.startsWith('RegExp(') && !(`${where.replace(/:\d+$/, '')}:${lit}` in DYNAMIC)).map(([lit, where]) => `${where} ${lit}`)
  assert.deepEqual(missing, [], 'add an instance of each to DYNAMIC in test/unit/redos.test.ts with its worst cases (or replace it with a literal or a scan)')
  const stale = [...Object.keys(WORST), ...Object.keys(DYNAMIC)].filter((key) => !inSource(key))
  assert.deepEqual(stale, [], 'these are no longer in the source: remove them from WORST / DYNAMIC')
})

test('hand-written worst cases: the right answer, in linear time', HANG_GUARD, async (t) => {
  const rows: Array<[string, string, string]> = []
  const expected: boolean[] = []
  for (const [lit, attacks] of Object.entries(WORST)) {
    const end = lit.lastIndexOf('/')
    for (const [attack, match] of attacks) {
      rows.push([lit.slice(1, end), lit.slice(end + 1), attack])
      expected.push(match)
    }
  }
  for (const {source, flags, attacks} of Object.values(DYNAMIC)) {
    for (const [attack, match] of attacks) {
      rows.push([source, flags, attack])
      expected.push(match)
    }
  }
  const got = await offThread<boolean[]>(t.signal, cases, 'regexTable', [rows])
  assert.deepEqual(got.map((m, i) => `${rows[i]![0]} → ${m}`), expected.map((m, i) => `${rows[i]![0]} → ${m}`))
})

/**
 * Each regex on its own guard: a regex that backtracks quadratically on a pump of 200 000 characters runs for
 * minutes (one that did: 1.8 s at 20 000, 100× that at 200 000), a linear one for milliseconds, so the guard (a
 * hang guard, not a timing) names it.
 */
const PER_REGEX_GUARD_MS = 30_000

test('every regex literal in src/ on attacks generated from its own atoms (200 000 characters each)', {timeout: 30 * 60_000}, async () => {
  const regexes = [...literals].filter(([lit]) => !lit.startsWith('RegExp(')).map(([lit, where]) => {
    const end = lit.lastIndexOf('/')
    return {source: lit.slice(1, end), flags: lit.slice(end + 1), where}
  })
  // the sweep's own worker, so a hang names its regex; -- a regex the guard stops is reported with its place
  const {Worker} = await import('node:worker_threads')
  const w = new Worker(new URL('../helpers/regex-sweep-worker.ts', import.meta.url), {workerData: {regexes: regexes.map((x) => [x.source, x.flags]), size: 200_000}})
  try {
    await new Promise<void>((resolve, reject) => {
      let guard: NodeJS.Timeout | undefined
      w.on('message', (m: {start?: number; done?: boolean}) => {
        clearTimeout(guard)
        if (m.done) return resolve()
        const x = regexes[m.start!]!
        guard = setTimeout(() => reject(new Error(`${x.where} /${x.source}/${x.flags} did not finish its generated attacks within the hang guard: it backtracks super-linearly; rewrite it or replace it with a scan`)), PER_REGEX_GUARD_MS)
      })
      w.once('error', reject)
      w.once('exit', () => reject(new Error('the sweep worker stopped before answering')))
    })
  } finally {
    await w.terminate()
  }
})
