// Drift gate for the vendored ingest schema:
//  1. schema/ingest.v1.json must hash to SCHEMA_SHA256 recorded in src/lib/schema/version.ts;
//  2. where the upstream reference copy is present (../shared/reference/schema/ingest.v1.json, or
//     $TRACEBLOC_SCHEMA_UPSTREAM), it must be byte-identical to the vendored copy.
// Exit 0 when both hold (a missing upstream is reported and skipped), 1 otherwise.
import {createHash} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex')

export function checkSchema({upstream} = {}) {
  const problems = []
  const notes = []
  const versionTs = readFileSync(path.join(root, 'src/lib/schema/version.ts'), 'utf8')
  const recorded = (versionTs.match(/SCHEMA_SHA256 = '([0-9a-f]{64})'/) ?? [])[1]
  const file = (versionTs.match(/SCHEMA_FILE = '([^']+)'/) ?? [])[1]
  if (!recorded || !file) return {ok: false, problems: ['src/lib/schema/version.ts: SCHEMA_SHA256 / SCHEMA_FILE not found'], notes}
  const vendoredPath = path.join(root, file)
  const vendored = readFileSync(vendoredPath)
  const actual = sha256(vendored)
  if (actual !== recorded) {
    problems.push(`${file} hashes to ${actual} but src/lib/schema/version.ts records ${recorded}: update the recorded hash only together with a deliberate re-vendor`)
  } else {
    notes.push(`${file}: sha256 ${actual} matches the recorded hash`)
  }
  const up = upstream ?? process.env.TRACEBLOC_SCHEMA_UPSTREAM ?? path.resolve(root, '../shared/reference/schema/ingest.v1.json')
  if (existsSync(up)) {
    const upHash = sha256(readFileSync(up))
    if (upHash !== actual) problems.push(`upstream ${up} (sha256 ${upHash}) differs from the vendored ${file} (sha256 ${actual}): re-vendor it (cp) and update SCHEMA_SHA256`)
    else notes.push(`upstream ${up} is identical`)
  } else {
    notes.push(`upstream ${up} not present: drift check against upstream skipped`)
  }
  return {ok: problems.length === 0, problems, notes}
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const {ok, problems, notes} = checkSchema()
  for (const n of notes) console.log(n)
  for (const p of problems) console.error('schema-check: ' + p)
  process.exit(ok ? 0 : 1)
}
