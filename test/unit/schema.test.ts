import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, test} from 'node:test'

import {CliError} from '../../src/lib/output/errors.js'
import {formatIssues, loadIngestYaml, validateIngestConfig, type SchemaIssue} from '../../src/lib/schema/index.js'

const root = path.resolve(import.meta.dirname, '../..')
const fixtures = path.join(root, 'test/fixtures/configs')
const upstreamExamples = path.resolve(root, '../shared/reference/examples')
const RUNTIME = new Set(['tableName', 'sqlType', 'reservedColumn', 'inPodPath', 'sidecarLayout', 'columnName'])
const COMBINATORS = new Set(['oneOf', 'anyOf', 'not'])

const load = (name: string) => loadIngestYaml(readFileSync(path.join(fixtures, name), 'utf8'), name)
const issuesOf = (name: string) => validateIngestConfig(load(name).value)
const lines = (issues: SchemaIssue[]) => issues.map((i) => `${i.path}|${i.keyword}`)

describe('parity with the ingestor (goldens from PyYAML + jsonschema 4.26 Draft7Validator)', () => {
  // expected.json is produced by test/fixtures/configs/gen-expected.py running the ingestor's steps.
  const expected = JSON.parse(readFileSync(path.join(fixtures, 'expected.json'), 'utf8')).files as Record<
    string,
    {outcome: string; errors?: Array<{path: string; keyword: string; message: string}>}
  >
  for (const [file, exp] of Object.entries(expected)) {
    if (exp.outcome !== 'valid' && exp.outcome !== 'invalid') continue
    test(`${file}: same (path, keyword) list in the same order, same messages outside combinators`, () => {
      const schemaOnly = issuesOf(file).filter((i) => !RUNTIME.has(i.keyword))
      assert.deepEqual(lines(schemaOnly), (exp.errors ?? []).map((e) => `${e.path}|${e.keyword}`))
      schemaOnly.forEach((issue, i) => {
        if (!COMBINATORS.has(issue.keyword)) assert.equal(issue.message, exp.errors?.[i].message, `${file} line ${i}`)
      })
    })
  }
  test('outcomes that stop before the schema (YAML error, not a mapping) are errors here too', () => {
    for (const [file, exp] of Object.entries(expected)) {
      if (exp.outcome === 'yaml_error') assert.throws(() => load(file), (e: CliError) => e.exitCode === 2 && e.reason === 'yaml_syntax', file)
      if (exp.outcome === 'not_mapping') {
        const issues = validateIngestConfig(load(file).value)
        assert.deepEqual(lines(issues), ['<root>|type'], file)
        assert.match(issues[0].message, /must be a mapping at the top level/)
      }
    }
  })
})

describe('the ingestor config-error table (docs/protocol.md#ingestor-config-errors), row by row', () => {
  // [path, message] as printed after the header; combinator rows check path + keyword only.
  const rows: Array<[string, Array<[string, string]>]> = [
    ['p01-image-missing-images-label.yaml', [['<root>', "'images' is a required property"], ['<root>', "'label' is a required property"]]],
    ['p02-empty-mapping.yaml', [
      ['<root>', "'apiVersion' is a required property"], ['<root>', "'kind' is a required property"], ['<root>', "'category' is a required property"],
      ['<root>', "'table' is a required property"], ['<root>', "'intent' is a required property"], ['<root>', "exactly one of 'csv' or 'json' is required; neither is set"],
    ]],
    ['p03-many-top-level.yaml', [
      ['<root>', "Additional properties are not allowed ('foo' was unexpected)"],
      ['<root>', "exactly one of 'csv' or 'json' is required, not both ('csv' and 'json' are set)"],
      ['apiVersion', "'tracebloc.io/v1' was expected"],
      ['category', "'image_classfication' is not one of ['image_classification', 'object_detection', 'keypoint_detection', 'semantic_segmentation', 'text_classification', 'token_classification', 'sentence_pair_classification', 'tabular_classification', 'tabular_regression', 'time_series_forecasting', 'time_series_classification', 'time_to_event_prediction', 'masked_language_modeling', 'causal_language_modeling', 'seq2seq', 'embeddings']"],
      ['intent', "'training' is not one of ['train', 'test']"],
      ['table', "'' should be non-empty"],
    ]],
    ['p04-keypoint-ranges.yaml', [
      ['number_of_keypoints', '0 is less than the minimum of 1'], ['target_size', '[0, 448, 3] is too long'], ['target_size.0', '0 is less than the minimum of 1'],
    ]],
    ['p05-regression-label-string.yaml', [['label', "'price' is not of type 'object'"]]],
    ['p06-mlm-label.yaml', [['<root>', "'label' must not be set for category 'masked_language_modeling'"]]],
    ['p07-text-spec.yaml', [
      ['data_id', "'column' is a required property"],
      ['spec.csv_options', "Additional properties are not allowed ('sep' was unexpected)"],
      ['spec.csv_options.chunk_size', '0 is less than the minimum of 1'],
      ['spec.file_options.extension', "'.bmp' is not one of ['.jpg', '.jpeg', '.png', '.txt', '.text', '.xml']"],
      ['spec.sidecars.0', "'source' is a required property"],
    ]],
    ['p08-unknown-keys-label-object.yaml', [
      ['<root>', "Additional properties are not allowed ('a', 'b' were unexpected)"],
      ['label', "{'column': 'l', 'policy': 'raw', 'x': 1} is not valid: expected a non-empty string, or an object with column (required), policy ('passthrough' or 'bucket') and no other keys"],
    ]],
    ['p09-wrong-types.yaml', [['number_of_keypoints', "'3' is not of type 'integer'"], ['schema.a', "1 is not of type 'string'"], ['table', "5 is not of type 'string'"]]],
    ['p10-empty-collections.yaml', [['schema', '{} should be non-empty'], ['target_size', '[] is too short']]],
  ]
  for (const [file, want] of rows) {
    test(file, () => {
      const got = issuesOf(file)
      assert.deepEqual(got.map((i) => [i.path, i.message]), want)
      assert.equal(formatIssues(got), ['ingest.yaml validation failed:', ...want.map(([p, m]) => `  ${p}: ${m}`)].join('\n'))
    })
  }
  test('combinators report one error at their node, never their branches', () => {
    assert.deepEqual(lines(issuesOf('p06-mlm-label.yaml')), ['<root>|not'])
    assert.deepEqual(lines(issuesOf('p08-unknown-keys-label-object.yaml')), ['<root>|additionalProperties', 'label|oneOf'])
    assert.deepEqual(lines(issuesOf('c02-regression-label-int.yaml')), ['label|oneOf', 'label|type'])
  })
})

