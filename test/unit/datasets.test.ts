// Pure parts of the dataset commands: name checks and quoting, nearest names, and the strict parsing
// of `mysql -N -B` output and of the client-pvc scan.
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {parsePvcScan} from '../../src/lib/catalog/catalog.js'
import {parseSections, remoteScript, unescapeField} from '../../src/lib/catalog/mysql.js'
import {asciiLower, nearestNames, qualifiedTable, quoteIdent, sameName, sqlString, validateDatasetName} from '../../src/lib/catalog/names.js'
import {CliError} from '../../src/lib/output/errors.js'

test('names: the ingestor rule, with the reason for a refusal', () => {
  assert.equal(validateDatasetName('cats_dogs_1'), 'cats_dogs_1')
  const reason = (n: string) => {
    try {
      validateDatasetName(n)
    } catch (e) {
      assert.ok(e instanceof CliError)
      assert.equal(e.exitCode, 2)
      return e.message
    }
    return 'accepted'
  }
  assert.match(reason(''), /empty/)
  assert.match(reason('1abc'), /starts with a digit/)
  assert.match(reason('a'.repeat(64)), /64 characters/)
  assert.match(reason('a`b'), /contains "`"/)
  assert.match(reason("a'b"), /contains "'"/)
  assert.match(reason('сats'), /U\+0441/) // Cyrillic es
  assert.match(reason('\u212aelvin'), /U\+212A/)
  assert.match(reason('a\nb'), /"a\\nb"/)
  // the ingestor refuses a leading underscore: so does every dataset command now
  assert.match(reason('_x'), /starts with an underscore/)
})

test('one table-name rule: ingest validation and the dataset commands agree on every name', async () => {
  const {TABLE_NAME_RE, TABLE_NAME_MAX} = await import('../../src/lib/schema/index.js')
  const names = await import('../../src/lib/catalog/names.js')
  assert.equal(names.TABLE_NAME_RE, TABLE_NAME_RE)
  assert.equal(names.TABLE_NAME_MAX, TABLE_NAME_MAX)
  for (const n of ['a', '_a', 'A_1', '1a', 'a-b', 'a.b', '', 'a'.repeat(63), 'a'.repeat(64), '../x', 'ds_0123']) {
    let typed = true
    try {
      validateDatasetName(n)
    } catch {
      typed = false
    }
    assert.equal(typed, names.isTableName(n), n)
    assert.equal(typed, TABLE_NAME_RE.test(n) && n.length <= TABLE_NAME_MAX, n)
  }
})

test('quoting: identifiers re-checked and backticked, values with doubled quotes, dangerous characters refused', () => {
  assert.equal(quoteIdent('churn'), '`churn`')
  assert.equal(qualifiedTable('churn'), '`training_test_datasets`.`churn`')
  assert.throws(() => quoteIdent('a`b'))
  assert.throws(() => quoteIdent('a; DROP'))
  assert.equal(sqlString("it's"), "'it''s'")
  assert.throws(() => sqlString('a\\b'))
  assert.throws(() => sqlString('a\u0000b'))
})

test('matching is ASCII case-insensitive only', () => {
  assert.equal(asciiLower('ChUrN'), 'churn')
  assert.ok(sameName('Churn', 'cHURN'))
  assert.ok(!sameName('\u212a', 'k')) // JS toLowerCase would fold the Kelvin sign into k
  assert.ok(!sameName('ſ', 's'))
})

test('nearest names: close spellings first, unrelated names left out', () => {
  assert.deepEqual(nearestNames('chrun', ['churn', 'cats', 'churn_v2', 'zzz']), ['churn'])
  assert.deepEqual(nearestNames('churn', ['churn_v2', 'churns', 'cats']), ['churns', 'churn_v2'])
  assert.deepEqual(nearestNames('CATS', ['cats_train', 'dogs']), ['cats_train'])
  assert.deepEqual(nearestNames('x', ['completely_different']), [])
})

test('mysql -N -B output: sections between nonce markers, escapes undone, wrong shapes refused', () => {
  const marker = (i: number) => `tracebloc-abc-${i}`
  const out = ['tracebloc-abc-0', 'a\\tb\t1', 'c\\nd\t2', 'tracebloc-abc-1', 'x\\\\y', ''].join('\n')
  assert.deepEqual(parseSections(out, [{sql: 's', columns: 2}, {sql: 't', columns: 1}], marker), [
    [['a\tb', '1'], ['c\nd', '2']],
    [['x\\y']],
  ])
  assert.throws(() => parseSections('junk\ntracebloc-abc-0\n', [{sql: 's', columns: 1}], marker), /before the first section/)
  assert.throws(() => parseSections('tracebloc-abc-0\na\tb\tc\n', [{sql: 's', columns: 2}], marker), /expected 2 columns, got 3/)
  assert.throws(() => parseSections('tracebloc-abc-0\n', [{sql: 's', columns: 1}, {sql: 't', columns: 1}], marker), /only 1 of 2/)
  // a value equal to a marker of another nonce is data
  assert.deepEqual(parseSections('tracebloc-abc-0\ntracebloc-zzz-1\n', [{sql: 's', columns: 1}], marker), [[['tracebloc-zzz-1']]])
  assert.equal(unescapeField('\\0\\\\n'), '\0\\n')
})

test('the remote script never carries the password and reads SQL from length-framed stdin', () => {
  const s = remoteScript(123)
  assert.match(s, /MYSQL_PWD="\$MYSQL_ROOT_PASSWORD"/)
  assert.match(s, /head -c 123 \| mysql \$conn -uroot -N -B/)
  assert.doesNotMatch(s, /\s-p|--password/)
})

test('client-pvc scan: NUL-ended records of dataset dirs, staged copies and partial copies; odd names ignored', () => {
  const m = parsePvcScan(
    [
      '12\t3\tchurn',
      '4\t       1\t.tracebloc-staging/churn',
      '9\t1\t.tracebloc-staging/churn.staging-resume',
      '2\t1\t.tracebloc-staging/churn.old-1a2b3c4d',
      '1\t1\t.tracebloc-staging/churn.tmp',
      '1\t1\t.tracebloc-staging/..',
      '1\t1\t.tracebloc-staging/.churn.lock',
      '1\t1\tbad name',
      // a directory named with a newline cannot forge a record of its own
      '1\t1\tx\n99\t99\tvictim',
      'garbage',
      '',
    ].join('\0'),
  )
  assert.deepEqual(
    [...m.entries()],
    [
      ['churn', {kib: 12, files: 3}],
      ['.tracebloc-staging/churn', {kib: 4, files: 1}],
      ['.tracebloc-staging/churn.staging-resume', {kib: 9, files: 1}],
      ['.tracebloc-staging/churn.old-1a2b3c4d', {kib: 2, files: 1}],
    ],
  )
})
