import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {mkdtempSync, readdirSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {before, describe, test} from 'node:test'

import {assertBuilt, cli, root} from './cli.js'

const fx = (f: string) => path.join('test/fixtures/configs', f)
const examples = readdirSync(path.join(root, 'test/fixtures/examples')).filter((f) => f.endsWith('.yaml')).map((f) => path.join('test/fixtures/examples', f))
// bin/run.js answers plain `ingest validate`/`version` without oclif; TRACEBLOC_FAST_PATH=0 forces
// the oclif command. Every behaviour below is checked on both paths.
const MODES: Array<{name: string; env: Record<string, string>}> = [
  {name: 'fast path', env: {}},
  {name: 'oclif', env: {TRACEBLOC_FAST_PATH: '0'}},
]

before(assertBuilt)

for (const mode of MODES) {
  const run = (args: string[], input?: string) => cli(args, {env: mode.env, input})
  describe(`ingest validate (${mode.name})`, () => {
    test('every reference example is ok: exit 0, `<file>: ok` on stdout', () => {
      const r = run(['ingest', 'validate', ...examples])
      assert.equal(r.status, 0, r.stderr)
      assert.deepEqual(r.stdout.trim().split('\n'), examples.map((f) => `${f}: ok`))
      assert.equal(r.stderr, '')
    })

    test('an invalid file: exit 2, the ingestor report on stderr', () => {
      const r = run(['ingest', 'validate', fx('p09-wrong-types.yaml')])
      assert.equal(r.status, 2)
      assert.equal(r.stdout, '')
      assert.equal(
        r.stderr,
        `${fx('p09-wrong-types.yaml')}: ingest.yaml validation failed:\n` +
          "  number_of_keypoints: '3' is not of type 'integer'\n  schema.a: 1 is not of type 'string'\n  table: 5 is not of type 'string'\n",
      )
    })

    test('a missing file: exit 3 with a next step', () => {
      const r = run(['ingest', 'validate', 'no/such/ingest.yaml'])
      assert.equal(r.status, 3)
      assert.match(r.stderr, /^Error: cannot read no\/such\/ingest\.yaml: no such file\n {2}→ check the path/)
    })

    test('YAML syntax error: exit 2 with line and column', () => {
      const r = run(['ingest', 'validate', fx('s01-syntax-error.yaml')])
      assert.equal(r.status, 2)
      assert.match(r.stderr, /not valid YAML: .*\(line 4, column 1\)/)
    })

    test('empty file and a top level that is not a mapping: exit 2', () => {
      const empty = run(['ingest', 'validate', fx('s02-empty.yaml')])
      assert.equal(empty.status, 2)
      assert.match(empty.stderr, /is empty; ingest\.yaml must be a mapping at the top level/)
      const list = run(['ingest', 'validate', fx('c10-not-a-mapping.yaml')])
      assert.equal(list.status, 2)
      assert.match(list.stderr, /<root>: ingest\.yaml must be a mapping at the top level/)
    })

    test('`table: no` fails locally as on the cluster', () => {
      const r = run(['ingest', 'validate', fx('y01-table-no.yaml')])
      assert.equal(r.status, 2)
      assert.match(r.stderr, /\n {2}table: False is not of type 'string'\n$/)
    })

    test('duplicate keys: a warning, the last value wins, exit 0', () => {
      const r = run(['ingest', 'validate', fx('y03-duplicate-keys.yaml')])
      assert.equal(r.status, 0)
      assert.match(r.stderr, /^Warning: .*y03-duplicate-keys\.yaml:6: duplicate key 'table'/m)
      assert.equal(r.stdout, `${fx('y03-duplicate-keys.yaml')}: ok\n`)
    })

    test('`-` reads stdin', () => {
      const ok = run(['ingest', 'validate', '-'], readFileSync(path.join(root, examples[0]), 'utf8'))
      assert.equal(ok.status, 0, ok.stderr)
      assert.equal(ok.stdout, '<stdin>: ok\n')
      const bad = run(['ingest', 'validate', '-'], 'apiVersion: tracebloc.io/v1\n')
      assert.equal(bad.status, 2)
      assert.match(bad.stderr, /^<stdin>: ingest\.yaml validation failed:\n {2}<root>: 'kind' is a required property/)
    })

    test('--json: one document {files:[{file, valid, errors:[{path, message, keyword}]}]}', () => {
      const r = run(['ingest', 'validate', '--json', examples[0], fx('p05-regression-label-string.yaml')])
      assert.equal(r.status, 2)
      assert.equal(r.stderr, '')
      const doc = JSON.parse(r.stdout)
      assert.deepEqual(doc, {
        files: [
          {file: examples[0], valid: true, errors: [], warnings: []},
          {file: fx('p05-regression-label-string.yaml'), valid: false, errors: [{path: 'label', message: "'price' is not of type 'object'", keyword: 'type'}], warnings: []},
        ],
      })
    })

    test('several files: each reported, exit code is the worst (3 > 2 > 0)', () => {
      const r = run(['ingest', 'validate', '--json', examples[1], fx('p01-image-missing-images-label.yaml'), 'missing.yaml'])
      assert.equal(r.status, 3)
      const doc = JSON.parse(r.stdout) as {files: Array<{file: string; valid: boolean; errors: Array<{keyword: string}>}>}
      assert.deepEqual(doc.files.map((f) => [f.file, f.valid]), [[examples[1], true], [fx('p01-image-missing-images-label.yaml'), false], ['missing.yaml', false]])
      assert.equal(doc.files[2].errors[0].keyword, 'file')
      const two = run(['ingest', 'validate', examples[1], fx('p01-image-missing-images-label.yaml')])
      assert.equal(two.status, 2)
      assert.equal(two.stdout, `${examples[1]}: ok\n`)
    })
  })

  describe(`version (${mode.name})`, () => {
    test('human and --json', () => {
      const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
      const sha = createHash('sha256').update(readFileSync(path.join(root, 'schema/ingest.v1.json'))).digest('hex')
      const h = run(['version'])
      assert.equal(h.status, 0, h.stderr)
      assert.equal(h.stdout, `tracebloc ${pkg.version}\ningest schema v1 (sha256 ${sha})\nnode ${process.version} on ${process.platform}-${process.arch}\n`)
      const j = run(['version', '--json'])
      assert.deepEqual(JSON.parse(j.stdout), {
        version: pkg.version,
        schema: {version: 'v1', id: 'https://tracebloc.io/schemas/ingest.v1.json', sha256: sha},
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
      })
    })
  })

  describe(`start-up imports (${mode.name})`, () => {
    const HEAVY = ['/@kubernetes/client-node/', '/listr2/', '/node_modules/tar/', '/node_modules/ws/']
    for (const args of [['ingest', 'validate', examples[0]], ['version']]) {
      test(`\`${args.slice(0, 2).join(' ')}\` loads none of ${HEAVY.join(' ')}`, () => {
        const file = path.join(mkdtempSync(path.join(tmpdir(), 'imports-')), 'imports.txt')
        const r = cli(args, {env: {...mode.env, RECORD_IMPORTS_FILE: file}, nodeArgs: ['--import', path.join(root, 'test/helpers/record-imports.mjs')]})
        assert.equal(r.status, 0, r.stderr)
        const loaded = readFileSync(file, 'utf8').split('\n').map((u) => u.replaceAll('\\', '/'))
        assert.ok(loaded.some((u) => u.includes('/dist/')), 'the recorder saw the CLI load') // the check can fail
        for (const h of HEAVY) assert.deepEqual(loaded.filter((u) => u.includes(h)), [], h)
        if (mode.name === 'fast path') assert.deepEqual(loaded.filter((u) => u.includes('/@oclif/')), [], 'fast path must not load oclif')
      })
    }
  })
}

describe('fast path falls back to oclif for what it does not handle', () => {
  test('--help is oclif\'s', () => {
    const r = cli(['ingest', 'validate', '--help'])
    assert.equal(r.status, 0)
    assert.match(r.stdout, /USAGE\n {2}\$ tracebloc ingest validate FILE/)
  })
  test('no file argument: oclif\'s missing-argument error, exit 2', () => {
    const r = cli(['ingest', 'validate'])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /Missing 1 required arg/)
  })
  test('an unknown flag is rejected by oclif, not ignored', () => {
    const r = cli(['ingest', 'validate', '--nope', examples[0]])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /Nonexistent flag: --nope/)
  })
})