describe('reference examples', () => {
  // test/fixtures/examples is a copy of ../shared/reference/examples (the ingestor's examples/yaml);
  // the upstream folder is checked too where it exists (not in a clean CI clone).
  const dirs = [path.join(root, 'test/fixtures/examples'), ...(existsSync(upstreamExamples) ? [upstreamExamples] : [])]
  for (const dir of dirs) {
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'))
    test(`${path.relative(root, dir)} holds the 12 examples`, () => assert.ok(files.length >= 12, `found ${files.length}`))
    for (const f of files) {
      test(`${path.relative(root, dir)}/${f} validates clean`, () => {
        const {value, warnings} = loadIngestYaml(readFileSync(path.join(dir, f), 'utf8'), f)
        assert.deepEqual(validateIngestConfig(value), [])
        assert.deepEqual(warnings, [])
      })
    }
  }
  test('upstream examples folder', {skip: existsSync(upstreamExamples) ? false : `${upstreamExamples} not present (clean clone): vendored copies checked instead`}, () => {
    assert.ok(readdirSync(upstreamExamples).length > 0)
  })
})

describe('YAML 1.1 semantics (PyYAML safe_load)', () => {
  test('`table: no` is the boolean false, an error at table', () => {
    assert.equal((load('y01-table-no.yaml').value as {table: unknown}).table, false)
    assert.deepEqual(issuesOf('y01-table-no.yaml'), [{path: 'table', keyword: 'type', message: "False is not of type 'string'"}])
  })
  test('bare dates are dates, yes/on are booleans, y stays a string', () => {
    const v = loadIngestYaml('a: 2024-01-01\nb: yes\nc: on\nd: y\ne: n\nf: No\ng: 010\nh: 1:20\ni: 1e3\n').value as Record<string, unknown>
    assert.ok(v.a instanceof Date)
    assert.deepEqual([v.b, v.c, v.d, v.e, v.f, v.g, v.h, v.i], [true, true, 'y', 'n', false, 8, 80, '1e3'])
    assert.deepEqual(
      issuesOf('y02-dates-and-yes.yaml').map((i) => [i.path, i.message]),
      [
        ['intent', "True is not of type 'string'"],
        ['intent', "True is not one of ['train', 'test']"],
        ['schema.a', "True is not of type 'string'"],
        ['table', "datetime.date(2024, 1, 1) is not of type 'string'"],
      ],
    )
  })
  test('a date is not an object either (no silent pass of type: object)', () => {
    const base = {apiVersion: 'tracebloc.io/v1', kind: 'IngestConfig', category: 'tabular_classification', table: 't', intent: 'train', csv: '/data/shared/t/a.csv', label: 'y'}
    const issues = validateIngestConfig({...base, schema: new Date('2024-01-01T00:00:00Z')})
    assert.deepEqual(issues, [{path: 'schema', keyword: 'type', message: "datetime.date(2024, 1, 1) is not of type 'object'"}])
  })
  test('duplicate keys warn with line numbers and keep the last value', () => {
    const {value, warnings} = load('y03-duplicate-keys.yaml')
    assert.equal((value as {table: string}).table, 'dup_ok')
    assert.deepEqual((value as {schema: unknown}).schema, {a: 'FLOAT'})
    assert.equal(warnings.length, 2)
    assert.match(warnings[0], /y03-duplicate-keys\.yaml:6: duplicate key 'table' \(first at line 5\)/)
    assert.match(warnings[1], /:12: duplicate key 'a' \(first at line 11\)/)
    assert.deepEqual(validateIngestConfig(value), [])
  })
  test('syntax errors carry line:column and exit code 2', () => {
    assert.throws(
      () => load('s01-syntax-error.yaml'),
      (e: CliError) => e.exitCode === 2 && e.reason === 'yaml_syntax' && /line 4, column 1/.test(e.message) && /s01-syntax-error\.yaml:4:1/.test(e.hint ?? ''),
    )
    assert.throws(() => loadIngestYaml('a: "unterminated\n', 'x.yaml'), (e: CliError) => e.exitCode === 2 && /\(line \d+, column \d+\)/.test(e.message))
  })
  test('empty and comment-only files load as null; two documents are an error', () => {
    assert.equal(load('s02-empty.yaml').value, null)
    assert.equal(load('s03-comment-only.yaml').value, null)
    assert.throws(() => load('s04-two-documents.yaml'), (e: CliError) => e.exitCode === 2 && /single document/.test(e.message) && /line 2/.test(e.message))
  })
  test('a BOM is ignored, like PyYAML', () => {
    assert.deepEqual(loadIngestYaml('\uFEFFa: 1\n').value, {a: 1})
  })
})

