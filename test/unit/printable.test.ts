// The output guard every printed name goes through, and the one helper every removed client-pvc path is
// built by: what they let through and what they refuse.
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {childOf, datasetDir, ingestLockPath, partialCopyDir, stagedCopyDir} from '../../src/lib/pvc/paths.js'
import {CliError} from '../../src/lib/output/errors.js'
import {printable, quoted} from '../../src/lib/output/printable.js'
import {trustedTable} from '../../src/lib/runs/jobs.js'

test('printable: escape sequences, control characters, bidi overrides and invisible characters are shown escaped', () => {
  assert.equal(printable('churn'), 'churn')
  // a name that would clear the line and print a harmless-looking name over the real one
  assert.equal(printable('../../shared\r\u001b[2K\u001b[1Acats'), '../../shared\\r\\x1b[2K\\x1b[1Acats')
  assert.equal(printable('a\u009b31mb'), 'a\\x9b31mb') // the one-byte CSI
  assert.equal(printable('x\u202edelrahs/../..'), 'x\\u{202E}delrahs/../..')
  assert.equal(printable('a\u2066b\u2069\u200bc\ufeff'), 'a\\u{2066}b\\u{2069}\\u{200B}c\\u{FEFF}')
  assert.equal(printable('a\nb\tc\u0000'), 'a\\nb\\tc\\x00')
  // a backslash is doubled: the escaped form of "\x1b" typed literally differs from a real ESC
  assert.equal(printable('\\x1b'), '\\\\x1b')
  assert.notEqual(printable('\\x1b'), printable('\u001b'))
  // ordinary non-ASCII text stays readable; with ascii (names in messages) it is escaped too
  assert.equal(printable('café — ok'), 'café — ok')
  assert.equal(printable('\u0441hurn', {ascii: true}), '\\u{441}hurn')
  assert.equal(quoted('say "hi"\u001b[0m'), '"say \\"hi\\"\\x1b[0m"')
  // nothing a terminal acts on survives
  for (let c = 0; c < 0x20; c++) assert.doesNotMatch(printable(`a${String.fromCharCode(c)}b`), /[\u0000-\u001f]/) // eslint-disable-line no-control-regex
})

test('removal paths: built from checked names, always one entry directly under their parent', () => {
  assert.equal(datasetDir('churn'), '/data/shared/churn')
  assert.equal(stagedCopyDir('churn'), '/data/shared/.tracebloc-staging/churn')
  assert.equal(ingestLockPath('churn'), '/data/shared/.tracebloc-ingest-churn.lock')
  assert.equal(partialCopyDir('churn', '.staging-resume'), '/data/shared/.tracebloc-staging/churn.staging-resume')
  assert.equal(partialCopyDir('churn', '.old-1a2b3c4d'), '/data/shared/.tracebloc-staging/churn.old-1a2b3c4d')
  const refused = (fn: () => string) => {
    try {
      fn()
    } catch (error) {
      assert.ok(error instanceof CliError)
      assert.equal(error.exitCode, 7)
      assert.match(error.message, /nothing was removed/)
      assert.doesNotMatch(error.message, /[\u0000-\u001f]/) // eslint-disable-line no-control-regex
      return true
    }
    return false
  }
  for (const bad of ['../../shared', '..', '.', '', '/', 'a/b', 'a\u0000b', 'a\nb', '.hidden', '_x', 'x\u001b[2K']) {
    assert.ok(refused(() => datasetDir(bad)), JSON.stringify(bad))
    assert.ok(refused(() => stagedCopyDir(bad)), JSON.stringify(bad))
    assert.ok(refused(() => ingestLockPath(bad)), JSON.stringify(bad))
  }
  for (const suffix of ['/../..', '.old-a/b', '.staging-', '.tmp', '', '.old-..']) assert.ok(refused(() => partialCopyDir('churn', suffix)), suffix)
  for (const entry of ['..', '.', '', 'a/b', '../x', 'x\n', '.x']) assert.ok(refused(() => childOf('/data/shared', entry)), JSON.stringify(entry))
})

test('a run table from the cluster or the cache is kept only when it passes the rule', () => {
  assert.deepEqual(trustedTable('churn', 'ConfigMap x'), {table: 'churn'})
  assert.deepEqual(trustedTable(undefined, 'cache'), {})
  assert.deepEqual(trustedTable('', 'cache'), {})
  assert.deepEqual(trustedTable('../../shared', 'ConfigMap tracebloc/ingest-config-1'), {table: undefined, untrusted_table: {name: '../../shared', from: 'ConfigMap tracebloc/ingest-config-1'}})
  assert.equal(trustedTable('a\u001b[2Kb', 'Event e').untrusted_table?.name, 'a\\x1b[2Kb')
  assert.equal(trustedTable(5, 'ConfigMap x').table, undefined)
})
