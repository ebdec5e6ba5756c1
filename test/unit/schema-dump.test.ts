import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {test} from 'node:test'

import {dumpIngestYaml, loadIngestYaml, validateIngestConfig} from '../../src/lib/schema/index.js'

// Strings a YAML 1.1 reader would retype if written plain (booleans, nulls, ints in every base,
// sexagesimal, floats, dates, merge keys, indicators) plus harmless ones.
const TRICKY = [
  'y', 'n', 'Y', 'N', 'yes', 'No', 'on', 'OFF', 'true', 'False', '~', 'null', 'Null', '', '2024-01-01', '2024-01-01 10:00:00',
  '010', '0o10', '0x1F', '0b101', '1_000', '1:20', '-1:20', '190:20:30', '1e3', '1.0e+3', '.5', '0.', '+12', '-0', '.inf', '-.Inf',
  '.NaN', '=', '<<', '#x', 'a: b', '- x', '@x', '!x', '&x', '*x', '|', '>', "'q'", '"dq"', 'x #c', 'tab\there', 'nl\nline',
  '  lead', 'trail ', '09', '0_10', 'ü', '{a}', '[a]', '?', 'VARCHAR(255)', '/data/shared/x/images/',
]
const config = {
  apiVersion: 'tracebloc.io/v1',
  kind: 'IngestConfig',
  category: 'tabular_classification',
  table: 'no',
  intent: 'train',
  csv: '/data/shared/t/2024-01-01.csv',
  label: 'on',
  schema: Object.fromEntries(TRICKY.map((s, i) => [s === '' ? `c${i}` : s, 'VARCHAR(8)'])),
  spec: {validators: TRICKY, csv_options: {chunk_size: 1000, delimiter: ';', quotechar: "'", escapechar: '\\'}},
  target_size: [32, 32],
}

test('dumpIngestYaml round-trips every value through a YAML 1.1 (PyYAML-semantics) reader', () => {
  const text = dumpIngestYaml(config)
  const {value, warnings} = loadIngestYaml(text)
  assert.deepEqual(value, config)
  assert.deepEqual(warnings, [])
  assert.match(text, /^table: 'no'$/m)
})

test('a dumped config with yes/no-looking strings stays valid', () => {
  assert.deepEqual(validateIngestConfig(loadIngestYaml(dumpIngestYaml({...config, schema: {a: 'INT'}})).value), [])
})

const py = spawnSync('python3', ['-c', 'import yaml'], {encoding: 'utf8'})
const hasPyYaml = py.status === 0
test('PyYAML itself reads the dump back to the same values', {skip: hasPyYaml ? false : 'python3 with PyYAML not available on this machine'}, () => {
  const r = spawnSync('python3', ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin.read()), sys.stdout)'], {input: dumpIngestYaml(config), encoding: 'utf8'})
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), config)
})

test('a top-level key that starts like a document marker (--- or ...) is quoted, so it loads back as that key', () => {
  const config = {'--- a': '', "--- it's": {'--- n': 2}, '...': 1, '---': 3, a: []}
  const text = dumpIngestYaml(config)
  assert.match(text, /^'--- a': ''$/m)
  assert.deepEqual(loadIngestYaml(text).value, config)
})
