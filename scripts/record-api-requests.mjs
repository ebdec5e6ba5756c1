// Regenerates test/fixtures/api-requests/cli-requests.jsonl, the corpus the API contract test
// replays: runs the CLI's e2e tests (or the files given) with the sandbox's request recorder on,
// keeps the requests the CLI sent (not the sandbox's own), one example per request shape,
// with run-specific values (hex ids, timestamps) zeroed so the file diffs cleanly.
//   npm run record:api-requests [-- [--add] test/e2e/push.test.ts …]
// --add keeps the shapes already in the corpus (for recording a few files only).
import {spawnSync} from 'node:child_process'
import {globSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {requestShape} from '../test/sandbox/apiserver/validation/replay.ts'
import {SANDBOX_USER_AGENT} from '../test/sandbox/index.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const CORPUS = path.join(root, 'test/fixtures/api-requests/cli-requests.jsonl')

/** Zero run-specific values: hex ids and random suffixes, timestamps. Keeps every value's shape and validity. */
export function normalize(v) {
  if (typeof v === 'string') {
    return v
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '2026-01-01T00:00:00Z')
      .replace(/(?<![0-9a-z])[0-9a-f]{8,}(?![0-9a-z])/g, (m) => '0'.repeat(m.length))
      .replace(/\/tmp\/[^\s'"]+/g, '/tmp/x')
  }
  if (Array.isArray(v)) return v.map(normalize)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [normalize(k), normalize(x)]))
  return v
}

/** CLI requests of a recording, one per shape, normalized, sorted by shape. */
export function corpusOf(lines) {
  const byShape = new Map()
  for (const line of lines) {
    if (!line.trim()) continue
    const rec = JSON.parse(line)
    if (rec.userAgent === SANDBOX_USER_AGENT) continue
    const {userAgent: _ua, status: _st, shape: _sh, ...req} = rec
    const n = normalize(req)
    const shape = requestShape(n)
    if (!byShape.has(shape)) byShape.set(shape, {shape, ...n})
  }
  return [...byShape.values()].sort((a, b) => a.shape.localeCompare(b.shape))
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2)
  const add = args.includes('--add')
  const given = args.filter((a) => a !== '--add')
  const files = given.length ? given : globSync('test/e2e/*.test.ts', {cwd: root}).sort()
  const dir = mkdtempSync(path.join(tmpdir(), 'api-record-'))
  const file = path.join(dir, 'requests.jsonl')
  const r = spawnSync(process.execPath, [path.join(root, 'scripts/test.mjs'), ...files], {cwd: root, stdio: 'inherit', env: {...process.env, TRACEBLOC_SANDBOX_RECORD: file}})
  if (!existsSync(file)) {
    console.error('no requests were recorded')
    process.exit(1)
  }
  const kept = add && existsSync(CORPUS) ? readFileSync(CORPUS, 'utf8').split('\n') : []
  const corpus = corpusOf([...kept, ...readFileSync(file, 'utf8').split('\n')])
  writeFileSync(CORPUS, corpus.map((c) => JSON.stringify(c)).join('\n') + '\n')
  rmSync(dir, {recursive: true, force: true})
  console.log(`${corpus.length} request shapes → ${path.relative(root, CORPUS)}${r.status ? ` (the tests exited ${r.status}: check the corpus covers what you need)` : ''}`)
}