describe('runtime checks the schema cannot express', () => {
  test('table charset, reserved column, unknown SQL type, relative path', () => {
    const got = issuesOf('r01-runtime-checks.yaml')
    assert.deepEqual(lines(got), ['csv|inPodPath', 'schema.id|reservedColumn', 'schema.score|sqlType', 'table|tableName'])
    assert.match(got[2].message, /^Unknown data type: 'STRING'/)
    assert.match(got[3].message, /'my-table' is not a valid table name/)
  })
  test('INTEGER UNSIGNED and lower-case varchar(20) are accepted base types', () => {
    assert.ok(!issuesOf('r01-runtime-checks.yaml').some((i) => i.path === 'schema.age' || i.path === 'schema.note'))
  })
  test('sidecar folders named after their key, sharing one parent; table ≤ 63 chars', () => {
    const got = issuesOf('r02-sidecar-layout.yaml')
    assert.deepEqual(lines(got), ['images|sidecarLayout', 'masks|sidecarLayout', 'table|tableName'])
    assert.match(got[0].message, /must be a folder named 'images\/': the ingestor reads \/data\/shared\/seg\/images\//)
    assert.match(got[1].message, /same folder as images \(\/data\/shared\/seg\/\)/)
    assert.match(got[2].message, /68 characters; the maximum is 63/)
  })
  test('paths must stay under /data/shared after normalisation', () => {
    assert.deepEqual(lines(issuesOf('r03-outside-volume.yaml')), ['csv|inPodPath', 'texts|inPodPath'])
  })
  test('a value the schema already rejected is not reported twice', () => {
    assert.deepEqual(lines(issuesOf('p03-many-top-level.yaml')).filter((l) => l.startsWith('table|')), ['table|minLength'])
  })
})

describe('ordering', () => {
  test('array indices sort numerically (2 before 10), keys by code point, ties keep emission order', () => {
    const sidecars = Array.from({length: 11}, () => ({column: 'c', source: 's'}))
    sidecars[10] = {column: 'c'} as {column: string; source: string}
    sidecars[2] = {source: 's'} as {column: string; source: string}
    const cfg = {
      apiVersion: 'tracebloc.io/v1', kind: 'IngestConfig', category: 'image_classification', table: 't', intent: 'train',
      csv: '/data/shared/t/l.csv', images: '/data/shared/t/images', label: 'l', Zed: 1, spec: {sidecars},
    }
    assert.deepEqual(lines(validateIngestConfig(cfg)), ['<root>|additionalProperties', 'spec.sidecars.2|required', 'spec.sidecars.10|required'])
  })
  test('required errors follow the order of the schema\'s required array', () => {
    assert.deepEqual(
      issuesOf('c08-many-requireds.yaml').map((i) => i.message),
      [
        "exactly one of 'csv' or 'json' is required, not both ('csv' and 'json' are set)",
        "'images' is a required property",
        "'target_size' is a required property",
        "'number_of_keypoints' is a required property",
        "'label' is a required property",
      ],
    )
  })
})
