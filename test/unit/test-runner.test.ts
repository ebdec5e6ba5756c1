// The test runner (scripts/run-tests.mjs) itself: its closing line counts skips, it lists each skip
// with its reason, TRACEBLOC_TEST_STRICT_SKIPS=1 fails every skip not on test/platform-skips.txt,
// each test file gets its own HOME/XDG dirs/TMPDIR, and a write into the real user's cache fails the run.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const FIXTURE = 'test/fixtures/runner/mixed.fixture.ts'
const realHome = mkdtempSync(path.join(os.tmpdir(), 'tb-runner-home-'))
after(() => rmSync(realHome, {recursive: true, force: true}))

function runner(env: Record<string, string>, args: string[] = [FIXTURE]) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^TRACEBLOC_TEST_|^NODE_TEST_CONTEXT$|^XDG_/.test(k)))
  const r = spawnSync(process.execPath, [path.join(root, 'scripts/run-tests.mjs'), ...args], {
    cwd: root, encoding: 'utf8', timeout: 120_000, env: {...clean, HOME: realHome, USERPROFILE: realHome, ...env},
  })
  const lines = r.stdout.trimEnd().split('\n')
  return {code: r.status, out: r.stdout + r.stderr, last: `${lines.at(-1) ?? ''} / ${lines.at(-2) ?? ''}`}
}

test('the closing line counts skips, suites and todos included, and each is listed with its reason', () => {
  const r = runner({})
  assert.equal(r.last, '1 passed, 0 failed / 3 skipped (each listed above with its reason)', r.out)
  assert.equal(r.code, 0, r.out)
  assert.match(r.out, /^ {2}- needs a tool: frobnicator is not installed$/m)
  assert.match(r.out, /^ {2}- a whole group: the sandbox runs on Linux only$/m)
  assert.match(r.out, /^ {2}- later: todo: not written yet$/m)
})

test('--test-name-pattern picks one case wherever it is written, with = or as two words', () => {
  for (const args of [[FIXTURE, '--test-name-pattern=^passes$'], [FIXTURE, '--test-name-pattern', '^passes$'], ['--test-name-pattern=^passes$', FIXTURE]]) {
    const r = runner({}, args)
    // the skipped cases are filtered out, not run: only the one named is counted
    assert.equal(r.last, '1 passed, 0 failed / 0 skipped', `${args.join(' ')}: ${r.out}`)
  }
})

test('TRACEBLOC_TEST_STRICT_SKIPS=1: a skip is a failure unless its reason is a listed platform skip', () => {
  const r = runner({TRACEBLOC_TEST_STRICT_SKIPS: '1'})
  assert.equal(r.last, '1 passed, 2 failed / 3 skipped (each listed above with its reason)', r.out)
  assert.equal(r.code, 1)
  assert.match(r.out, /^ {2}✖ needs a tool: frobnicator is not installed \(a failure/m)
  assert.match(r.out, /^ {2}✖ later: todo: not written yet \(a failure/m)
  assert.match(r.out, /^ {2}- a whole group: the sandbox runs on Linux only$/m)
})

test('each file has its own HOME and XDG dirs; a write into the real user\'s cache fails the run', () => {
  const clean = runner({})
  assert.equal(clean.code, 0, clean.out)
  assert.ok(!existsSync(path.join(realHome, '.cache')) || readdirSync(path.join(realHome, '.cache')).length === 0, 'the file wrote only into its own cache')
  const leak = path.join(realHome, '.cache', 'tracebloc', 'recent-runs.json')
  const r = runner({LEAK_TO: leak})
  assert.equal(r.code, 1, r.out)
  assert.equal(r.last, '1 passed, 1 failed / 3 skipped (each listed above with its reason)', r.out)
  assert.match(r.out, new RegExp(`wrote into the real user's cache or config[^\\n]*\\n {2}${realHome.replaceAll('/', '\\/')}\\/\\.cache`))
})

test('under npm test this file itself runs with its own HOME, XDG dirs and TMPDIR', {skip: process.env.TRACEBLOC_TEST_RUN_DIR ? false : 'run through npm test'}, () => {
  const own = path.dirname(process.env.HOME!)
  assert.ok(own.startsWith(process.env.TRACEBLOC_TEST_RUN_DIR!), process.env.HOME)
  assert.equal(os.homedir(), process.env.HOME)
  for (const k of ['XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME']) assert.ok(process.env[k]!.startsWith(process.env.HOME!), k)
  assert.ok(os.tmpdir().startsWith(own), os.tmpdir())
})
