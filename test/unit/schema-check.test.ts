import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {test} from 'node:test'

import {SCHEMA_SHA256, SCHEMA_VERSION} from '../../src/lib/schema/index.js'
import {SCHEMA_FILE} from '../../src/lib/schema/version.js'

const root = path.resolve(import.meta.dirname, '../..')
const script = path.join(root, 'scripts/schema-check.mjs')
const run = (env: Record<string, string>) => spawnSync(process.execPath, [script], {cwd: root, encoding: 'utf8', env: {...process.env, ...env}})

test('the vendored schema hashes to the recorded SCHEMA_SHA256', () => {
  const bytes = readFileSync(path.join(root, SCHEMA_FILE))
  assert.equal(createHash('sha256').update(bytes).digest('hex'), SCHEMA_SHA256)
  assert.equal(SCHEMA_VERSION, 'v1')
  assert.equal(JSON.parse(bytes.toString('utf8')).$id, 'https://tracebloc.io/schemas/ingest.v1.json')
})

test('the generated validator was built from this exact schema', async () => {
  const gen = await import('../../src/lib/schema/generated/ingest-validator.js')
  assert.equal(gen.schemaSha256, SCHEMA_SHA256, 'stale generated validator: run npm run build')
})

const upstream = path.resolve(root, '../shared/reference/schema/ingest.v1.json')
test('the vendored schema matches the recorded hash', () => {
  const r = run({TRACEBLOC_SCHEMA_UPSTREAM: path.join(tmpdir(), 'does-not-exist', 'ingest.v1.json')})
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /matches the recorded hash/)
})

test('schema-check passes against the real upstream copy', {skip: existsSync(upstream) ? false : `${upstream} not present (clean clone): vendored copies checked instead`}, () => {
  const r = run({})
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /is identical/)
})

test('schema-check fails when upstream changed', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'schema-check-'))
  const changed = path.join(dir, 'ingest.v1.json')
  writeFileSync(changed, readFileSync(path.join(root, SCHEMA_FILE), 'utf8').replace('"train", "test"', '"train", "test", "eval"'))
  const r = run({TRACEBLOC_SCHEMA_UPSTREAM: changed})
  assert.equal(r.status, 1)
  assert.match(r.stderr, /differs from the vendored schema\/ingest\.v1\.json/)
})

test('schema-check reports an absent upstream without failing', () => {
  const r = run({TRACEBLOC_SCHEMA_UPSTREAM: path.join(tmpdir(), 'does-not-exist', 'ingest.v1.json')})
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /not present: drift check against upstream skipped/)
})
